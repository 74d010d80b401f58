-- The mock identity system's identity store (database `mockidentity`, owned by the mock-identity plugin).
-- Portable SQL for SQLite and PostgreSQL: TEXT and BIGINT only (BIGINT because PostgreSQL's INTEGER is 32-bit
-- and epoch seconds outgrow it in 2038), timestamps as epoch seconds, no AUTOINCREMENT.
--
-- identity_json: the identity of reference §6.2 as JSON, without `pin` and `password`.
-- pin_hash, password_hash: Argon2id PHC strings; password_hash is NULL when the identity has no password.
-- version: bumped by every update; updates are conditional on it (optimistic concurrency, no row locks).
CREATE TABLE IF NOT EXISTS mock_identity (
    individual_id TEXT PRIMARY KEY,
    identity_json TEXT NOT NULL,
    pin_hash TEXT NOT NULL,
    password_hash TEXT,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
