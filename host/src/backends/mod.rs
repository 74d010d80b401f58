//! Backends behind the capabilities. Each capability defines its trait here; the embedded backends (SQLite,
//! in-process cache, software keystore) implement them, and production backends (PostgreSQL, Redis, PKCS#11)
//! plug in through `runtime-config.toml` without any change to components.

pub mod jose;
pub mod memory_cache;
pub mod pkcs11;
pub mod postgres;
pub mod redis_cache;
pub mod select;
pub mod soft_keys;
pub mod sqlite;

use async_trait::async_trait;

/// A SQL value as the `sql` capability carries it.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RowSet {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<SqlValue>>,
}

#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error("constraint violated: {0}")]
    Constraint(String),
    #[error("invalid statement: {0}")]
    Invalid(String),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("transaction already closed")]
    Closed,
}

#[async_trait]
pub trait SqlBackend: Send + Sync {
    async fn query(&self, database: &str, statement: &str, params: Vec<SqlValue>) -> Result<RowSet, SqlError>;
    async fn execute(&self, database: &str, statement: &str, params: Vec<SqlValue>) -> Result<u64, SqlError>;
    async fn begin(&self, database: &str) -> Result<Box<dyn SqlTransaction>, SqlError>;
    /// Reaches the backend (readiness, `esignet check`).
    async fn ping(&self) -> Result<(), SqlError>;
    fn describe(&self) -> String;
}

/// An open transaction; dropping it without `commit` rolls it back.
#[async_trait]
pub trait SqlTransaction: Send + Sync {
    async fn query(&mut self, statement: &str, params: Vec<SqlValue>) -> Result<RowSet, SqlError>;
    async fn execute(&mut self, statement: &str, params: Vec<SqlValue>) -> Result<u64, SqlError>;
    async fn commit(&mut self) -> Result<(), SqlError>;
    async fn rollback(&mut self) -> Result<(), SqlError>;
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("cache unavailable: {0}")]
    Unavailable(String),
}

/// A TTL key-value store shared by all replicas. Keys arrive already namespaced.
#[async_trait]
pub trait CacheBackend: Send + Sync {
    async fn set(&self, key: &str, value: Vec<u8>, ttl_ms: u64) -> Result<(), CacheError>;
    async fn set_if_absent(&self, key: &str, value: Vec<u8>, ttl_ms: u64) -> Result<bool, CacheError>;
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError>;
    /// Atomic read-and-remove.
    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, CacheError>;
    async fn delete(&self, key: &str) -> Result<bool, CacheError>;
    async fn increment(&self, key: &str, delta: i64, ttl_ms: u64) -> Result<i64, CacheError>;
    async fn notify(&self, channel: &str, message: Vec<u8>) -> Result<(), CacheError>;
    async fn wait(&self, channel: &str, timeout_ms: u32) -> Result<Option<Vec<u8>>, CacheError>;
    async fn ping(&self) -> Result<(), CacheError>;
    fn describe(&self) -> String;
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("unknown key purpose: {0}")]
    UnknownPurpose(String),
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("verification failed: {0}")]
    Verification(String),
    #[error("key backend unavailable: {0}")]
    Unavailable(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct KeyInfo {
    pub kid: String,
    pub alg: String,
}

/// Private keys live behind this trait and never leave it.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// The current key of `purpose`, generated on first use with `alg`.
    async fn current_key(&self, purpose: &str, alg: &str) -> Result<KeyInfo, KeyError>;
    /// Signs `header` (a JSON object without `alg`/`kid`, which this sets) and `payload` as a compact JWS.
    async fn sign_jws(
        &self,
        purpose: &str,
        alg: &str,
        header: serde_json::Map<String, serde_json::Value>,
        payload: &[u8],
    ) -> Result<String, KeyError>;
    /// Verifies a JWS made by one of this purpose's keys (current or retained), picked by `kid`.
    async fn verify_own(&self, purpose: &str, jws: &str) -> Result<(String, Vec<u8>), KeyError>;
    /// Public JWKs of the purposes (current and retained keys).
    async fn public_jwks(&self, purposes: &[(String, String)]) -> Result<Vec<serde_json::Value>, KeyError>;
    /// Decrypts a compact JWE addressed to this purpose's encryption key.
    async fn decrypt_jwe(&self, purpose: &str, alg: &str, jwe: &str) -> Result<Vec<u8>, KeyError>;
    fn describe(&self) -> String;
}
