//! Chooses and builds each capability's backend from the runtime config. One function per capability, so that
//! each backend family is wired in one place.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;

use super::memory_cache::MemoryCache;
use super::pkcs11::{Pkcs11KeyStore, Pkcs11Settings};
use super::redis_cache::{RedisCache, RedisOptions};
use super::soft_keys::SoftKeyStore;
use super::sqlite::SqliteBackend;
use super::{CacheBackend, KeyStore, SqlBackend};
use crate::runtime_config::{CacheKind, KeysKind, RuntimeConfig, SqlKind};

/// Builds the backends that the runtime config chooses.
pub async fn backends(
    config: &RuntimeConfig,
    data_dir: &Path,
) -> Result<(Arc<dyn SqlBackend>, Arc<dyn CacheBackend>, Arc<dyn KeyStore>)> {
    Ok((sql_backend(config, data_dir).await?, cache_backend(config).await?, key_backend(config, data_dir).await?))
}

pub async fn sql_backend(config: &RuntimeConfig, data_dir: &Path) -> Result<Arc<dyn SqlBackend>> {
    Ok(match config.sql.kind {
        SqlKind::Sqlite => Arc::new(SqliteBackend::open(config.sqlite_dir(data_dir))?),
        SqlKind::Postgres => Arc::new(super::postgres::PostgresBackend::connect(&config.sql)?),
    })
}

pub async fn cache_backend(config: &RuntimeConfig) -> Result<Arc<dyn CacheBackend>> {
    Ok(match config.cache.kind {
        CacheKind::Memory => {
            let cache =
                Arc::new(MemoryCache::new(Duration::from_secs(config.cache.max_ttl_seconds), config.cache.max_entries));
            let sweeper = Arc::downgrade(&cache);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    match sweeper.upgrade() {
                        Some(c) => c.sweep(),
                        None => return,
                    }
                }
            });
            cache
        }
        CacheKind::Redis => {
            let options = RedisOptions {
                url: config.cache.url.clone().unwrap_or_default(),
                cluster: config.cache.cluster,
                command_timeout: Duration::from_millis(config.cache.command_timeout_ms),
                max_ttl: Duration::from_secs(config.cache.max_ttl_seconds),
            };
            let cache = RedisCache::new(&options).map_err(|e| anyhow::anyhow!("cache: {e}"))?;
            // Not fatal: the host starts not ready and serves once Redis answers (the connection retries by itself).
            if let Err(e) = cache.ping().await {
                tracing::warn!(backend = %cache.describe(), error = %e, "cache: redis does not answer yet");
            }
            Arc::new(cache)
        }
    })
}

pub async fn key_backend(config: &RuntimeConfig, data_dir: &Path) -> Result<Arc<dyn KeyStore>> {
    Ok(match config.keys.kind {
        KeysKind::Soft => Arc::new(SoftKeyStore::open(
            config.keystore_path(data_dir),
            config.keys.rotate_after_days,
            config.keys.retain_days,
        )?),
        KeysKind::Pkcs11 => Arc::new(Pkcs11KeyStore::open(Pkcs11Settings::from_config(&config.keys)?).await?),
    })
}
