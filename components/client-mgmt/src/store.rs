//! `client_detail` writes. A create checks, inside one transaction, that neither the client id nor the key
//! hash is taken (`duplicate_client_id`, `duplicate_public_key`) and inserts; the unique constraints catch a
//! concurrent twin. An update reads the whole row, merges the validated changes and writes it back in the
//! same transaction. After each commit the `client:<id>` cache entry that `oidc` and `ui` read through is
//! deleted, so the change takes effect at once.

use esignet_core::client::registration::{
    check_record, insert_record_sql, select_record_sql, update_record_sql, Cell, ClientChanges,
    ClientRecord,
};
use esignet_core::EsignetError;
use esignet_sdk::audit::{self, Level};
use esignet_sdk::cache;
use esignet_sdk::sql::{RowSet, SqlError, Transaction, Value};

use crate::reply::Failure;

const ID_TAKEN: &str = "SELECT id FROM client_detail WHERE id = $1";
const KEY_TAKEN: &str = "SELECT id FROM client_detail WHERE public_key_hash = $1";

fn to_sql(cell: Cell) -> Value {
    match cell {
        Cell::Null => Value::Null,
        Cell::Integer(v) => Value::Integer(v),
        Cell::Text(s) => Value::Text(s),
    }
}

fn from_sql(value: &Value) -> Cell {
    match value {
        Value::Integer(v) => Cell::Integer(*v),
        Value::Text(s) => Cell::Text(s.clone()),
        _ => Cell::Null,
    }
}

fn sql_failure(e: &SqlError) -> Failure {
    match e {
        SqlError::Unavailable => Failure::unavailable("sql"),
        SqlError::ConstraintViolation(_) => {
            Failure::internal("sql: unexpected constraint violation")
        }
        SqlError::InvalidStatement(_) => Failure::internal("sql: invalid statement"),
        SqlError::TransactionClosed => Failure::internal("sql: transaction closed"),
    }
}

fn params(record: &ClientRecord) -> Vec<Value> {
    record.params().into_iter().map(to_sql).collect()
}

fn exists(tx: &Transaction, statement: &str, param: &str) -> Result<bool, Failure> {
    let rows = tx
        .query(statement, &[Value::Text(param.to_owned())])
        .map_err(|e| sql_failure(&e))?;
    Ok(!rows.rows.is_empty())
}

/// Registers a validated create request; the stored record.
pub fn create(changes: ClientChanges, now: i64) -> Result<ClientRecord, Failure> {
    let record = changes.into_new_record(now).map_err(Failure::one)?;
    check_record(&record).map_err(|e| Failure::fields(vec![e]))?;
    let tx = Transaction::new();
    if exists(&tx, ID_TAKEN, &record.id)? {
        return Err(Failure::one(EsignetError::DuplicateClientId));
    }
    if exists(&tx, KEY_TAKEN, &record.public_key_hash)? {
        return Err(Failure::one(EsignetError::DuplicatePublicKey));
    }
    match tx.execute(&insert_record_sql(), &params(&record)) {
        Ok(_) => {}
        Err(SqlError::ConstraintViolation(what)) if what.contains("public_key_hash") => {
            return Err(Failure::one(EsignetError::DuplicatePublicKey))
        }
        Err(SqlError::ConstraintViolation(_)) => {
            return Err(Failure::one(EsignetError::DuplicateClientId))
        }
        Err(e) => return Err(sql_failure(&e)),
    }
    tx.commit().map_err(|e| sql_failure(&e))?;
    evict(&record.id);
    Ok(record)
}

fn read_record(rows: &RowSet) -> Result<Option<ClientRecord>, Failure> {
    let Some(row) = rows.rows.first() else {
        return Ok(None);
    };
    let record = ClientRecord::from_columns(|name| {
        let i = rows
            .columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))?;
        row.get(i).map(from_sql)
    })
    .map_err(|_| Failure::internal("client_detail row unreadable"))?;
    Ok(Some(record))
}

/// Applies a validated update or patch to client `id`; the stored record. `invalid_client_id` if unknown.
pub fn update(id: &str, changes: ClientChanges, now: i64) -> Result<ClientRecord, Failure> {
    let tx = Transaction::new();
    let rows = tx
        .query(&select_record_sql(), &[Value::Text(id.to_owned())])
        .map_err(|e| sql_failure(&e))?;
    let mut record = read_record(&rows)?.ok_or(Failure::one(EsignetError::InvalidClientId))?;
    changes.apply_to(&mut record, now);
    check_record(&record).map_err(|e| Failure::fields(vec![e]))?;
    let changed = tx
        .execute(&update_record_sql(), &params(&record))
        .map_err(|e| sql_failure(&e))?;
    if changed != 1 {
        return Err(Failure::one(EsignetError::InvalidClientId));
    }
    tx.commit().map_err(|e| sql_failure(&e))?;
    evict(id);
    Ok(record)
}

/// Deletes the read-through cache entry of a client (retried once; a failure is logged, the 300 s TTL bounds it).
fn evict(id: &str) {
    let key = format!("client:{id}");
    if cache::delete(&key).is_err() && cache::delete(&key).is_err() {
        audit::log(
            Level::Warn,
            "client-mgmt: could not evict a client cache entry; it expires within 300 s",
        );
    }
}
