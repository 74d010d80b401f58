-- eSignet's durable state: registered clients and user consents (reference §7.1, eSignet 1.8.0 schema).
-- Portable SQL: runs unchanged on SQLite (embedded) and PostgreSQL. Text columns are TEXT (lengths are enforced by
-- client-mgmt's validation, not the database), JSON values are stored as JSON text, timestamps are epoch seconds
-- in BIGINT columns, and every key is supplied by the application (no sequences, no AUTOINCREMENT).

-- A registered OIDC client. JSON text columns: name ({"@none": ..., "<iso-639-3>": ...}), redirect_uris, claims,
-- acr_values, grant_types, auth_methods (arrays of strings), public_key / enc_public_key (public JWK objects),
-- additional_config (object). public_key_hash is the hex SHA-256 that makes a key usable by one client only.
CREATE TABLE client_detail (
    id                   TEXT    NOT NULL PRIMARY KEY,
    name                 TEXT    NOT NULL,
    rp_id                TEXT    NOT NULL,
    logo_uri             TEXT,
    redirect_uris        TEXT    NOT NULL,
    claims               TEXT    NOT NULL,
    acr_values           TEXT    NOT NULL,
    public_key           TEXT    NOT NULL,
    public_key_hash      TEXT    NOT NULL,
    enc_public_key       TEXT,
    enc_public_key_hash  TEXT,
    enc_public_key_cert  TEXT,
    grant_types          TEXT    NOT NULL,
    auth_methods         TEXT    NOT NULL,
    status               TEXT    NOT NULL,
    additional_config    TEXT,
    cr_dtimes            BIGINT  NOT NULL,
    upd_dtimes           BIGINT,
    CONSTRAINT uk_client_detail_public_key_hash UNIQUE (public_key_hash)
);

-- The consent a user (psu_token) gave a client: the claims and scopes accepted, with their hash and signature.
-- claims and authorization_scopes are JSON objects; accepted_claims and permitted_scopes JSON arrays.
CREATE TABLE consent_detail (
    id                   TEXT    NOT NULL PRIMARY KEY,
    client_id            TEXT    NOT NULL,
    psu_token            TEXT    NOT NULL,
    claims               TEXT    NOT NULL,
    authorization_scopes TEXT    NOT NULL,
    cr_dtimes            BIGINT  NOT NULL,
    expire_dtimes        BIGINT,
    signature            TEXT,
    hash                 TEXT,
    accepted_claims      TEXT,
    permitted_scopes     TEXT,
    CONSTRAINT uk_consent_detail_client_psu UNIQUE (client_id, psu_token)
);

CREATE INDEX idx_consent_detail_psu_client ON consent_detail (psu_token, client_id);

-- Every consent ever saved (append-only): same columns as consent_detail, no uniqueness.
CREATE TABLE consent_history (
    id                   TEXT    NOT NULL PRIMARY KEY,
    client_id            TEXT    NOT NULL,
    psu_token            TEXT    NOT NULL,
    claims               TEXT    NOT NULL,
    authorization_scopes TEXT    NOT NULL,
    cr_dtimes            BIGINT  NOT NULL,
    expire_dtimes        BIGINT,
    signature            TEXT,
    hash                 TEXT,
    accepted_claims      TEXT,
    permitted_scopes     TEXT
);

CREATE INDEX idx_consent_history_psu_client ON consent_history (psu_token, client_id);
