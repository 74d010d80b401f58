//! `runtime-config.toml`: which backend serves each capability, the server's addresses and the sandbox limits.
//! Every key has a compiled-in default (the embedded, single-machine set) and unknown keys are errors. A few
//! environment variables override the file so that containers need no file at all.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeConfig {
    pub server: ServerConfig,
    pub limits: LimitsConfig,
    pub sql: SqlConfig,
    pub cache: CacheConfig,
    pub keys: KeysConfig,
    pub log: LogConfig,
    pub demo: DemoConfig,
}

/// The single-machine demo (identities and a client loaded at start through the components' APIs).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DemoConfig {
    pub enabled: bool,
    /// Directory (relative to `spin.toml`) holding `identities.json` and `client.json`.
    pub dir: String,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig { enabled: true, dir: "demo".into() }
    }
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            server: ServerConfig::default(),
            limits: LimitsConfig::default(),
            sql: SqlConfig::default(),
            cache: CacheConfig::default(),
            keys: KeysConfig::default(),
            log: LogConfig::default(),
            demo: DemoConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// The hot-deploy admin API; loopback unless an operator says otherwise.
    pub admin_listen: SocketAddr,
    /// Milliseconds between SIGTERM and closing the listener. Meanwhile the health check answers DOWN (503) and
    /// requests are still served (each response with `Connection: close`), so that a load balancer checking
    /// health marks this replica down and moves its traffic away before connections are refused. Kubernetes'
    /// `preStop` sleep does the same job earlier; a second SIGTERM/SIGINT cuts the delay short.
    pub shutdown_delay_ms: u64,
    /// Seconds in-flight requests get to finish once the listener is closed (after `shutdown_delay_ms`).
    pub drain_seconds: u64,
    /// Connections served at once; beyond this, new connections wait in the listen backlog.
    pub max_connections: usize,
    /// Seconds a client gets to send a request's headers; hyper counts an idle keep-alive connection against
    /// this too, so it is also the idle timeout. Slow-header clients holding `max_connections` open would shut
    /// others out for this long: behind an ingress that buffers requests (the Kubernetes install) this cannot
    /// happen; exposed directly, lower it.
    pub header_read_timeout_secs: u64,
    /// Poll component files for changes and hot-deploy them.
    pub watch_components: bool,
    /// Serve `/__bench/native` (a native handler for benchmarks).
    pub bench_routes: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8088)),
            admin_listen: SocketAddr::from(([127, 0, 0, 1], 8089)),
            shutdown_delay_ms: 1_000,
            drain_seconds: 30,
            max_connections: 4096,
            header_read_timeout_secs: 75,
            watch_components: true,
            bench_routes: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Linear-memory cap of one request's (or one plugin call's) instance.
    pub memory_limit_mb: u64,
    /// CPU budget of one request or plugin call, in milliseconds of running guest code.
    pub cpu_limit_ms: u64,
    /// Largest request body accepted (413 beyond).
    pub max_body_bytes: usize,
    /// Instances kept ready in the pooling allocator.
    pub max_instances: u32,
    /// Bytes of each linear memory the pooling allocator resets with memset instead of returning to the kernel
    /// (madvise) when an instance ends: cheaper per request, as long as it covers what guests touch.
    pub keep_resident_kb: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig { memory_limit_mb: 64, cpu_limit_ms: 2_000, max_body_bytes: 1 << 20, max_instances: 1_000, keep_resident_kb: 512 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SqlKind {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SqlConfig {
    #[serde(rename = "type")]
    pub kind: SqlKind,
    /// SQLite: a directory for database files (relative to the data dir); each logical database is one file.
    pub path: Option<String>,
    /// PostgreSQL: connection URL.
    pub url: Option<String>,
    /// PostgreSQL: connections at most per logical database (each logical database is a schema with its own pool).
    pub pool_size: usize,
    /// PostgreSQL: bound on getting a connection (pool wait, TCP connect, TLS and start-up together).
    pub connect_timeout_ms: u64,
    /// PostgreSQL: bound on one statement (server `statement_timeout` and a client-side timeout).
    pub statement_timeout_ms: u64,
    /// PostgreSQL: statement bound inside schema changes (migrations, DDL), which may wait for another replica's;
    /// also how long a starting host waits for a database that is not reachable yet.
    pub migration_timeout_ms: u64,
}

impl Default for SqlConfig {
    fn default() -> Self {
        SqlConfig {
            kind: SqlKind::Sqlite,
            path: None,
            url: None,
            pool_size: 8,
            connect_timeout_ms: 500,
            statement_timeout_ms: 1_500,
            migration_timeout_ms: 60_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheKind {
    Memory,
    Redis,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    #[serde(rename = "type")]
    pub kind: CacheKind,
    pub url: Option<String>,
    /// Longest TTL any entry may get (also used for a TTL of 0).
    pub max_ttl_seconds: u64,
    /// In-memory backend: entries kept at most (oldest expiring first beyond).
    pub max_entries: usize,
    /// Redis backend: client-side bound of every command (and of each connection attempt), so that a down or
    /// slow Redis fails requests fast instead of hanging them.
    pub command_timeout_ms: u64,
    /// Redis backend: `url` names Redis Cluster seed nodes (comma-separated) instead of one standalone server.
    pub cluster: bool,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            kind: CacheKind::Memory,
            url: None,
            max_ttl_seconds: 86_400,
            max_entries: 1_000_000,
            command_timeout_ms: 500,
            cluster: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeysKind {
    Soft,
    Pkcs11,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysConfig {
    #[serde(rename = "type")]
    pub kind: KeysKind,
    /// Soft keystore file (relative to the data dir).
    pub path: Option<String>,
    /// Days a key is current before a new one is made; the old one stays in the JWKS for `retain_days`.
    pub rotate_after_days: u64,
    pub retain_days: u64,
    /// PKCS#11: the module (shared library), the token's label, and the user PIN, given inline or (better, for a
    /// mounted secret) as a file whose first line is the PIN.
    pub pkcs11_module: Option<String>,
    pub pkcs11_token: Option<String>,
    pub pkcs11_pin: Option<String>,
    pub pkcs11_pin_file: Option<String>,
    /// PKCS#11: idle sessions kept open for reuse.
    pub pkcs11_sessions: usize,
}

impl Default for KeysConfig {
    fn default() -> Self {
        KeysConfig {
            kind: KeysKind::Soft,
            path: None,
            rotate_after_days: 90,
            retain_days: 2,
            pkcs11_module: None,
            pkcs11_token: None,
            pkcs11_pin: None,
            pkcs11_pin_file: None,
            pkcs11_sessions: 16,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter, e.g. `info` or `esignet_host=debug`.
    pub level: String,
    /// `json` (default) or `text`.
    pub format: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig { level: "info".into(), format: "json".into() }
    }
}

/// Upper bound of `server.shutdown_delay_ms`: a typo (seconds meant as minutes) must not hold a replica for hours.
const MAX_SHUTDOWN_DELAY_MS: u64 = 300_000;

impl RuntimeConfig {
    /// Reads the file (when given), then applies environment overrides.
    pub fn load(path: Option<&Path>, env: &dyn Fn(&str) -> Option<String>) -> Result<RuntimeConfig> {
        let mut config = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
                Self::parse(&text).with_context(|| format!("in {}", p.display()))?
            }
            None => RuntimeConfig::default(),
        };
        config.apply_env(env)?;
        config.validate()?;
        Ok(config)
    }

    pub fn parse(text: &str) -> Result<RuntimeConfig> {
        toml::from_str(text).map_err(|e| anyhow!("invalid runtime config: {e}"))
    }

    fn apply_env(&mut self, env: &dyn Fn(&str) -> Option<String>) -> Result<()> {
        if let Some(url) = env("ESIGNET_SQL_URL") {
            if let Some(path) = url.strip_prefix("sqlite:") {
                self.sql = SqlConfig { kind: SqlKind::Sqlite, path: Some(path.to_string()), url: None, ..self.sql.clone() };
            } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                self.sql = SqlConfig { kind: SqlKind::Postgres, path: None, url: Some(url), ..self.sql.clone() };
            } else {
                bail!("ESIGNET_SQL_URL must start with `sqlite:` or `postgres://`");
            }
        }
        if let Some(url) = env("ESIGNET_CACHE_URL") {
            if url == "memory:" {
                self.cache.kind = CacheKind::Memory;
                self.cache.url = None;
            } else if url.starts_with("redis://") || url.starts_with("rediss://") {
                self.cache.kind = CacheKind::Redis;
                self.cache.url = Some(url);
            } else {
                bail!("ESIGNET_CACHE_URL must be `memory:` or start with `redis://`");
            }
        }
        if let Some(module) = env("ESIGNET_PKCS11_MODULE") {
            self.keys.kind = KeysKind::Pkcs11;
            self.keys.pkcs11_module = Some(module);
        }
        if let Some(token) = env("ESIGNET_PKCS11_TOKEN") {
            self.keys.pkcs11_token = Some(token);
        }
        if let Some(flag) = env("ESIGNET_DEMO") {
            self.demo.enabled = matches!(flag.as_str(), "1" | "true" | "yes");
        }
        if let Some(pin) = env("ESIGNET_PKCS11_PIN") {
            self.keys.pkcs11_pin = Some(pin);
        }
        if let Some(file) = env("ESIGNET_PKCS11_PIN_FILE") {
            self.keys.pkcs11_pin_file = Some(file);
        }
        Ok(())
    }

    fn validate(&self) -> Result<()> {
        if !(1..=1_000_000).contains(&self.server.max_connections) {
            bail!("server.max_connections must be between 1 and 1000000");
        }
        if !(1..=3600).contains(&self.server.header_read_timeout_secs) {
            bail!("server.header_read_timeout_secs must be between 1 and 3600");
        }
        if self.server.shutdown_delay_ms > MAX_SHUTDOWN_DELAY_MS {
            bail!("server.shutdown_delay_ms must be at most {MAX_SHUTDOWN_DELAY_MS} (5 minutes)");
        }
        if self.limits.memory_limit_mb == 0 || self.limits.memory_limit_mb > 4096 {
            bail!("limits.memory_limit_mb must be between 1 and 4096");
        }
        if self.limits.cpu_limit_ms < 10 {
            bail!("limits.cpu_limit_ms must be at least 10");
        }
        if self.sql.kind == SqlKind::Postgres && self.sql.url.is_none() {
            bail!("sql: type = \"postgres\" needs `url`");
        }
        let sql = &self.sql;
        if [sql.pool_size as u64, sql.connect_timeout_ms, sql.statement_timeout_ms, sql.migration_timeout_ms].contains(&0) {
            bail!("sql: pool_size, connect_timeout_ms, statement_timeout_ms and migration_timeout_ms must be at least 1");
        }
        if self.cache.kind == CacheKind::Redis && self.cache.url.is_none() {
            bail!("cache: type = \"redis\" needs `url`");
        }
        Ok(())
    }

    pub fn sqlite_dir(&self, data_dir: &Path) -> PathBuf {
        data_dir.join(self.sql.path.as_deref().unwrap_or("sql"))
    }

    pub fn keystore_path(&self, data_dir: &Path) -> PathBuf {
        data_dir.join(self.keys.path.as_deref().unwrap_or("keystore.json"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_named() {
        let err = format!("{:#}", RuntimeConfig::parse("[sql]\ntype = \"sqlite\"\nflavour = 1\n").unwrap_err());
        assert!(err.contains("flavour"), "{err}");
        let err = format!("{:#}", RuntimeConfig::parse("[database]\n").unwrap_err());
        assert!(err.contains("database"), "{err}");
    }

    #[test]
    fn connection_limits_are_bounded() {
        let c = RuntimeConfig::parse("[server]\nmax_connections = 64\nheader_read_timeout_secs = 10\n").unwrap();
        assert!(c.validate().is_ok());
        assert_eq!((c.server.max_connections, c.server.header_read_timeout_secs), (64, 10));
        for bad in ["max_connections = 0", "header_read_timeout_secs = 0", "header_read_timeout_secs = 3601"] {
            let c = RuntimeConfig::parse(&format!("[server]\n{bad}\n")).unwrap();
            let err = format!("{:#}", c.validate().unwrap_err());
            assert!(err.contains(bad.split(' ').next().unwrap()), "{err}");
        }
    }

    #[test]
    fn shutdown_delay_has_a_default_and_a_bound() {
        assert_eq!(RuntimeConfig::default().server.shutdown_delay_ms, 1_000);
        let c = RuntimeConfig::parse("[server]\nshutdown_delay_ms = 0\n").unwrap();
        assert!(c.validate().is_ok());
        let c = RuntimeConfig::parse("[server]\nshutdown_delay_ms = 300001\n").unwrap();
        let err = format!("{:#}", c.validate().unwrap_err());
        assert!(err.contains("shutdown_delay_ms"), "{err}");
    }

    #[test]
    fn env_overrides_the_file() {
        let mut c = RuntimeConfig::parse("[cache]\ntype = \"memory\"\n").unwrap();
        c.apply_env(&|k| (k == "ESIGNET_CACHE_URL").then(|| "redis://127.0.0.1:6379".to_string())).unwrap();
        assert_eq!(c.cache.kind, CacheKind::Redis);
        assert!(c.apply_env(&|k| (k == "ESIGNET_SQL_URL").then(|| "mysql://x".to_string())).is_err());
    }
}
