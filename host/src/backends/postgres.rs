//! The production `sql` backend: PostgreSQL through tokio-postgres, with a deadpool pool per logical database.
//! Each logical database (`esignet`, `mockidentity`, ...) is a SCHEMA of the one configured database, created on
//! first use; its pool's connections start with `search_path` set to that schema alone (a start-up option, so no
//! statement pays a round trip for it and components keep writing unqualified table names), which keeps the
//! logical databases apart. Every statement is bounded twice: the server's `statement_timeout` and a client-side
//! timeout of the same length; getting a connection (pool wait, connect, TLS, start-up) has its own bound. A down
//! or stalled server therefore answers `Unavailable` within `connect_timeout_ms + statement_timeout_ms` (2 s by
//! default) and never hangs; a connection that timed out is discarded and closed connections are dropped at
//! checkout, so the pool heals by itself when the server returns. Schema changes are serialised per logical
//! database by a transaction-level advisory lock, because PostgreSQL's `IF NOT EXISTS` races between replicas:
//! a DDL statement outside a transaction runs in an implicit transaction that takes the lock first; a
//! transaction takes it before its first DDL statement or its first statement naming `esignet_migrations` (the
//! host's migration ledger, written first by every migration transaction), and from then on its statements get
//! `migration_timeout_ms` instead of `statement_timeout_ms`. A transaction holds one pooled connection from
//! `begin` to `commit`/`rollback`; dropped unfinished, it is rolled back on a background task (or its connection
//! closed when that cannot run). After a failed statement PostgreSQL refuses the rest of the transaction, so
//! `commit` then rolls back and says so. SQLSTATE class 23 is `Constraint` (the message names the constraint),
//! classes 08, 40, 53, 55, 57, 58 and connection failures are `Unavailable`, the rest `Invalid`; value
//! conversion is in `values`, connection settings (TLS, URL) in `connect`.

mod connect;
mod values;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{ClientWrapper, Object, Pool};
use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use tokio::time::{error::Elapsed, timeout};
use tokio_postgres::types::ToSql;
use tokio_postgres::{SimpleQueryMessage, Statement};

use self::connect::Settings;
pub use self::connect::redact;
use self::values::{Bound, RawCell};
use super::{RowSet, SqlBackend, SqlError, SqlTransaction, SqlValue};
use crate::runtime_config::SqlConfig;

/// Connections of the pool used for `ping` and for creating schemas.
const ROOT_POOL_SIZE: usize = 2;
/// Longest a readiness probe waits, whatever the configured timeouts.
const PING_LIMIT: Duration = Duration::from_millis(450);

pub struct PostgresBackend {
    settings: Arc<Settings>,
    root: Pool,
    schemas: Mutex<HashMap<String, Arc<Schema>>>,
}

/// One logical database: its schema, pool and advisory-lock key.
struct Schema {
    name: String,
    pool: Pool,
    lock_key: i64,
    ready: tokio::sync::OnceCell<()>,
}

impl PostgresBackend {
    /// Parses the settings and makes the pools; connects lazily (the first statement or `ping` does).
    pub fn connect(sql: &SqlConfig) -> anyhow::Result<PostgresBackend> {
        let settings = Settings::from_config(sql)?;
        let root = settings.pool(None, ROOT_POOL_SIZE)?;
        Ok(PostgresBackend { settings: Arc::new(settings), root, schemas: Mutex::new(HashMap::new()) })
    }

    /// The logical database's schema, created in the server on first use.
    async fn schema(&self, database: &str) -> Result<Arc<Schema>, SqlError> {
        let valid = database.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if database.is_empty() || database.len() > 63 || !valid {
            return Err(SqlError::Invalid(format!("bad database name `{database}`")));
        }
        let existing = self.schemas.lock().get(database).cloned();
        let schema = match existing {
            Some(s) => s,
            None => {
                let pool = self
                    .settings
                    .pool(Some(database), self.settings.pool_size)
                    .map_err(|e| SqlError::Unavailable(e.to_string()))?;
                let fresh =
                    Arc::new(Schema { name: database.into(), pool, lock_key: lock_key(database), ready: Default::default() });
                self.schemas.lock().entry(database.to_string()).or_insert(fresh).clone()
            }
        };
        schema.ready.get_or_try_init(|| self.create_schema(&schema)).await?;
        Ok(schema)
    }

    async fn create_schema(&self, schema: &Schema) -> Result<(), SqlError> {
        let conn = checkout(&self.settings, &self.root).await?;
        let limit = self.settings.migration_timeout;
        let exists = "SELECT 1 FROM pg_namespace WHERE nspname = $1";
        let create = format!(
            "{}; CREATE SCHEMA IF NOT EXISTS {}",
            lock_sql(schema.lock_key, limit),
            connect::quote_ident(&schema.name)
        );
        let outcome = timeout(limit, async {
            // Checked first so that a role without CREATE on the database can use schemas made for it.
            if conn.query_opt(exists, &[&schema.name]).await.map_err(map_error)?.is_none() {
                conn.simple_query(&create).await.map_err(map_error)?;
                tracing::info!(schema = %schema.name, server = %self.settings.target, "created schema");
            }
            Ok(())
        })
        .await;
        settle(conn, outcome)
    }

    async fn run_outside(&self, database: &str, statement: &str, params: Vec<SqlValue>, rows: bool) -> Result<Outcome, SqlError> {
        let schema = self.schema(database).await?;
        let conn = checkout(&self.settings, &schema.pool).await?;
        if params.is_empty() && is_schema_change(statement) {
            let limit = self.settings.migration_timeout;
            let batch = format!("{}; {statement}", lock_sql(schema.lock_key, limit));
            let outcome = timeout(limit, simple(&conn, &batch)).await;
            return settle(conn, outcome);
        }
        let outcome = timeout(self.settings.statement_timeout, run(&conn, statement, &params, rows, true)).await;
        settle(conn, outcome)
    }
}

#[async_trait]
impl SqlBackend for PostgresBackend {
    async fn query(&self, database: &str, statement: &str, params: Vec<SqlValue>) -> Result<RowSet, SqlError> {
        self.run_outside(database, statement, params, true).await.map(Outcome::rows)
    }

    async fn execute(&self, database: &str, statement: &str, params: Vec<SqlValue>) -> Result<u64, SqlError> {
        self.run_outside(database, statement, params, false).await.map(Outcome::count)
    }

    async fn begin(&self, database: &str) -> Result<Box<dyn SqlTransaction>, SqlError> {
        let schema = self.schema(database).await?;
        let conn = checkout(&self.settings, &schema.pool).await?;
        let outcome = timeout(self.settings.statement_timeout, async { conn.batch_execute("BEGIN").await.map_err(map_error) }).await;
        match outcome {
            Ok(Ok(())) => Ok(Box::new(PgTransaction {
                conn: Some(conn),
                settings: self.settings.clone(),
                lock_key: schema.lock_key,
                schema_change: false,
                failed: false,
            })),
            other => Err(settle(conn, other).err().unwrap_or(SqlError::Closed)),
        }
    }

    async fn ping(&self) -> Result<(), SqlError> {
        let started = tokio::time::Instant::now();
        let conn = match timeout(PING_LIMIT, checkout(&self.settings, &self.root)).await {
            Ok(conn) => conn?,
            Err(_) => return Err(SqlError::Unavailable(format!("{}: no connection within {PING_LIMIT:?}", self.settings.target))),
        };
        let left = PING_LIMIT.saturating_sub(started.elapsed()).max(Duration::from_millis(50));
        let outcome = timeout(left, async { conn.simple_query("SELECT 1").await.map(|_| ()).map_err(map_error) }).await;
        settle(conn, outcome)
    }

    fn describe(&self) -> String {
        format!(
            "postgres {} (pool {} per logical database, one schema each; sslmode {}; statement timeout {} ms)",
            self.settings.target,
            self.settings.pool_size,
            self.settings.ssl_mode,
            self.settings.statement_timeout.as_millis()
        )
    }
}

/// An open transaction on one pooled connection.
struct PgTransaction {
    conn: Option<Object>,
    settings: Arc<Settings>,
    lock_key: i64,
    /// The advisory lock is held and statements get the migration timeout.
    schema_change: bool,
    /// A statement failed: PostgreSQL has aborted the transaction.
    failed: bool,
}

impl PgTransaction {
    async fn statement(&mut self, statement: &str, params: Vec<SqlValue>, rows: bool) -> Result<Outcome, SqlError> {
        let migration = self.settings.migration_timeout;
        if !self.schema_change && (is_schema_change(statement) || statement.to_ascii_lowercase().contains("esignet_migrations")) {
            let conn = self.conn.as_ref().ok_or(SqlError::Closed)?;
            let lock = lock_sql(self.lock_key, migration);
            let outcome = timeout(migration, async { conn.batch_execute(&lock).await.map_err(map_error) }).await;
            self.settle(outcome)?;
            self.schema_change = true;
        }
        let limit = if self.schema_change { migration } else { self.settings.statement_timeout };
        let conn = self.conn.as_ref().ok_or(SqlError::Closed)?;
        let outcome = if params.is_empty() && is_schema_change(statement) {
            timeout(limit, simple(conn, statement)).await
        } else {
            timeout(limit, run(conn, statement, &params, rows, false)).await
        };
        self.settle(outcome)
    }

    fn settle<R>(&mut self, outcome: Result<Result<R, SqlError>, Elapsed>) -> Result<R, SqlError> {
        match outcome {
            Ok(Ok(r)) => Ok(r),
            Ok(Err(e)) => {
                self.failed = true;
                Err(e)
            }
            Err(_) => {
                if let Some(conn) = self.conn.take() {
                    drop(Object::take(conn));
                }
                Err(SqlError::Unavailable(format!("{}: statement timed out; transaction abandoned", self.settings.target)))
            }
        }
    }

    async fn finish(&mut self, commit: bool) -> Result<(), SqlError> {
        let conn = self.conn.take().ok_or(SqlError::Closed)?;
        let refused = commit && self.failed;
        let sql = if commit && !refused { "COMMIT" } else { "ROLLBACK" };
        let limit = if self.schema_change { self.settings.migration_timeout } else { self.settings.statement_timeout };
        let outcome = timeout(limit, async { conn.batch_execute(sql).await.map_err(map_error) }).await;
        settle(conn, outcome)?;
        if refused {
            return Err(SqlError::Invalid("a statement of this transaction failed, so it was rolled back".into()));
        }
        Ok(())
    }
}

#[async_trait]
impl SqlTransaction for PgTransaction {
    async fn query(&mut self, statement: &str, params: Vec<SqlValue>) -> Result<RowSet, SqlError> {
        self.statement(statement, params, true).await.map(Outcome::rows)
    }

    async fn execute(&mut self, statement: &str, params: Vec<SqlValue>) -> Result<u64, SqlError> {
        self.statement(statement, params, false).await.map(Outcome::count)
    }

    async fn commit(&mut self) -> Result<(), SqlError> {
        self.finish(true).await
    }

    async fn rollback(&mut self) -> Result<(), SqlError> {
        self.finish(false).await
    }
}

impl Drop for PgTransaction {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        let limit = self.settings.statement_timeout;
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    let rolled_back = matches!(timeout(limit, conn.batch_execute("ROLLBACK")).await, Ok(Ok(())));
                    if !rolled_back {
                        drop(Object::take(conn));
                    }
                });
            }
            Err(_) => drop(Object::take(conn)),
        }
    }
}

/// What a statement produced.
enum Outcome {
    Rows(RowSet),
    Count(u64),
}

impl Outcome {
    fn rows(self) -> RowSet {
        match self {
            Outcome::Rows(r) => r,
            Outcome::Count(_) => RowSet::default(),
        }
    }

    fn count(self) -> u64 {
        match self {
            Outcome::Rows(r) => r.rows.len() as u64,
            Outcome::Count(n) => n,
        }
    }
}

/// A connection from `pool` within the connect bound.
async fn checkout(settings: &Settings, pool: &Pool) -> Result<Object, SqlError> {
    match timeout(settings.connect_timeout, pool.get()).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(SqlError::Unavailable(format!("{}: {e}", settings.target))),
        Err(_) => Err(SqlError::Unavailable(format!(
            "{}: no connection within {} ms",
            settings.target,
            settings.connect_timeout.as_millis()
        ))),
    }
}

/// The result of work done on `conn`; a timed-out connection is closed instead of going back to the pool.
fn settle<R>(conn: Object, outcome: Result<Result<R, SqlError>, Elapsed>) -> Result<R, SqlError> {
    match outcome {
        Ok(result) => result,
        Err(_) => {
            drop(Object::take(conn));
            Err(SqlError::Unavailable("statement timed out".into()))
        }
    }
}

/// Prepares (cached per connection), binds and runs one statement. With `retry_stale`, a cached plan that a schema
/// change invalidated is prepared again once.
async fn run(conn: &ClientWrapper, statement: &str, params: &[SqlValue], rows: bool, retry_stale: bool) -> Result<Outcome, SqlError> {
    let mut retry = retry_stale;
    loop {
        let prepared = conn.prepare_cached(statement).await.map_err(map_error)?;
        let bound = bind_all(&prepared, params)?;
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|b| b as &(dyn ToSql + Sync)).collect();
        if rows {
            values::check_columns(prepared.columns())?;
        }
        let result = if rows {
            conn.query(&prepared, &refs).await.map(|found| decode_rows(&prepared, &found).map(Outcome::Rows))
        } else {
            conn.execute(&prepared, &refs).await.map(|n| Ok(Outcome::Count(n)))
        };
        match result {
            Ok(outcome) => return outcome,
            Err(e) if retry && is_stale_plan(&e) => {
                conn.statement_cache.remove(statement, &[]);
                retry = false;
            }
            Err(e) => return Err(map_error(e)),
        }
    }
}

fn bind_all<'a>(statement: &Statement, params: &'a [SqlValue]) -> Result<Vec<Bound<'a>>, SqlError> {
    let types = statement.params();
    if types.len() != params.len() {
        return Err(SqlError::Invalid(format!("the statement takes {} parameters, {} given", types.len(), params.len())));
    }
    params.iter().zip(types).enumerate().map(|(i, (value, ty))| values::bind(i + 1, value, ty)).collect()
}

fn decode_rows(statement: &Statement, found: &[tokio_postgres::Row]) -> Result<RowSet, SqlError> {
    let columns = statement.columns();
    let mut rows = Vec::with_capacity(found.len());
    for row in found {
        let mut cells = Vec::with_capacity(columns.len());
        for (i, column) in columns.iter().enumerate() {
            let raw: RawCell<'_> = row.try_get(i).map_err(|e| SqlError::Invalid(e.to_string()))?;
            cells.push(values::decode(column.name(), column.type_(), raw.0)?);
        }
        rows.push(cells);
    }
    Ok(RowSet { columns: columns.iter().map(|c| c.name().to_string()).collect(), rows })
}

/// Runs parameterless text (a DDL statement, or a lock prelude and one) in the simple-query protocol, whose
/// statements share one implicit transaction; the count is the last statement's.
async fn simple(conn: &ClientWrapper, text: &str) -> Result<Outcome, SqlError> {
    let messages = conn.simple_query(text).await.map_err(map_error)?;
    let count = messages.iter().rev().find_map(|m| match m {
        SimpleQueryMessage::CommandComplete(n) => Some(*n),
        _ => None,
    });
    Ok(Outcome::Count(count.unwrap_or(0)))
}

/// Takes the logical database's schema-change lock for the current transaction, after lifting its statement
/// timeout to `limit` (a replica may wait here while another applies a migration).
fn lock_sql(key: i64, limit: Duration) -> String {
    format!("SELECT set_config('statement_timeout', '{}', true); SELECT pg_advisory_xact_lock({key})", limit.as_millis())
}

/// A stable advisory-lock key per logical database (the first 8 bytes of a SHA-256 of its name).
fn lock_key(database: &str) -> i64 {
    let digest = Sha256::digest(format!("esignet schema change: {database}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// A DDL statement that may run inside a transaction (so not `CREATE DATABASE`, `... CONCURRENTLY`, ...).
fn is_schema_change(statement: &str) -> bool {
    let text: Vec<&str> = statement.lines().filter(|l| !l.trim_start().starts_with("--")).collect();
    let upper = text.join(" ").to_ascii_uppercase();
    let mut words = upper.split_whitespace();
    let (first, second) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    matches!(first, "CREATE" | "ALTER" | "DROP" | "COMMENT")
        && !matches!(second, "DATABASE" | "TABLESPACE" | "SYSTEM")
        && !upper.contains("CONCURRENTLY")
}

fn is_stale_plan(e: &tokio_postgres::Error) -> bool {
    e.as_db_error().is_some_and(|d| d.code().code() == "0A000" && d.message().contains("cached plan"))
}

/// SQLSTATE classes to the capability's errors. Messages carry no parameter values: class 22 messages are cut
/// before the `: "<input>"` part PostgreSQL appends.
fn map_error(e: tokio_postgres::Error) -> SqlError {
    let Some(db) = e.as_db_error() else {
        return SqlError::Unavailable(e.to_string());
    };
    let code = db.code().code();
    let message = db.message();
    match code.get(..2).unwrap_or("") {
        "23" => match db.constraint() {
            Some(name) if !message.contains(name) => SqlError::Constraint(format!("{message} ({name})")),
            _ => SqlError::Constraint(message.to_string()),
        },
        "08" | "40" | "53" | "55" | "57" | "58" => SqlError::Unavailable(format!("{code}: {message}")),
        "22" => SqlError::Invalid(format!("{code}: {}", message.split(": ").next().unwrap_or(message))),
        _ => SqlError::Invalid(format!("{code}: {message}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_changes_are_recognised() {
        assert!(is_schema_change("CREATE TABLE IF NOT EXISTS x (a TEXT)"));
        assert!(is_schema_change("-- why\n  alter table x add column b TEXT"));
        assert!(is_schema_change("CREATE UNIQUE INDEX i ON x (a)"));
        assert!(!is_schema_change("CREATE INDEX CONCURRENTLY i ON x (a)"));
        assert!(!is_schema_change("CREATE DATABASE other"));
        assert!(!is_schema_change("INSERT INTO x VALUES ('CREATE')"));
    }

    #[test]
    fn lock_keys_differ_per_database_and_are_stable() {
        assert_eq!(lock_key("esignet"), lock_key("esignet"));
        assert_ne!(lock_key("esignet"), lock_key("mockidentity"));
    }
}
