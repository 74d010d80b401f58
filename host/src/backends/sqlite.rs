//! The embedded `sql` backend: SQLite files in the data directory, one file per logical database, WAL mode,
//! a small pool of connections per file. Statements use `$1`-style parameters in every dialect; this backend
//! rewrites them to SQLite's `?1` form.
//!
//! SQLite calls block, so they run on tokio's blocking threads, except a read-only statement when an idle
//! connection is at hand: that runs on the calling thread under a budget of [`INLINE_BUDGET`] (a progress handler
//! interrupts it, and it runs again on a blocking thread), with no busy wait (a busy database sends it to a
//! blocking thread too). A login's reads are primary-key lookups of a few microseconds; each hop to a blocking
//! thread and back cost more than the read (two thread wake-ups).

use std::cell::Cell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use parking_lot::Mutex;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ToSql};

use super::{RowSet, SqlBackend, SqlError, SqlTransaction, SqlValue};

const POOL_SIZE: usize = 8;
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest a read-only statement may hold the calling (async) thread before it is moved to a blocking thread.
const INLINE_BUDGET: Duration = Duration::from_micros(500);
/// How many SQLite virtual-machine steps pass between two checks of that budget.
const INLINE_CHECK_EVERY: i32 = 1000;
/// Prepared statements kept per connection (rusqlite's default is 16; the components use a few dozen).
const STATEMENT_CACHE: usize = 64;

pub struct SqliteBackend {
    dir: PathBuf,
    pools: Mutex<HashMap<String, Arc<Pool>>>,
    /// Read-only statements answered on the calling thread, and those that went over budget or met a busy database.
    inline_reads: AtomicU64,
    moved_reads: AtomicU64,
}

struct Pool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Pool {
    fn get(&self) -> Result<Connection, SqlError> {
        if let Some(conn) = self.idle.lock().pop() {
            return Ok(conn);
        }
        let conn = Connection::open(&self.path).map_err(|e| SqlError::Unavailable(e.to_string()))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(unavailable)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(unavailable)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(unavailable)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(unavailable)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        conn.authorizer(Some(authorize));
        Ok(conn)
    }

    /// Returns a connection to the pool. A statement run outside `begin` that left a transaction open (`BEGIN`,
    /// `SAVEPOINT`: SQLite counts them read-only) is rolled back first, so that no later borrower inherits it;
    /// that is the error returned, for the caller to report.
    fn put(&self, conn: Connection) -> Result<(), SqlError> {
        if conn.is_autocommit() {
            let mut idle = self.idle.lock();
            if idle.len() < POOL_SIZE {
                idle.push(conn);
            }
            return Ok(());
        }
        if own_statement(&conn, "ROLLBACK").is_ok() && conn.is_autocommit() {
            let _ = self.put(conn);
        }
        Err(SqlError::Invalid(
            "the statement left a transaction open; transactions go through begin (it was rolled back)".into(),
        ))
    }
}

thread_local! {
    /// Set while this backend runs one of its own statements on this thread.
    static OWN_STATEMENT: Cell<bool> = const { Cell::new(false) };
}

/// Runs one of this backend's own statements (transaction control), which [`authorize`] lets through.
fn own_statement(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    OWN_STATEMENT.with(|own| own.set(true));
    let result = conn.execute_batch(sql);
    OWN_STATEMENT.with(|own| own.set(false));
    result
}

/// What a component's statement may do, checked when it is prepared: anything on the tables of its own database
/// file, nothing that reaches another file (`ATTACH`) or changes the pooled connection for its next borrower
/// (`PRAGMA`, transaction control outside `begin`, temporary objects), nor anything unrecognised.
fn authorize(ctx: AuthContext<'_>) -> Authorization {
    if OWN_STATEMENT.with(Cell::get) {
        return Authorization::Allow;
    }
    match ctx.action {
        AuthAction::Attach { .. }
        | AuthAction::Detach { .. }
        | AuthAction::Pragma { .. }
        | AuthAction::Transaction { .. }
        | AuthAction::Savepoint { .. }
        | AuthAction::CreateTempIndex { .. }
        | AuthAction::CreateTempTable { .. }
        | AuthAction::CreateTempTrigger { .. }
        | AuthAction::CreateTempView { .. }
        | AuthAction::DropTempIndex { .. }
        | AuthAction::DropTempTable { .. }
        | AuthAction::DropTempTrigger { .. }
        | AuthAction::DropTempView { .. }
        | AuthAction::CreateVtable { .. }
        | AuthAction::DropVtable { .. }
        // An action rusqlite could not name: its arguments were not the usual ones (an `ATTACH` of a bound
        // parameter has no file name at prepare time) or SQLite is newer. Refused rather than guessed at.
        | AuthAction::Unknown { .. } => Authorization::Deny,
        _ => Authorization::Allow,
    }
}

fn unavailable(e: rusqlite::Error) -> SqlError {
    SqlError::Unavailable(e.to_string())
}

impl SqliteBackend {
    pub fn open(dir: PathBuf) -> anyhow::Result<SqliteBackend> {
        std::fs::create_dir_all(&dir)?;
        Ok(SqliteBackend {
            dir,
            pools: Mutex::new(HashMap::new()),
            inline_reads: AtomicU64::new(0),
            moved_reads: AtomicU64::new(0),
        })
    }

    fn pool(&self, database: &str) -> Result<Arc<Pool>, SqlError> {
        if database.is_empty() || !database.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(SqlError::Invalid(format!("bad database name `{database}`")));
        }
        let mut pools = self.pools.lock();
        let pool = pools.entry(database.to_string()).or_insert_with(|| {
            Arc::new(Pool { path: self.dir.join(format!("{database}.db")), idle: Mutex::new(Vec::new()) })
        });
        Ok(pool.clone())
    }

    async fn with_conn<R: Send + 'static>(
        &self,
        database: &str,
        f: impl FnOnce(&Connection) -> Result<R, SqlError> + Send + 'static,
    ) -> Result<R, SqlError> {
        let pool = self.pool(database)?;
        tokio::task::spawn_blocking(move || {
            let conn = pool.get()?;
            let result = f(&conn);
            pool.put(conn).and(result)
        })
        .await
        .map_err(|e| SqlError::Unavailable(e.to_string()))?
    }

    /// (read-only statements answered on the calling thread, read-only statements moved to a blocking thread)
    #[cfg(test)]
    fn read_counts(&self) -> (u64, u64) {
        (self.inline_reads.load(Ordering::Relaxed), self.moved_reads.load(Ordering::Relaxed))
    }
}

/// What became of a statement tried on the calling thread.
enum Inline {
    Answered(Result<RowSet, SqlError>),
    /// Not read-only (or not preparable now: the blocking path prepares it again, and reports any error); nothing
    /// was run.
    NotReadOnly,
    /// Interrupted over budget, or the database was busy; nothing was changed, so it can run again.
    Moved,
    /// The connection's busy timeout could not be restored: it must not go back to the pool.
    Discard,
}

/// Runs `statement` on this thread if it is read-only, within [`INLINE_BUDGET`] and without waiting on locks
/// (preparing it included: a schema change in progress sends it to a blocking thread rather than wait here).
fn try_inline_read(conn: &Connection, statement: &str, params: &[SqlValue]) -> Inline {
    let deadline = Instant::now() + INLINE_BUDGET;
    if conn.busy_timeout(Duration::ZERO).is_err() {
        return Inline::NotReadOnly;
    }
    let outcome = match conn.prepare_cached(statement) {
        Ok(stmt) if stmt.readonly() && conn.is_autocommit() => {
            drop(stmt);
            conn.progress_handler(INLINE_CHECK_EVERY, Some(move || Instant::now() >= deadline));
            let result = run_query_raw(conn, statement, params);
            conn.progress_handler(0, None::<fn() -> bool>);
            match result {
                Err(rusqlite::Error::SqliteFailure(f, _))
                    if matches!(
                        f.code,
                        rusqlite::ErrorCode::OperationInterrupted
                            | rusqlite::ErrorCode::DatabaseBusy
                            | rusqlite::ErrorCode::DatabaseLocked
                    ) =>
                {
                    Inline::Moved
                }
                other => Inline::Answered(other.map_err(map_error)),
            }
        }
        _ => Inline::NotReadOnly,
    };
    if conn.busy_timeout(BUSY_TIMEOUT).is_err() {
        return Inline::Discard;
    }
    outcome
}

#[async_trait]
impl SqlBackend for SqliteBackend {
    async fn query(&self, database: &str, statement: &str, params: Vec<SqlValue>) -> Result<RowSet, SqlError> {
        let statement = rewrite_params(statement);
        let pool = self.pool(database)?;
        let idle = pool.idle.lock().pop();
        if let Some(conn) = idle {
            match try_inline_read(&conn, &statement, &params) {
                Inline::Answered(result) => {
                    self.inline_reads.fetch_add(1, Ordering::Relaxed);
                    return pool.put(conn).and(result);
                }
                Inline::NotReadOnly => pool.put(conn)?,
                Inline::Moved => {
                    pool.put(conn)?;
                    self.moved_reads.fetch_add(1, Ordering::Relaxed);
                }
                Inline::Discard => drop(conn),
            }
        }
        self.with_conn(database, move |c| run_query(c, &statement, &params)).await
    }

    async fn execute(&self, database: &str, statement: &str, params: Vec<SqlValue>) -> Result<u64, SqlError> {
        let statement = rewrite_params(statement);
        self.with_conn(database, move |c| run_execute(c, &statement, &params)).await
    }

    async fn begin(&self, database: &str) -> Result<Box<dyn SqlTransaction>, SqlError> {
        let pool = self.pool(database)?;
        let conn = tokio::task::spawn_blocking({
            let pool = pool.clone();
            move || -> Result<Connection, SqlError> {
                let conn = pool.get()?;
                own_statement(&conn, "BEGIN IMMEDIATE").map_err(map_error)?;
                Ok(conn)
            }
        })
        .await
        .map_err(|e| SqlError::Unavailable(e.to_string()))??;
        Ok(Box::new(SqliteTransaction { pool, conn: Arc::new(Mutex::new(Some(conn))), finishing: false }))
    }

    async fn ping(&self) -> Result<(), SqlError> {
        self.with_conn("default", |c| c.query_row("SELECT 1", [], |_| Ok(())).map_err(map_error)).await
    }

    fn describe(&self) -> String {
        format!("sqlite (embedded, single machine) in {}", self.dir.display())
    }
}

struct SqliteTransaction {
    pool: Arc<Pool>,
    /// `None` once committed or rolled back. A statement whose caller stopped waiting (a timed-out request drops
    /// the transaction) can start on its blocking thread after that: it finds the transaction closed, rather than
    /// running on a bare connection and committing on its own.
    conn: Arc<Mutex<Option<Connection>>>,
    /// Set once commit or rollback is under way (on its blocking thread), so that dropping does not roll back too.
    finishing: bool,
}

impl SqliteTransaction {
    async fn run<R: Send + 'static>(
        &mut self,
        f: impl FnOnce(&Connection) -> Result<R, SqlError> + Send + 'static,
    ) -> Result<R, SqlError> {
        if self.finishing {
            return Err(SqlError::Closed);
        }
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || conn.lock().as_ref().map_or(Err(SqlError::Closed), f))
            .await
            .map_err(|e| SqlError::Unavailable(e.to_string()))?
    }

    async fn finish(&mut self, sql: &'static str) -> Result<(), SqlError> {
        if self.finishing {
            return Err(SqlError::Closed);
        }
        let end = close(self.conn.clone(), self.pool.clone(), sql);
        let done = tokio::task::spawn_blocking(end);
        self.finishing = true;
        done.await.map_err(|e| SqlError::Unavailable(e.to_string()))?
    }
}

/// Ends a transaction with `sql` (`COMMIT` or `ROLLBACK`) and returns its connection to the pool (which rolls back
/// whatever a failed `COMMIT` left open).
fn close(
    conn: Arc<Mutex<Option<Connection>>>,
    pool: Arc<Pool>,
    sql: &'static str,
) -> impl FnOnce() -> Result<(), SqlError> {
    move || {
        let conn = conn.lock().take().ok_or(SqlError::Closed)?;
        let result = own_statement(&conn, sql).map_err(map_error);
        let _ = pool.put(conn);
        result
    }
}

#[async_trait]
impl SqlTransaction for SqliteTransaction {
    async fn query(&mut self, statement: &str, params: Vec<SqlValue>) -> Result<RowSet, SqlError> {
        let statement = rewrite_params(statement);
        self.run(move |c| run_query(c, &statement, &params)).await
    }

    async fn execute(&mut self, statement: &str, params: Vec<SqlValue>) -> Result<u64, SqlError> {
        let statement = rewrite_params(statement);
        self.run(move |c| run_execute(c, &statement, &params)).await
    }

    async fn commit(&mut self) -> Result<(), SqlError> {
        self.finish("COMMIT").await
    }

    async fn rollback(&mut self) -> Result<(), SqlError> {
        self.finish("ROLLBACK").await
    }
}

/// Dropped without commit or rollback: rolled back on a blocking thread (a statement may still be running on the
/// connection), or here when no runtime is at hand.
impl Drop for SqliteTransaction {
    fn drop(&mut self) {
        if self.finishing {
            return;
        }
        let end = close(self.conn.clone(), self.pool.clone(), "ROLLBACK");
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn_blocking(end)),
            Err(_) => drop(end()),
        }
    }
}

struct Param<'a>(&'a SqlValue);

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            SqlValue::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            SqlValue::Integer(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            SqlValue::Real(f) => ToSqlOutput::Borrowed(ValueRef::Real(*f)),
            SqlValue::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            SqlValue::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
        })
    }
}

fn bind(params: &[SqlValue]) -> Vec<Param<'_>> {
    params.iter().map(Param).collect()
}

fn run_query(conn: &Connection, statement: &str, params: &[SqlValue]) -> Result<RowSet, SqlError> {
    run_query_raw(conn, statement, params).map_err(map_error)
}

fn run_query_raw(conn: &Connection, statement: &str, params: &[SqlValue]) -> rusqlite::Result<RowSet> {
    let mut stmt = conn.prepare_cached(statement)?;
    let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
    let bound = bind(params);
    let refs: Vec<&dyn ToSql> = bound.iter().map(|p| p as &dyn ToSql).collect();
    let mut rows = stmt.query(refs.as_slice())?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut values = Vec::with_capacity(columns.len());
        for i in 0..columns.len() {
            values.push(match row.get_ref(i)? {
                ValueRef::Null => SqlValue::Null,
                ValueRef::Integer(v) => SqlValue::Integer(v),
                ValueRef::Real(v) => SqlValue::Real(v),
                ValueRef::Text(t) => SqlValue::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => SqlValue::Blob(b.to_vec()),
            });
        }
        out.push(values);
    }
    Ok(RowSet { columns, rows: out })
}

fn run_execute(conn: &Connection, statement: &str, params: &[SqlValue]) -> Result<u64, SqlError> {
    let mut stmt = conn.prepare_cached(statement).map_err(map_error)?;
    let bound = bind(params);
    let refs: Vec<&dyn ToSql> = bound.iter().map(|p| p as &dyn ToSql).collect();
    stmt.execute(refs.as_slice()).map(|n| n as u64).map_err(map_error)
}

fn map_error(e: rusqlite::Error) -> SqlError {
    match &e {
        rusqlite::Error::SqliteFailure(f, msg) => match f.code {
            rusqlite::ErrorCode::ConstraintViolation => {
                SqlError::Constraint(msg.clone().unwrap_or_else(|| "constraint".into()))
            }
            rusqlite::ErrorCode::DatabaseBusy
            | rusqlite::ErrorCode::DatabaseLocked
            | rusqlite::ErrorCode::CannotOpen
            | rusqlite::ErrorCode::SystemIoFailure
            | rusqlite::ErrorCode::DiskFull => SqlError::Unavailable(e.to_string()),
            _ => SqlError::Invalid(e.to_string()),
        },
        _ => SqlError::Invalid(e.to_string()),
    }
}

/// Rewrites `$N` placeholders to `?N`, leaving string literals, quoted identifiers and comments alone.
pub fn rewrite_params(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' | '`' => {
                    quote = Some(c);
                    out.push(c);
                }
                '$' if chars.peek().is_some_and(|n| n.is_ascii_digit()) => out.push('?'),
                _ => out.push(c),
            },
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_placeholders_outside_quotes() {
        assert_eq!(rewrite_params("SELECT $2, '$1' FROM t WHERE a = $1"), "SELECT ?2, '$1' FROM t WHERE a = ?1");
        assert_eq!(rewrite_params("SELECT \"$x\", $10"), "SELECT \"$x\", ?10");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn round_trip_and_transactions() {
        let dir = std::env::temp_dir().join(format!("esignet-sqlite-{}", std::process::id()));
        let db = SqliteBackend::open(dir.clone()).unwrap();
        db.execute("t", "CREATE TABLE IF NOT EXISTS x (id TEXT PRIMARY KEY, n INTEGER, r REAL, b BLOB)", vec![])
            .await
            .unwrap();
        db.execute("t", "DELETE FROM x", vec![]).await.unwrap();
        let params = vec![
            SqlValue::Text("a".into()),
            SqlValue::Integer(-5),
            SqlValue::Real(1.5),
            SqlValue::Blob(vec![0, 1, 255]),
        ];
        assert_eq!(db.execute("t", "INSERT INTO x VALUES ($1, $2, $3, $4)", params.clone()).await.unwrap(), 1);
        let dup = db.execute("t", "INSERT INTO x VALUES ($1, $2, $3, $4)", params.clone()).await;
        assert!(matches!(dup, Err(SqlError::Constraint(_))), "{dup:?}");
        let rows = db.query("t", "SELECT id, n, r, b FROM x WHERE id = $1", vec![SqlValue::Text("a".into())]).await.unwrap();
        assert_eq!(rows.rows, vec![params]);

        let mut tx = db.begin("t").await.unwrap();
        tx.execute("INSERT INTO x (id) VALUES ('b')", vec![]).await.unwrap();
        tx.rollback().await.unwrap();
        assert!(matches!(tx.commit().await, Err(SqlError::Closed)));
        {
            let mut tx = db.begin("t").await.unwrap();
            tx.execute("INSERT INTO x (id) VALUES ('c')", vec![]).await.unwrap();
        } // dropped: rolled back
        let mut tx = db.begin("t").await.unwrap();
        tx.execute("INSERT INTO x (id) VALUES ('d')", vec![]).await.unwrap();
        tx.commit().await.unwrap();
        let ids = db.query("t", "SELECT id FROM x ORDER BY id", vec![]).await.unwrap();
        assert_eq!(ids.rows, vec![vec![SqlValue::Text("a".into())], vec![SqlValue::Text("d".into())]]);
        let _ = std::fs::remove_dir_all(dir);
    }

    fn scratch(name: &str) -> (PathBuf, SqliteBackend) {
        let dir = std::env::temp_dir().join(format!("esignet-sqlite-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let db = SqliteBackend::open(dir.clone()).unwrap();
        (dir, db)
    }

    #[tokio::test]
    async fn reads_run_on_the_calling_thread_and_writes_do_not() {
        let (dir, db) = scratch("inline");
        db.execute("t", "CREATE TABLE x (id TEXT PRIMARY KEY, n INTEGER)", vec![]).await.unwrap();
        db.execute("t", "INSERT INTO x VALUES ('a', 1)", vec![]).await.unwrap();
        let rows = db.query("t", "SELECT n FROM x WHERE id = $1", vec![SqlValue::Text("a".into())]).await.unwrap();
        assert_eq!(rows.rows, vec![vec![SqlValue::Integer(1)]]);
        assert_eq!(db.read_counts(), (1, 0));

        // A statement that writes, sent through `query`, is not read-only: it runs on a blocking thread, and its
        // change is kept.
        let rows = db.query("t", "INSERT INTO x VALUES ('b', 2) RETURNING n", vec![]).await.unwrap();
        assert_eq!(rows.rows, vec![vec![SqlValue::Integer(2)]]);
        assert_eq!(db.read_counts(), (1, 0));
        let rows = db.query("t", "SELECT id FROM x ORDER BY id", vec![]).await.unwrap();
        assert_eq!(rows.rows, vec![vec![SqlValue::Text("a".into())], vec![SqlValue::Text("b".into())]]);

        // Errors are reported the same way on either path.
        let bad = db.query("t", "SELECT nope FROM x", vec![]).await;
        assert!(matches!(bad, Err(SqlError::Invalid(_))), "{bad:?}");
        let dup = db.query("t", "INSERT INTO x VALUES ('a', 3) RETURNING n", vec![]).await;
        assert!(matches!(dup, Err(SqlError::Constraint(_))), "{dup:?}");
        assert_eq!(db.read_counts(), (2, 0));
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A long read-only statement is interrupted at its budget and finishes on a blocking thread: the async thread
    /// (the only one in this runtime) keeps serving other tasks meanwhile, and the answer is complete.
    #[tokio::test]
    async fn a_slow_read_moves_off_the_async_thread() {
        let (dir, db) = scratch("slow");
        let db = Arc::new(db);
        db.execute("t", "CREATE TABLE x (id INTEGER PRIMARY KEY)", vec![]).await.unwrap();
        let slow = tokio::spawn({
            let db = db.clone();
            async move {
                let sql = "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < $1) \
                           SELECT count(*), sum(n) FROM c";
                db.query("t", sql, vec![SqlValue::Integer(3_000_000)]).await
            }
        });
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert!(!slow.is_finished(), "the slow read held the only async thread until it was done");
        let rows = slow.await.unwrap().unwrap();
        assert_eq!(rows.rows, vec![vec![SqlValue::Integer(3_000_000), SqlValue::Integer(4_500_001_500_000)]]);
        assert_eq!(db.read_counts(), (0, 1));
        // The connection went back to the pool with its handler removed: a quick read still runs inline.
        let rows = db.query("t", "SELECT count(*) FROM x", vec![]).await.unwrap();
        assert_eq!(rows.rows, vec![vec![SqlValue::Integer(0)]]);
        assert_eq!(db.read_counts(), (1, 1));
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A component's statement keeps to its own database file and leaves the pooled connection as it found it:
    /// `ATTACH`, `PRAGMA`, transaction control outside `begin` (read-only to SQLite, so it would run inline) and
    /// temporary objects are refused when prepared, and nothing of them stays behind.
    #[tokio::test]
    async fn statements_that_would_outlive_their_borrow_are_refused() {
        let (dir, db) = scratch("refused");
        db.execute("t", "CREATE TABLE x (id TEXT PRIMARY KEY)", vec![]).await.unwrap();
        db.execute("other", "CREATE TABLE secret (v TEXT)", vec![]).await.unwrap();
        let other = SqlValue::Text(dir.join("other.db").display().to_string());
        let attach_literal = format!("ATTACH '{}' AS o", dir.join("other.db").display());
        let refused = [
            ("ATTACH $1 AS o", vec![other.clone()]),
            (attach_literal.as_str(), vec![]),
            ("BEGIN", vec![]),
            ("SAVEPOINT s", vec![]),
            ("PRAGMA foreign_keys = OFF", vec![]),
            ("PRAGMA query_only = 1", vec![]),
            ("CREATE TEMP TABLE t (v TEXT)", vec![]),
        ];
        for (sql, params) in refused {
            let via_query = db.query("t", sql, params.clone()).await.map(|_| ());
            assert!(matches!(via_query, Err(SqlError::Invalid(_))), "{sql}: {via_query:?}");
            let via_execute = db.execute("t", sql, params.clone()).await.map(|_| ());
            assert!(matches!(via_execute, Err(SqlError::Invalid(_))), "{sql}: {via_execute:?}");
            let mut tx = db.begin("t").await.unwrap();
            let in_tx = tx.execute(sql, params).await.map(|_| ());
            assert!(matches!(in_tx, Err(SqlError::Invalid(_))), "{sql}: {in_tx:?}");
            tx.rollback().await.unwrap();
        }
        let read_other = db.query("t", "SELECT v FROM o.secret", vec![]).await;
        assert!(matches!(read_other, Err(SqlError::Invalid(_))), "{read_other:?}");
        // The connections are as they were: writes commit, and foreign keys are still enforced.
        db.execute("t", "INSERT INTO x VALUES ('a')", vec![]).await.unwrap();
        db.execute("t", "CREATE TABLE y (x TEXT REFERENCES x (id))", vec![]).await.unwrap();
        let orphan = db.execute("t", "INSERT INTO y VALUES ('nope')", vec![]).await;
        assert!(matches!(orphan, Err(SqlError::Constraint(_))), "{orphan:?}");
        // Seen from a connection outside the pool: the insert was committed, not held in a stray transaction.
        let outside = Connection::open(dir.join("t.db")).unwrap();
        let n: i64 = outside.query_row("SELECT count(*) FROM x", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 1);
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A connection left in a transaction (here, a `COMMIT` that failed) is rolled back before it is pooled again,
    /// and the caller is told.
    #[test]
    fn a_connection_left_in_a_transaction_is_rolled_back_when_pooled() {
        let dir = std::env::temp_dir().join(format!("esignet-sqlite-stray-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let pool = Pool { path: dir.join("t.db"), idle: Mutex::new(Vec::new()) };
        let conn = pool.get().unwrap();
        conn.execute_batch("CREATE TABLE x (id TEXT)").unwrap();
        own_statement(&conn, "BEGIN").unwrap();
        conn.execute_batch("INSERT INTO x VALUES ('a')").unwrap();
        assert!(matches!(pool.put(conn), Err(SqlError::Invalid(_))));
        let conn = pool.get().unwrap();
        assert!(conn.is_autocommit());
        let n: i64 = conn.query_row("SELECT count(*) FROM x", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 0);
        let _ = std::fs::remove_dir_all(dir);
    }
}
