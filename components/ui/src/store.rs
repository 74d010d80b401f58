//! The shared state this component reads and writes through the host, under the keys of
//! `docs/design/login-flow.md`: clients (`client:<id>` read-through over `client_detail`), transactions
//! (`preauth:`, `authenticated:`, `code:`), attempt counters (`rate:<api>:<txn>`) and blocked individual ids
//! (`blocked:<hash>`), plus the audit trail. Capability failures become [`Failure::capability`] (503 when the
//! backend is down); nothing here logs personal data.

use esignet_core::client::{ClientDetail, SELECT_CLIENT_SQL};
use esignet_core::transaction::OidcTransaction;
use esignet_core::EsignetError;
use esignet_sdk::audit::{self, Event, Level, Status};
use esignet_sdk::{cache, sql, CapabilityError};

use crate::reply::Failure;

/// Lifetime of the `client:<id>` read-through entry.
const CLIENT_CACHE_TTL_MS: u64 = 300_000;
/// Lifetime of the per-transaction attempt counters (eSignet's `apiratelimit` cache).
const RATE_WINDOW_MS: u64 = 180_000;

/// The cache stage a transaction is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// After oauth-details.
    Preauth,
    /// After a successful authenticate.
    Authenticated,
}

impl Stage {
    fn key(self, transaction_id: &str) -> String {
        match self {
            Stage::Preauth => format!("preauth:{transaction_id}"),
            Stage::Authenticated => format!("authenticated:{transaction_id}"),
        }
    }
}

/// The client, from the cache or else from SQL (then cached); `None` when no such row exists.
pub fn load_client(client_id: &str) -> Result<Option<ClientDetail>, Failure> {
    if !esignet_core::client::plausible_client_id(client_id) {
        return Ok(None);
    }
    let key = format!("client:{client_id}");
    let cached = cache::get(&key).map_err(|e| Failure::capability(&e))?;
    if let Some(client) = cached
        .as_deref()
        .and_then(|b| serde_json::from_slice::<ClientDetail>(b).ok())
    {
        return Ok(Some(client));
    }
    let rows =
        sql::query(SELECT_CLIENT_SQL, &[client_id.into()]).map_err(|e| Failure::capability(&e))?;
    if rows.rows.is_empty() {
        return Ok(None);
    }
    let column = |name: &str| {
        rows.get(0, name)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let client = ClientDetail::from_columns(column).map_err(|e| {
        log(
            Level::Error,
            &format!("client_detail row of {client_id} is unreadable"),
        );
        Failure::Code(e)
    })?;
    if let Ok(json) = serde_json::to_vec(&client) {
        // A failed cache write only costs a later SQL read.
        let _ = cache::set(&key, &json, CLIENT_CACHE_TTL_MS);
    }
    Ok(Some(client))
}

/// The transaction in `stage`, or `invalid_transaction`.
pub fn get_transaction(stage: Stage, transaction_id: &str) -> Result<OidcTransaction, Failure> {
    let bytes = cache::get(&stage.key(transaction_id))
        .map_err(|e| Failure::capability(&e))?
        .ok_or(Failure::Code(EsignetError::InvalidTransaction))?;
    parse_transaction(&bytes)
}

/// Atomically removes the transaction from `stage` and returns it (single use), or `invalid_transaction`.
pub fn take_transaction(stage: Stage, transaction_id: &str) -> Result<OidcTransaction, Failure> {
    let bytes = cache::take(&stage.key(transaction_id))
        .map_err(|e| Failure::capability(&e))?
        .ok_or(Failure::Code(EsignetError::InvalidTransaction))?;
    parse_transaction(&bytes)
}

/// Stores the transaction in `stage` for `ttl_ms`.
pub fn put_transaction(stage: Stage, txn: &OidcTransaction, ttl_ms: u64) -> Result<(), Failure> {
    put_json(&stage.key(txn.transaction_id.as_str()), txn, ttl_ms)
}

/// Stores the transaction under `code:<codeHash>` for `ttl_ms`.
pub fn put_code(code_hash: &str, txn: &OidcTransaction, ttl_ms: u64) -> Result<(), Failure> {
    put_json(&format!("code:{code_hash}"), txn, ttl_ms)
}

fn put_json(key: &str, txn: &OidcTransaction, ttl_ms: u64) -> Result<(), Failure> {
    let json = txn.to_json().map_err(Failure::Code)?;
    cache::set(key, json.as_bytes(), ttl_ms).map_err(|e| write_failure(&e))
}

/// A refused cache write: the cache's `invalid-input` (e.g. a value over its size limit) is the request's fault
/// (`invalid_request`), anything else a capability failure (500/503).
fn write_failure(err: &cache::CacheError) -> Failure {
    if err.variant() == "invalid-input" {
        Failure::Code(EsignetError::InvalidRequest)
    } else {
        Failure::capability(err)
    }
}

fn parse_transaction(bytes: &[u8]) -> Result<OidcTransaction, Failure> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| Failure::Code(EsignetError::InvalidTransaction))?;
    OidcTransaction::from_json(text).map_err(Failure::Code)
}

/// `individual_id_blocked` while `blocked:<hash>` exists.
pub fn ensure_not_blocked(individual_id_hash: &str) -> Result<(), Failure> {
    let blocked = cache::get(&format!("blocked:{individual_id_hash}"))
        .map_err(|e| Failure::capability(&e))?;
    match blocked {
        Some(_) => Err(Failure::Code(EsignetError::IndividualIdBlocked)),
        None => Ok(()),
    }
}

/// Counts one call of `api` for the transaction. Past `limit` the answer is `no_attempts_left`, and when an
/// individual id hash is given it is blocked for `block_ms`.
pub fn count_attempt(
    api: &str,
    transaction_id: &str,
    limit: i64,
    block: Option<(&str, u64)>,
) -> Result<(), Failure> {
    let count = cache::increment(&format!("rate:{api}:{transaction_id}"), 1, RATE_WINDOW_MS)
        .map_err(|e| Failure::capability(&e))?;
    if count <= limit {
        return Ok(());
    }
    if let Some((hash, block_ms)) = block {
        cache::set(&format!("blocked:{hash}"), b"1", block_ms)
            .map_err(|e| Failure::capability(&e))?;
        log(
            Level::Warn,
            &format!("{api}: attempts exhausted; individual id blocked"),
        );
    }
    Err(Failure::Code(EsignetError::NoAttemptsLeft))
}

/// Counts one authentication failure of the individual id across all transactions
/// (`authfail:<hash>`, a window of `block_ms` from the first failure). When the count exceeds `limit` the id is
/// blocked (`blocked:<hash>`) for `block_ms`, so the following authenticate and send-otp calls answer
/// `individual_id_blocked`; the failing call itself keeps its own error. A successful authentication does not
/// reset the counter: it only expires, so an attacker cannot interleave a known id to clear it.
pub fn count_auth_failure(
    individual_id_hash: &str,
    limit: i64,
    block_ms: u64,
) -> Result<(), Failure> {
    let count = cache::increment(&format!("authfail:{individual_id_hash}"), 1, block_ms)
        .map_err(|e| Failure::capability(&e))?;
    if count > limit {
        cache::set(&format!("blocked:{individual_id_hash}"), b"1", block_ms)
            .map_err(|e| Failure::capability(&e))?;
        log(
            Level::Warn,
            "authenticate: too many failures for one individual id; blocked",
        );
    }
    Ok(())
}

/// Records an audit event (eSignet action names). `error` is the error code on failure.
pub fn audit_event(
    action: &str,
    txn: Option<&OidcTransaction>,
    transaction_id: Option<&str>,
    error: Option<&str>,
) {
    let details = error
        .map(|code| vec![("errorCode".to_owned(), code.to_owned())])
        .unwrap_or_default();
    audit::record(&Event {
        action: action.to_owned(),
        status: if error.is_some() {
            Status::Error
        } else {
            Status::Success
        },
        transaction_id: txn
            .map(|t| t.transaction_id.as_str().to_owned())
            .or_else(|| transaction_id.map(str::to_owned)),
        client_id: txn.map(|t| t.client_id.as_str().to_owned()),
        details,
    });
}

/// A structured log line (never with personal data).
pub fn log(level: Level, message: &str) {
    audit::log(level, &format!("ui: {message}"));
}
