//! A transaction of the PostgreSQL backend. `begin` takes no connection: the first statement does, creating the
//! schema if needed and sending `BEGIN` (PostgreSQL takes its snapshot at the first statement anyway). This way a
//! down database surfaces as `unavailable` on that statement, which a component can answer with 503, rather than
//! in the transaction's constructor, which the WIT interface cannot make fail. The connection is then held until
//! `commit` or `rollback`; dropped unfinished, the transaction is rolled back on a background task, and its
//! connection closed when that fails or no runtime is left. After a failed statement PostgreSQL refuses the rest
//! of the transaction, so `commit` then rolls back and says so (`Invalid`). Before its first DDL statement or its first statement
//! on the migration ledger it takes the logical database's schema-change lock, and from then on its statements
//! get the migration timeout.

use std::sync::Arc;

use async_trait::async_trait;
use deadpool_postgres::{Object, Pool};
use tokio::time::{error::Elapsed, timeout};

use super::connect::Settings;
use super::statement::{self, map_error, Outcome};
use super::{checkout, settle, Schema};
use crate::backends::{RowSet, SqlError, SqlTransaction, SqlValue};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No statement yet: no connection, no `BEGIN`.
    Pending,
    Open,
    Closed,
}

pub struct PgTransaction {
    settings: Arc<Settings>,
    root: Pool,
    schema: Arc<Schema>,
    conn: Option<Object>,
    state: State,
    /// The schema-change lock is held and statements get the migration timeout.
    schema_change: bool,
    /// A statement failed: PostgreSQL has aborted the transaction, so `commit` rolls back.
    failed: bool,
}

impl PgTransaction {
    pub(super) fn new(settings: Arc<Settings>, root: Pool, schema: Arc<Schema>) -> PgTransaction {
        PgTransaction { settings, root, schema, conn: None, state: State::Pending, schema_change: false, failed: false }
    }

    /// Takes a connection and sends `BEGIN` (on the first statement).
    async fn begin_now(&mut self) -> Result<(), SqlError> {
        self.schema.ensure(&self.settings, &self.root).await?;
        let conn = checkout(&self.settings, &self.schema.pool).await?;
        let outcome =
            timeout(self.settings.statement_timeout, async { conn.batch_execute("BEGIN").await.map_err(map_error) })
                .await;
        match outcome {
            Ok(Ok(())) => {
                self.conn = Some(conn);
                self.state = State::Open;
                Ok(())
            }
            other => Err(settle(conn, other).err().unwrap_or(SqlError::Closed)),
        }
    }

    async fn statement(&mut self, statement: &str, params: Vec<SqlValue>, rows: bool) -> Result<Outcome, SqlError> {
        match self.state {
            State::Closed => return Err(SqlError::Closed),
            State::Open => {}
            State::Pending => {
                if let Err(e) = self.begin_now().await {
                    self.failed = true;
                    return Err(e);
                }
            }
        }
        let migration = self.settings.migration_timeout;
        if !self.schema_change && statement::needs_lock(statement) {
            let conn = self.conn.as_ref().ok_or(SqlError::Closed)?;
            let lock = statement::lock_sql(self.schema.lock_key, migration);
            let outcome = timeout(migration, async { conn.batch_execute(&lock).await.map_err(map_error) }).await;
            self.settle(outcome)?;
            self.schema_change = true;
        }
        let limit = if self.schema_change { migration } else { self.settings.statement_timeout };
        let conn = self.conn.as_ref().ok_or(SqlError::Closed)?;
        let outcome = if params.is_empty() && statement::is_schema_change(statement) {
            timeout(limit, statement::simple(conn, statement)).await
        } else {
            timeout(limit, statement::run(conn, statement, &params, rows, false)).await
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
                self.state = State::Closed;
                Err(SqlError::Unavailable(format!(
                    "{}: statement timed out; transaction abandoned",
                    self.settings.target
                )))
            }
        }
    }

    async fn finish(&mut self, commit: bool) -> Result<(), SqlError> {
        let refused = commit && self.failed;
        let state = std::mem::replace(&mut self.state, State::Closed);
        let conn = match (state, self.conn.take()) {
            (State::Closed, _) => return Err(SqlError::Closed),
            (_, Some(conn)) => Some(conn),
            (_, None) => None,
        };
        if let Some(conn) = conn {
            let sql = if commit && !refused { "COMMIT" } else { "ROLLBACK" };
            let limit =
                if self.schema_change { self.settings.migration_timeout } else { self.settings.statement_timeout };
            let outcome = timeout(limit, async { conn.batch_execute(sql).await.map_err(map_error) }).await;
            settle(conn, outcome)?;
        }
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
