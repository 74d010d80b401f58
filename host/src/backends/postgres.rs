//! The production `sql` backend: PostgreSQL through tokio-postgres, with a deadpool pool per logical database.
//! Each logical database (`esignet`, `mockidentity`, ...) is a SCHEMA of the one configured database, created on
//! first use; its pool's connections start with `search_path` set to that schema alone (a start-up option, so no
//! statement pays a round trip for it and components keep writing unqualified table names), which keeps the
//! logical databases apart. Every statement is bounded twice: a client-side timeout and the server's
//! `statement_timeout`, set a little shorter so that the server cancels cleanly first; getting a connection (pool
//! wait, connect, TLS, start-up) has its own bound. A down or stalled server therefore answers `Unavailable`
//! within `connect_timeout_ms + statement_timeout_ms` (2 s by default) and never hangs; a connection that timed
//! out is closed, closed connections are dropped at checkout, and so the pool heals by itself when the server
//! returns. `begin` takes no connection (the first statement does, see `transaction`), so an outage reaches the
//! component as `unavailable` on a statement. Schema changes are serialised per logical database by a
//! transaction-level advisory lock (`pg_advisory_xact_lock`), because PostgreSQL's `IF NOT EXISTS` races between
//! replicas: DDL outside a transaction runs in an implicit transaction that takes the lock first, and a
//! transaction takes it before its first DDL statement or its first statement naming `esignet_migrations` (the
//! ledger every migration transaction writes first), so replicas that start together apply each migration once,
//! one after the other; no trait change was needed. DDL runs under `migration_timeout_ms`. SQLSTATE class 23 is
//! `Constraint` (the message names the constraint); classes 08, 40, 53, 55, 57, 58 and connection failures are
//! `Unavailable`, except a connection refused for a missing database, role or password (`Invalid`, so a starting
//! host does not wait on a configuration error); the rest `Invalid`. Parts: `connect` (URL, TLS, pools),
//! `statement` (one statement, errors), `transaction`, `values` (type conversion).

mod connect;
mod statement;
mod transaction;
mod values;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Object, Pool};
use parking_lot::Mutex;
use tokio::time::{error::Elapsed, timeout};

pub use self::connect::redact;
use self::connect::Settings;
use self::statement::{error_text, map_error, Outcome};
use self::transaction::PgTransaction;
use super::{RowSet, SqlBackend, SqlError, SqlTransaction, SqlValue};
use crate::runtime_config::SqlConfig;

/// Connections of the pool used for `ping` and for creating schemas.
const ROOT_POOL_SIZE: usize = 2;
/// Longest a readiness probe waits, whatever the configured timeouts (the health check allows 1 s in all).
const PING_LIMIT: Duration = Duration::from_millis(450);

pub struct PostgresBackend {
    settings: Arc<Settings>,
    root: Pool,
    schemas: Mutex<HashMap<String, Arc<Schema>>>,
}

/// One logical database: its schema, pool and schema-change lock key.
struct Schema {
    name: String,
    pool: Pool,
    lock_key: i64,
    ready: tokio::sync::OnceCell<()>,
}

impl Schema {
    /// Creates the schema in the server unless this process already saw it.
    async fn ensure(&self, settings: &Settings, root: &Pool) -> Result<(), SqlError> {
        self.ready.get_or_try_init(|| self.create(settings, root)).await.map(|_| ())
    }

    async fn create(&self, settings: &Settings, root: &Pool) -> Result<(), SqlError> {
        let conn = checkout(settings, root).await?;
        let limit = settings.migration_timeout;
        let create = format!(
            "{}; CREATE SCHEMA IF NOT EXISTS {}",
            statement::lock_sql(self.lock_key, limit),
            connect::quote_ident(&self.name)
        );
        // Looked up first (within the statement bound), so that a role without CREATE on the database can use a
        // schema made for it; only creating waits for the lock, within the migration bound.
        let lookup = "SELECT 1 FROM pg_namespace WHERE nspname = $1";
        let outcome = timeout(settings.statement_timeout, async {
            conn.query_opt(lookup, &[&self.name]).await.map_err(map_error)
        })
        .await;
        let found = match outcome {
            Ok(found) => found?,
            Err(elapsed) => return settle(conn, Err::<Result<(), SqlError>, _>(elapsed)),
        };
        if found.is_some() {
            return Ok(());
        }
        let outcome = timeout(limit, async { conn.simple_query(&create).await.map(|_| ()).map_err(map_error) }).await;
        settle(conn, outcome)?;
        tracing::info!(schema = %self.name, server = %settings.target, "created schema");
        Ok(())
    }
}

impl PostgresBackend {
    /// Parses the settings and makes the pools; connects lazily (the first statement or `ping` does).
    pub fn connect(sql: &SqlConfig) -> anyhow::Result<PostgresBackend> {
        let settings = Settings::from_config(sql)?;
        let root = settings.pool(None, ROOT_POOL_SIZE)?;
        Ok(PostgresBackend { settings: Arc::new(settings), root, schemas: Mutex::new(HashMap::new()) })
    }

    /// The logical database's schema and pool (not yet checked in the server).
    fn schema(&self, database: &str) -> Result<Arc<Schema>, SqlError> {
        let valid = database.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if database.is_empty() || database.len() > 63 || !valid {
            return Err(SqlError::Invalid(format!("bad database name `{database}`")));
        }
        let mut schemas = self.schemas.lock();
        if let Some(schema) = schemas.get(database) {
            return Ok(schema.clone());
        }
        let pool = self
            .settings
            .pool(Some(database), self.settings.pool_size)
            .map_err(|e| SqlError::Unavailable(e.to_string()))?;
        let schema = Arc::new(Schema {
            name: database.into(),
            pool,
            lock_key: statement::lock_key(database),
            ready: tokio::sync::OnceCell::new(),
        });
        schemas.insert(database.to_string(), schema.clone());
        Ok(schema)
    }

    async fn run_outside(
        &self,
        database: &str,
        sql: &str,
        params: Vec<SqlValue>,
        rows: bool,
    ) -> Result<Outcome, SqlError> {
        let schema = self.schema(database)?;
        schema.ensure(&self.settings, &self.root).await?;
        let conn = checkout(&self.settings, &schema.pool).await?;
        if params.is_empty() && statement::is_schema_change(sql) {
            let limit = self.settings.migration_timeout;
            let batch = format!("{}; {sql}", statement::lock_sql(schema.lock_key, limit));
            let outcome = timeout(limit, statement::simple(&conn, &batch)).await;
            return settle(conn, outcome);
        }
        let outcome = timeout(self.settings.statement_timeout, statement::run(&conn, sql, &params, rows, true)).await;
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

    /// Takes no connection yet (see `transaction`): a down database shows on the first statement.
    async fn begin(&self, database: &str) -> Result<Box<dyn SqlTransaction>, SqlError> {
        let schema = self.schema(database)?;
        Ok(Box::new(PgTransaction::new(self.settings.clone(), self.root.clone(), schema)))
    }

    async fn ping(&self) -> Result<(), SqlError> {
        let started = tokio::time::Instant::now();
        let conn = match timeout(PING_LIMIT, checkout(&self.settings, &self.root)).await {
            Ok(conn) => conn?,
            Err(_) => {
                return Err(SqlError::Unavailable(format!(
                    "{}: no connection within {PING_LIMIT:?}",
                    self.settings.target
                )))
            }
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

/// A connection from `pool` within the connect bound.
async fn checkout(settings: &Settings, pool: &Pool) -> Result<Object, SqlError> {
    match timeout(settings.connect_timeout, pool.get()).await {
        Ok(Ok(conn)) => Ok(conn),
        // The server answered and refused for good (no such database, role or password: SQLSTATE classes 3D and
        // 28): a configuration error, not an outage to wait out.
        Ok(Err(deadpool_postgres::PoolError::Backend(e)))
            if e.as_db_error().is_some_and(|d| matches!(d.code().code().get(..2), Some("3D" | "28"))) =>
        {
            Err(SqlError::Invalid(format!("{}: {}", settings.target, error_text(&e))))
        }
        Ok(Err(e)) => Err(SqlError::Unavailable(format!("{}: {}", settings.target, error_text(&e)))),
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
