//! The identity table (`mock_identity`, migration `migrations/mockidentity/0001_init.sql`) and the few cache
//! records of the plugin, over the host's `sql` and `cache` capabilities.
//!
//! Updates are optimistic: a row carries a `version`, and an update only applies to the version it read, so two
//! concurrent PUTs of one identity cannot silently merge into a mix of both. Cache values are JSON; TTLs are given
//! in seconds here and converted to the capability's milliseconds.

use esignet_plugin_sdk::{cache, sql};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::identity::Identity;

/// Why a store operation failed. Never carries personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreError {
    /// Insert of an individual id that exists.
    Duplicate,
    /// The row changed (or vanished) between read and update.
    Conflict,
    /// The backend is down or timed out.
    Unavailable,
    /// A statement failed or a stored value could not be read.
    Broken,
}

impl From<sql::SqlError> for StoreError {
    fn from(e: sql::SqlError) -> Self {
        match e {
            sql::SqlError::ConstraintViolation(_) => StoreError::Duplicate,
            sql::SqlError::Unavailable => StoreError::Unavailable,
            _ => StoreError::Broken,
        }
    }
}

impl From<cache::CacheError> for StoreError {
    fn from(e: cache::CacheError) -> Self {
        match e {
            cache::CacheError::Unavailable => StoreError::Unavailable,
            cache::CacheError::InvalidInput(_) => StoreError::Broken,
        }
    }
}

/// A row of `mock_identity`.
#[derive(Clone)]
pub struct StoredIdentity {
    pub identity: Identity,
    pub pin_hash: String,
    pub password_hash: Option<String>,
    pub version: i64,
}

/// The identity with this individual id, if any.
pub fn find(individual_id: &str) -> Result<Option<StoredIdentity>, StoreError> {
    let rows = sql::query(
        "SELECT identity_json, pin_hash, password_hash, version FROM mock_identity WHERE individual_id = $1",
        &[individual_id.into()],
    )?;
    if rows.rows.is_empty() {
        return Ok(None);
    }
    let text = |name: &str| rows.get(0, name).and_then(|v| v.as_str()).map(str::to_string);
    let json = text("identity_json").ok_or(StoreError::Broken)?;
    let identity: Identity = serde_json::from_str(&json).map_err(|_| StoreError::Broken)?;
    Ok(Some(StoredIdentity {
        identity,
        pin_hash: text("pin_hash").ok_or(StoreError::Broken)?,
        password_hash: text("password_hash"),
        version: rows.get(0, "version").and_then(|v| v.as_i64()).ok_or(StoreError::Broken)?,
    }))
}

/// Inserts a new identity.
pub fn insert(row: &StoredIdentity, now: i64) -> Result<(), StoreError> {
    let json = serde_json::to_string(&row.identity).map_err(|_| StoreError::Broken)?;
    sql::execute(
        "INSERT INTO mock_identity (individual_id, identity_json, pin_hash, password_hash, version, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
        &[
            row.identity.individual_id.as_str().into(),
            json.into(),
            row.pin_hash.as_str().into(),
            row.password_hash.clone().into(),
            1i64.into(),
            now.into(),
        ],
    )?;
    Ok(())
}

/// Replaces the row read at `row.version`; [`StoreError::Conflict`] when it changed meanwhile.
pub fn update(row: &StoredIdentity, now: i64) -> Result<(), StoreError> {
    let json = serde_json::to_string(&row.identity).map_err(|_| StoreError::Broken)?;
    let changed = sql::execute(
        "UPDATE mock_identity SET identity_json = $2, pin_hash = $3, password_hash = $4, version = $5 + 1, \
         updated_at = $6 WHERE individual_id = $1 AND version = $5",
        &[
            row.identity.individual_id.as_str().into(),
            json.into(),
            row.pin_hash.as_str().into(),
            row.password_hash.clone().into(),
            row.version.into(),
            now.into(),
        ],
    )?;
    if changed == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict)
    }
}

fn ttl_ms(secs: i64) -> u64 {
    u64::try_from(secs).unwrap_or(1).max(1).saturating_mul(1000)
}

/// Stores a JSON value in the plugin's cache namespace.
pub fn cache_put<T: Serialize>(key: &str, value: &T, ttl_secs: i64) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec(value).map_err(|_| StoreError::Broken)?;
    cache::set(key, &bytes, ttl_ms(ttl_secs))?;
    Ok(())
}

/// Reads a JSON value; an unreadable value counts as absent.
pub fn cache_get<T: DeserializeOwned>(key: &str) -> Result<Option<T>, StoreError> {
    Ok(cache::get(key)?.and_then(|b| serde_json::from_slice(&b).ok()))
}

/// Reads and removes a JSON value atomically; an unreadable value counts as absent.
pub fn cache_take<T: DeserializeOwned>(key: &str) -> Result<Option<T>, StoreError> {
    Ok(cache::take(key)?.and_then(|b| serde_json::from_slice(&b).ok()))
}

/// Removes a key.
pub fn cache_delete(key: &str) -> Result<(), StoreError> {
    cache::delete(key)?;
    Ok(())
}

/// Adds one to a counter that lives `ttl_secs` from its first increment; returns the new value.
pub fn cache_count(key: &str, ttl_secs: i64) -> Result<i64, StoreError> {
    Ok(cache::increment(key, 1, ttl_ms(ttl_secs))?)
}
