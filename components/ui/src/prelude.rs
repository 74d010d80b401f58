//! The checks every UI API call goes through before its own logic, in eSignet's order: CSRF (done by the
//! router), the transaction-binding headers (reference §1.5: `oauth-details-key` names the transaction in the
//! expected cache stage, missing → `invalid_transaction`; `oauth-details-hash` must equal the hash stored at
//! oauth-details time, else `invalid_request`), the JSON content type (415), then the request wrapper
//! (`requestTime` window, `request` present; `invalid_request`).
//!
//! Field-level checks are the handlers' own, with helpers here for the common `"<field>: <code>"` failures.

use esignet_core::envelope::{parse_request, RequestEnvelope};
use esignet_core::oauth_details::check_oauth_details_hash;
use esignet_core::transaction::OidcTransaction;
use esignet_core::EsignetError;
use esignet_sdk::Request;
use serde::de::DeserializeOwned;

use crate::reply::Failure;
use crate::settings::Settings;
use crate::store::{get_transaction, Stage};

/// Header naming the transaction.
pub const KEY_HEADER: &str = "oauth-details-key";
/// Header carrying the oauth-details hash.
pub const HASH_HEADER: &str = "oauth-details-hash";

/// The transaction the headers name, in `stage`, after the hash check.
pub fn bound_transaction(req: &Request, stage: Stage) -> Result<OidcTransaction, Failure> {
    let key = req.header(KEY_HEADER).map(str::trim).unwrap_or("");
    if !is_transaction_id(key) {
        return Err(Failure::Code(EsignetError::InvalidTransaction));
    }
    let txn = get_transaction(stage, key)?;
    let stored = txn.oauth_details_hash.as_deref().unwrap_or("");
    if stored.is_empty() {
        return Err(Failure::Code(EsignetError::InvalidRequest));
    }
    check_oauth_details_hash(stored, req.header(HASH_HEADER).map(str::trim))
        .map_err(Failure::Code)?;
    Ok(txn)
}

/// Whether `id` can be a transaction id (base64url, bounded): anything else cannot name a cache entry of ours.
pub fn is_transaction_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// HTTP 415 (with the wrapper, `invalid_request`) unless the body is declared `application/json`.
pub fn require_json(req: &Request) -> Result<(), Failure> {
    if req.is_json() {
        Ok(())
    } else {
        Err(Failure::Status(415, EsignetError::InvalidRequest.code()))
    }
}

/// The request wrapper's `request`, checked against the clock and the leeway.
pub fn parse_body<T: DeserializeOwned>(
    req: &Request,
    settings: &Settings,
    now_ms: i64,
) -> Result<T, Failure> {
    parse_request::<T>(&req.body, now_ms, settings.leeway_minutes)
        .map(|RequestEnvelope { request, .. }| request)
        .map_err(Failure::Code)
}

/// A field that must hold non-blank text.
pub fn blank(v: &Option<String>) -> bool {
    v.as_deref().is_none_or(|s| s.trim().is_empty())
}

/// Collects `(field, code)` for each failed check; `Fields` failure when any did.
pub fn fields_ok(checks: &[(bool, &'static str, EsignetError)]) -> Result<(), Failure> {
    let failed: Vec<(&'static str, EsignetError)> = checks
        .iter()
        .filter(|(bad, _, _)| *bad)
        .map(|(_, f, e)| (*f, *e))
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::Fields(failed))
    }
}

/// The body's `transactionId` must name the transaction the headers bound (else `invalid_transaction`).
pub fn same_transaction(body_id: &str, txn: &OidcTransaction) -> Result<(), Failure> {
    if body_id.trim() == txn.transaction_id.as_str() {
        Ok(())
    } else {
        Err(Failure::Code(EsignetError::InvalidTransaction))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_id_shape() {
        assert!(is_transaction_id(
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
        ));
        assert!(!is_transaction_id(""));
        assert!(!is_transaction_id("a:b"));
        assert!(!is_transaction_id(&"a".repeat(129)));
    }

    #[test]
    fn content_type_must_be_json() {
        let mut req = Request {
            method: "POST".into(),
            ..Request::default()
        };
        assert_eq!(
            require_json(&req),
            Err(Failure::Status(415, "invalid_request"))
        );
        req.headers.push((
            "content-type".into(),
            "application/json; charset=UTF-8".into(),
        ));
        assert_eq!(require_json(&req), Ok(()));
    }

    #[test]
    fn field_checks_collect_every_failure() {
        assert_eq!(
            fields_ok(&[(false, "a", EsignetError::InvalidIdentifier)]),
            Ok(())
        );
        let r = fields_ok(&[
            (true, "transactionId", EsignetError::InvalidTransactionId),
            (false, "x", EsignetError::InvalidRequest),
            (true, "individualId", EsignetError::InvalidIdentifier),
        ]);
        assert_eq!(
            r,
            Err(Failure::Fields(vec![
                ("transactionId", EsignetError::InvalidTransactionId),
                ("individualId", EsignetError::InvalidIdentifier)
            ]))
        );
        assert!(blank(&None) && blank(&Some("  ".into())) && !blank(&Some("x".into())));
    }

    #[test]
    fn body_wrapper_is_checked() {
        let settings = Settings::from_lookup(|_| None);
        let now = 1_700_000_000_123;
        let req = |body: &str| Request {
            body: body.as_bytes().to_vec(),
            ..Request::default()
        };
        let ok: serde_json::Value = parse_body(
            &req(r#"{"requestTime":"2023-11-14T22:13:20.123Z","request":{"a":1}}"#),
            &settings,
            now,
        )
        .unwrap();
        assert_eq!(ok["a"], 1);
        for bad in [
            r#"{"requestTime":"2023-11-14T22:10:20.123Z","request":{}}"#,
            "{",
            "[]",
            "",
        ] {
            assert_eq!(
                parse_body::<serde_json::Value>(&req(bad), &settings, now),
                Err(Failure::Code(EsignetError::InvalidRequest)),
                "{bad}"
            );
        }
    }
}
