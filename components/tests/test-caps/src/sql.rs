//! `/sql`: creates its table if missing, inserts one row with a parameter of every value type, reads it back,
//! hits a unique-key violation, and runs transactions that commit, roll back, and are dropped unfinished.

use esignet_sdk::sql::{self, Transaction, Value};
use esignet_sdk::{Request, Response};
use serde_json::{json, Value as Json};

use crate::{tag, OrRespond, Outcome};

const CREATE: &str = "CREATE TABLE IF NOT EXISTS caps_items \
    (id TEXT PRIMARY KEY, i BIGINT, r DOUBLE PRECISION, t TEXT, b BYTEA, n TEXT)";
const INSERT_ALL: &str = "INSERT INTO caps_items (id, i, r, t, b, n) VALUES ($1, $2, $3, $4, $5, $6)";
const INSERT_ID: &str = "INSERT INTO caps_items (id) VALUES ($1)";
const SELECT: &str = "SELECT i, r, t, b, n FROM caps_items WHERE id = $1";
const COUNT: &str = "SELECT COUNT(*) AS n FROM caps_items WHERE id = $1";

pub fn run(req: &Request) -> Outcome {
    let id = format!("caps-{}", tag(req));
    sql::execute(CREATE, &[]).or_respond()?;
    let params = [
        Value::from(id.as_str()),
        Value::from(-42i64),
        Value::from(2.5f64),
        Value::from("héllo 'quoted'"),
        Value::from(vec![0u8, 1, 2, 255]),
        Value::Null,
    ];
    let inserted = sql::execute(INSERT_ALL, &params).or_respond()?;
    let duplicate = error_name(sql::execute(INSERT_ALL, &params));
    let rows = sql::query(SELECT, &[id.as_str().into()]).or_respond()?;

    let committed = format!("{id}-commit");
    let tx = Transaction::new();
    tx.execute(INSERT_ID, &[committed.as_str().into()]).or_respond()?;
    tx.commit().or_respond()?;
    let after_commit = error_name(tx.execute(INSERT_ID, &[format!("{id}-late").into()]));

    let rolled_back = format!("{id}-rollback");
    let tx = Transaction::new();
    tx.execute(INSERT_ID, &[rolled_back.as_str().into()]).or_respond()?;
    let seen_inside = count_in(&tx, &rolled_back)?;
    tx.rollback().or_respond()?;

    let dropped = format!("{id}-dropped");
    let tx = Transaction::new();
    tx.execute(INSERT_ID, &[dropped.as_str().into()]).or_respond()?;
    drop(tx);

    Ok(Response::json(&json!({
        "id": id,
        "inserted": inserted,
        "duplicate_insert": duplicate,
        "columns": rows.columns,
        "rows": rows.rows.iter().map(|r| r.iter().map(value_json).collect::<Vec<_>>()).collect::<Vec<_>>(),
        "committed_visible": count(&committed)?,
        "after_commit": after_commit,
        "rolled_back_seen_inside": seen_inside,
        "rolled_back_visible": count(&rolled_back)?,
        "dropped_visible": count(&dropped)?,
    })))
}

fn count(id: &str) -> Result<i64, Response> {
    let rows = sql::query(COUNT, &[id.into()]).or_respond()?;
    Ok(rows.rows.first().and_then(|r| r.first()).and_then(Value::as_i64).unwrap_or(-1))
}

fn count_in(tx: &Transaction, id: &str) -> Result<i64, Response> {
    let rows = tx.query(COUNT, &[id.into()]).or_respond()?;
    Ok(rows.rows.first().and_then(|r| r.first()).and_then(Value::as_i64).unwrap_or(-1))
}

/// `"ok"` or the error variant's name, for steps that are expected to fail.
fn error_name<T>(result: Result<T, sql::SqlError>) -> &'static str {
    use esignet_sdk::CapabilityError;
    result.map_or_else(|e| e.variant(), |_| "ok")
}

/// A value tagged with its variant: `{"integer": -42}`, `{"blob": "0001ff"}`, `{"null": null}`.
fn value_json(v: &Value) -> Json {
    match v {
        Value::Null => json!({ "null": null }),
        Value::Integer(i) => json!({ "integer": i }),
        Value::Real(r) => json!({ "real": r }),
        Value::Text(t) => json!({ "text": t }),
        Value::Blob(b) => json!({ "blob": b.iter().map(|x| format!("{x:02x}")).collect::<String>() }),
    }
}
