//! Running one statement on a pooled connection: prepare (cached per connection), convert the parameters to the
//! types the server inferred, run, and decode the rows; DDL without parameters goes through the simple-query
//! protocol behind the schema-change lock. Also the SQLSTATE → `SqlError` mapping and the recognisers that
//! decide when a statement needs that lock.

use std::error::Error;
use std::time::Duration;

use deadpool_postgres::ClientWrapper;
use sha2::{Digest, Sha256};
use tokio_postgres::types::ToSql;
use tokio_postgres::{SimpleQueryMessage, Statement};

use super::values::{self, Bound, RawCell};
use crate::backends::{RowSet, SqlError, SqlValue};

/// What a statement produced.
pub enum Outcome {
    Rows(RowSet),
    Count(u64),
}

impl Outcome {
    pub fn rows(self) -> RowSet {
        match self {
            Outcome::Rows(r) => r,
            Outcome::Count(_) => RowSet::default(),
        }
    }

    pub fn count(self) -> u64 {
        match self {
            Outcome::Rows(r) => r.rows.len() as u64,
            Outcome::Count(n) => n,
        }
    }
}

/// Prepares (cached per connection), binds and runs one statement. With `retry_stale`, a cached plan that a schema
/// change invalidated is prepared again once.
pub async fn run(
    conn: &ClientWrapper,
    statement: &str,
    params: &[SqlValue],
    rows: bool,
    retry_stale: bool,
) -> Result<Outcome, SqlError> {
    let mut retry = retry_stale;
    loop {
        let prepared = conn.prepare_cached(statement).await.map_err(map_error)?;
        let bound = bind_all(&prepared, params)?;
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|b| b as &(dyn ToSql + Sync)).collect();
        let result = if rows {
            values::check_columns(prepared.columns())?;
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
        return Err(SqlError::Invalid(format!(
            "the statement takes {} parameters, {} given",
            types.len(),
            params.len()
        )));
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
pub async fn simple(conn: &ClientWrapper, text: &str) -> Result<Outcome, SqlError> {
    let messages = conn.simple_query(text).await.map_err(map_error)?;
    let count = messages.iter().rev().find_map(|m| match m {
        SimpleQueryMessage::CommandComplete(n) => Some(*n),
        _ => None,
    });
    Ok(Outcome::Count(count.unwrap_or(0)))
}

/// Takes the logical database's schema-change lock for the current transaction, after lifting its statement
/// timeout to `limit` (a replica may wait here while another applies a migration).
pub fn lock_sql(key: i64, limit: Duration) -> String {
    let ms = super::connect::server_timeout_ms(limit);
    format!("SELECT set_config('statement_timeout', '{ms}', true); SELECT pg_advisory_xact_lock({key})")
}

/// A stable advisory-lock key per logical database (the first 8 bytes of a SHA-256 of its name).
pub fn lock_key(database: &str) -> i64 {
    let digest = Sha256::digest(format!("esignet schema change: {database}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// A DDL statement that may run inside a transaction (so not `CREATE DATABASE`, `... CONCURRENTLY`, ...).
pub fn is_schema_change(statement: &str) -> bool {
    let text: Vec<&str> = statement.lines().filter(|l| !l.trim_start().starts_with("--")).collect();
    let upper = text.join(" ").to_ascii_uppercase();
    let mut words = upper.split_whitespace();
    let (first, second) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    matches!(first, "CREATE" | "ALTER" | "DROP" | "COMMENT")
        && !matches!(second, "DATABASE" | "TABLESPACE" | "SYSTEM")
        && !upper.contains("CONCURRENTLY")
}

/// Whether a transaction must hold the schema-change lock before `statement`: DDL, or a statement on the host's
/// migration ledger (`migrate.rs` writes it first in every migration transaction).
pub fn needs_lock(statement: &str) -> bool {
    is_schema_change(statement) || statement.to_ascii_lowercase().contains("esignet_migrations")
}

/// An error and its causes joined by `: ` (tokio-postgres and deadpool keep causes out of `Display`).
pub fn error_text(e: &dyn Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

fn is_stale_plan(e: &tokio_postgres::Error) -> bool {
    e.as_db_error().is_some_and(|d| d.code().code() == "0A000" && d.message().contains("cached plan"))
}

/// SQLSTATE classes to the capability's errors. Messages carry no parameter values: class 22 messages are cut
/// before the `: "<input>"` part PostgreSQL appends.
pub fn map_error(e: tokio_postgres::Error) -> SqlError {
    let Some(db) = e.as_db_error() else {
        return SqlError::Unavailable(error_text(&e));
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
        assert!(needs_lock("INSERT INTO esignet_migrations (name, applied_at) VALUES ($1, $2)"));
        assert!(!needs_lock("SELECT id FROM client_detail WHERE id = $1"));
    }

    #[test]
    fn lock_keys_differ_per_database_and_are_stable() {
        assert_eq!(lock_key("esignet"), lock_key("esignet"));
        assert_ne!(lock_key("esignet"), lock_key("mockidentity"));
    }
}
