//! Consent records (tables `consent_detail` and `consent_history`, reference §3.6, §7.1): the decision after
//! authentication and the write at auth-code. The rules themselves are `esignet_core::consent`'s; this module
//! holds the SQL and the mapping between a transaction and a row.
//!
//! - After authentication: the consent of (client, PSUT) is looked up and [`decide`] fills in the
//!   transaction's `consentAction`; when it is NOCAPTURE because an equal consent is stored, the stored
//!   accepted claims and permitted scopes are copied into the transaction for auth-code to reuse.
//! - At auth-code with CAPTURE: [`save`] replaces the (client, PSUT) row and appends to the history in one SQL
//!   transaction; with nothing requested, [`delete`] removes an old consent.
//!
//! Hash: `consent_hash` of the transaction's requested claims (userinfo details and id_token claims) and
//! requested authorize scopes, so the same request later compares equal.

use esignet_core::consent::{
    consent_action, consent_claims_document, consent_expires_at, consent_hash, ConsentAction,
    StoredConsent,
};
use esignet_core::random::{OsRandom, RandomSource};
use esignet_core::transaction::OidcTransaction;
use esignet_core::EsignetError;
use esignet_sdk::sql::{self, Transaction, Value};
use serde_json::{Map, Value as Json};

use crate::reply::Failure;

const SELECT: &str =
    "SELECT hash, expire_dtimes, accepted_claims, permitted_scopes FROM consent_detail \
     WHERE client_id = $1 AND psu_token = $2";
const DELETE: &str = "DELETE FROM consent_detail WHERE client_id = $1 AND psu_token = $2";
const COLUMNS: &str = "(id, client_id, psu_token, claims, authorization_scopes, cr_dtimes, expire_dtimes, \
     signature, hash, accepted_claims, permitted_scopes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

/// A stored consent as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRow {
    /// Hash and expiry, for the decision.
    pub stored: StoredConsent,
    /// The claims the user accepted then.
    pub accepted_claims: Vec<String>,
    /// The scopes the user permitted then.
    pub permitted_scopes: Vec<String>,
}

/// Whether the transaction asks for anything that needs consent.
pub fn nothing_requested(txn: &OidcTransaction) -> bool {
    txn.essential_claims.is_empty()
        && txn.voluntary_claims.is_empty()
        && txn.requested_authorize_scopes.is_empty()
}

/// The consent hash of what the transaction requests.
pub fn requested_hash(txn: &OidcTransaction) -> Result<String, EsignetError> {
    let claims = consent_claims_document(&txn.requested_claim_details, &txn.id_token_claims)?;
    consent_hash(&claims, &txn.requested_authorize_scopes)
}

/// Sets `consentAction` (and, for a reused consent, the accepted claims and permitted scopes) from `row`.
pub fn decide(
    txn: &mut OidcTransaction,
    row: Option<&ConsentRow>,
    now: i64,
) -> Result<(), EsignetError> {
    let hash = requested_hash(txn)?;
    let action = consent_action(
        nothing_requested(txn),
        txn.prompt_consent(),
        row.map(|r| &r.stored),
        &hash,
        now,
    );
    if action == ConsentAction::NoCapture {
        let (claims, scopes) = row
            .map(|r| (r.accepted_claims.clone(), r.permitted_scopes.clone()))
            .unwrap_or_default();
        txn.accepted_claims = if nothing_requested(txn) {
            Vec::new()
        } else {
            claims
        };
        txn.permitted_scopes = if nothing_requested(txn) {
            Vec::new()
        } else {
            scopes
        };
    }
    txn.consent_action = Some(action);
    Ok(())
}

/// The stored consent of (client, PSUT), if any.
pub fn load(client_id: &str, psut: &str) -> Result<Option<ConsentRow>, Failure> {
    let rows = sql::query(SELECT, &[client_id.into(), psut.into()])
        .map_err(|e| Failure::capability(&e))?;
    if rows.rows.is_empty() {
        return Ok(None);
    }
    let text = |name: &str| rows.get(0, name).and_then(Value::as_str).unwrap_or("");
    let list = |name: &str| serde_json::from_str::<Vec<String>>(text(name)).unwrap_or_default();
    Ok(Some(ConsentRow {
        stored: StoredConsent {
            hash: text("hash").to_owned(),
            expires_at: rows.get(0, "expire_dtimes").and_then(Value::as_i64),
        },
        accepted_claims: list("accepted_claims"),
        permitted_scopes: list("permitted_scopes"),
    }))
}

/// Removes the consent of (client, PSUT).
pub fn delete(client_id: &str, psut: &str) -> Result<(), Failure> {
    sql::execute(DELETE, &[client_id.into(), psut.into()]).map_err(|e| Failure::capability(&e))?;
    Ok(())
}

/// Replaces the consent of the transaction's (client, PSUT) with what it now holds, and appends it to the history.
pub fn save(txn: &OidcTransaction, psut: &str, now: i64) -> Result<(), Failure> {
    let row = row_values(
        txn,
        psut,
        now,
        &new_id(&mut OsRandom)?,
        &new_id(&mut OsRandom)?,
    )?;
    let tx = Transaction::new();
    let fail = |e: sql::SqlError| Failure::capability(&e);
    tx.execute(DELETE, &[txn.client_id.as_str().into(), psut.into()])
        .map_err(fail)?;
    tx.execute(
        &format!("INSERT INTO consent_detail {COLUMNS}"),
        &row.detail,
    )
    .map_err(fail)?;
    tx.execute(
        &format!("INSERT INTO consent_history {COLUMNS}"),
        &row.history,
    )
    .map_err(fail)?;
    tx.commit().map_err(fail)
}

/// Parameters of the two inserts (they differ only in `id`).
struct RowValues {
    detail: Vec<Value>,
    history: Vec<Value>,
}

fn row_values(
    txn: &OidcTransaction,
    psut: &str,
    now: i64,
    detail_id: &str,
    history_id: &str,
) -> Result<RowValues, Failure> {
    let claims = consent_claims_document(&txn.requested_claim_details, &txn.id_token_claims)?;
    let scopes: Map<String, Json> = txn
        .requested_authorize_scopes
        .iter()
        .map(|s| (s.clone(), Json::Bool(txn.permitted_scopes.contains(s))))
        .collect();
    let hash = requested_hash(txn)?;
    let values = |id: &str| -> Result<Vec<Value>, Failure> {
        Ok(vec![
            id.into(),
            txn.client_id.as_str().into(),
            psut.into(),
            to_text(&claims)?.into(),
            to_text(&Json::Object(scopes.clone()))?.into(),
            now.into(),
            consent_expires_at(now, txn.consent_expire_minutes).into(),
            Value::Null,
            hash.as_str().into(),
            to_text(&txn.accepted_claims)?.into(),
            to_text(&txn.permitted_scopes)?.into(),
        ])
    };
    Ok(RowValues {
        detail: values(detail_id)?,
        history: values(history_id)?,
    })
}

/// A random row id in UUID v4 form (the columns are eSignet's `varchar(36)`).
fn new_id(rng: &mut dyn RandomSource) -> Result<String, EsignetError> {
    let mut b = [0u8; 16];
    rng.fill(&mut b)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    ))
}

/// JSON text of a column value.
fn to_text<T: serde::Serialize>(v: &T) -> Result<String, Failure> {
    serde_json::to_string(v).map_err(|_| Failure::Code(EsignetError::UnknownError))
}

#[cfg(test)]
#[path = "consent_tests.rs"]
mod tests;
