//! Connection settings of the PostgreSQL backend: reads the operator's URL, builds the TLS connector, and makes
//! the connection pools. libpq's `sslmode` values are accepted (`disable`, `prefer` — the default —, `require`,
//! `verify-ca`, `verify-full`) and so is `sslrootcert=<PEM file>`; this module takes both out of the URL because
//! tokio-postgres knows only the first three modes. As in libpq, `prefer` and `require` encrypt without checking
//! the server's certificate (`require` with `sslrootcert` checks the chain, like `verify-ca`); `verify-ca` checks
//! the chain against the system roots plus `sslrootcert`; `verify-full` also checks the host name. Every pool's
//! connections start with `statement_timeout`, `idle_in_transaction_session_timeout` and, for a logical database,
//! `search_path` set by start-up options, so that no statement pays an extra round trip for them. The URL itself
//! is never logged or shown: [`Settings::target`] is `host:port/dbname` only, and [`redact`] hides the password.

use std::str::FromStr;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use postgres_native_tls::MakeTlsConnector;
use tokio_postgres::config::{Host, SslMode};

use crate::runtime_config::SqlConfig;

/// Everything the backend needs to open connections, parsed once at start.
pub struct Settings {
    config: tokio_postgres::Config,
    tls: MakeTlsConnector,
    pub pool_size: usize,
    pub connect_timeout: Duration,
    pub statement_timeout: Duration,
    pub migration_timeout: Duration,
    /// `host:port/dbname`, for messages (never the user or password).
    pub target: String,
    /// The `sslmode` in force, for `describe`.
    pub ssl_mode: String,
}

impl Settings {
    pub fn from_config(sql: &SqlConfig) -> Result<Settings> {
        let url = sql.url.as_deref().ok_or_else(|| anyhow!("sql: type = \"postgres\" needs `url`"))?;
        let (rest, ssl_mode, root_cert) = take_tls_params(url)?;
        let mut config = tokio_postgres::Config::from_str(&rest)
            .map_err(|e| anyhow!("sql: invalid PostgreSQL URL {}: {e}", redact(url)))?;
        config.ssl_mode(match ssl_mode.as_str() {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            _ => SslMode::Require,
        });
        let verify_chain = matches!(ssl_mode.as_str(), "verify-ca" | "verify-full") || root_cert.is_some();
        let mut tls = native_tls::TlsConnector::builder();
        tls.danger_accept_invalid_certs(!verify_chain);
        tls.danger_accept_invalid_hostnames(ssl_mode != "verify-full");
        if let Some(path) = root_cert {
            let pem = std::fs::read(&path).with_context(|| format!("sql: reading sslrootcert {path}"))?;
            tls.add_root_certificate(native_tls::Certificate::from_pem(&pem).context("sql: sslrootcert is not PEM")?);
        }
        let tls = MakeTlsConnector::new(tls.build().context("sql: building the TLS connector")?);
        let connect_timeout = Duration::from_millis(sql.connect_timeout_ms);
        config.connect_timeout(connect_timeout);
        if config.get_application_name().is_none() {
            config.application_name("esignet");
        }
        let target = target(&config);
        Ok(Settings {
            config,
            tls,
            pool_size: sql.pool_size,
            connect_timeout,
            statement_timeout: Duration::from_millis(sql.statement_timeout_ms),
            migration_timeout: Duration::from_millis(sql.migration_timeout_ms),
            target,
            ssl_mode,
        })
    }

    /// A pool whose connections use `schema` (when given) as their only schema.
    pub fn pool(&self, schema: Option<&str>, size: usize) -> Result<Pool> {
        let mut config = self.config.clone();
        let mut options = config.get_options().map(str::to_string).unwrap_or_default();
        options.push_str(&format!(" -c statement_timeout={}", server_timeout_ms(self.statement_timeout)));
        // A safety net: the server ends a session left idle inside a transaction (the host always ends them).
        options.push_str(&format!(" -c idle_in_transaction_session_timeout={}", self.migration_timeout.as_millis()));
        if let Some(schema) = schema {
            options.push_str(&format!(" -c search_path={}", quote_ident(schema)));
        }
        config.options(options.trim());
        let manager =
            Manager::from_config(config, self.tls.clone(), ManagerConfig { recycling_method: RecyclingMethod::Fast });
        Pool::builder(manager).max_size(size).build().map_err(|e| anyhow!("sql: building a connection pool: {e}"))
    }
}

/// The server-side `statement_timeout` for a client-side bound: a little shorter, so that the server cancels the
/// statement cleanly (the connection stays usable) before the client gives up on the connection.
pub fn server_timeout_ms(limit: Duration) -> u128 {
    let ms = limit.as_millis();
    ms.saturating_sub((ms / 10).min(100)).max(1)
}

/// A double-quoted identifier (names are checked to be `[A-Za-z0-9_-]` before they get here).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn target(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().or(config.get_user()).unwrap_or("");
    format!("{host}:{port}/{db}")
}

/// Splits `sslmode` and `sslrootcert` out of the URL's query; returns the URL without them, the mode and the file.
fn take_tls_params(url: &str) -> Result<(String, String, Option<String>)> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut kept = Vec::new();
    let mut mode = "prefer".to_string();
    let mut root_cert = None;
    for piece in query.split('&').filter(|p| !p.is_empty()) {
        let decoded = url::form_urlencoded::parse(piece.as_bytes()).next();
        match decoded {
            Some((k, v)) if k == "sslmode" => mode = v.into_owned(),
            Some((k, v)) if k == "sslrootcert" => root_cert = Some(v.into_owned()),
            _ => kept.push(piece),
        }
    }
    if !matches!(mode.as_str(), "disable" | "prefer" | "require" | "verify-ca" | "verify-full") {
        bail!("sql: sslmode `{mode}` is not supported (disable, prefer, require, verify-ca, verify-full)");
    }
    let rest = if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) };
    Ok((rest, mode, root_cert))
}

/// The URL with any password replaced, for an operator's eyes.
pub fn redact(url: &str) -> String {
    let Ok(mut u) = url::Url::parse(url) else {
        return "[unparsable URL]".into();
    };
    if u.password().is_some() {
        let _ = u.set_password(Some("[redacted]"));
    }
    // libpq also takes the password (and a client key's) as query parameters.
    let secret = |k: &str| k.eq_ignore_ascii_case("password") || k.eq_ignore_ascii_case("sslpassword");
    if u.query_pairs().any(|(k, _)| secret(&k)) {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let v = if secret(&k) { "[redacted]".to_string() } else { v.into_owned() };
                (k.into_owned(), v)
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    u.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(url: &str) -> SqlConfig {
        SqlConfig { url: Some(url.into()), ..SqlConfig::default() }
    }

    #[test]
    fn tls_parameters_are_taken_out() {
        let (rest, mode, cert) =
            take_tls_params("postgres://u:p@db:6543/app?sslmode=verify-full&application_name=x&sslrootcert=%2Fca.pem")
                .unwrap_or_default();
        assert_eq!(
            (rest.as_str(), mode.as_str(), cert.as_deref()),
            ("postgres://u:p@db:6543/app?application_name=x", "verify-full", Some("/ca.pem"))
        );
        assert!(take_tls_params("postgres://db/app?sslmode=sometimes").is_err());
    }

    #[test]
    fn target_and_redaction_hide_the_password() {
        let s = Settings::from_config(&sql("postgres://root:hunter2@db.example:6543/esignet?sslmode=disable"));
        let s = s.map(|s| (s.target, s.ssl_mode)).unwrap_or_default();
        assert_eq!(s, ("db.example:6543/esignet".to_string(), "disable".to_string()));
        let r = redact("postgres://root:hunter2@db.example/esignet");
        assert!(!r.contains("hunter2") && r.contains("root"), "{r}");
        let r = redact("postgres://root@db.example/esignet?Password=hunter2&application_name=x&sslpassword=k3y");
        assert!(!r.contains("hunter2") && !r.contains("k3y") && r.contains("application_name=x"), "{r}");
        let err = Settings::from_config(&sql("postgres://root@db.example/esignet?password=hunter2&bogus=1")).err();
        let err = err.map(|e| format!("{e:#}")).unwrap_or_default();
        assert!(err.contains("invalid PostgreSQL URL") && !err.contains("hunter2"), "{err}");
    }
}
