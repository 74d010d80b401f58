//! Consent (reference §3.6): the consent hash, the CAPTURE/NOCAPTURE decision, and the checks on what the user
//! accepted at auth-code.
//!
//! Hash: the document `{"authorizeScopes": {scope: false, ...}, "claims": {"id_token": {...}, "userinfo":
//! {...}}}` is canonicalised — object keys sorted case-insensitively at every level (ties by exact key),
//! arrays made only of strings sorted, a missing userinfo/id_token map written `{}`, a userinfo claim without
//! details written `[]` and an id_token claim without details `{}` — serialized compactly, hashed with
//! SHA3-256 and base64url-encoded.
//!
//! Decision: nothing requested (no claims, no authorize scopes) → NOCAPTURE; `prompt=consent`, no stored
//! consent, an expired one (`expires_at <= now`) or a different hash → CAPTURE; otherwise NOCAPTURE.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::authorize::ClaimDetail;
use crate::error::EsignetError;
use crate::hashing::sha3_256_b64url;
use crate::js_json::{write_value, KeyOrder};

/// Whether the consent screen is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsentAction {
    /// Show the consent screen and store the answer.
    #[serde(rename = "CAPTURE")]
    Capture,
    /// Reuse the stored consent (or nothing needs consent).
    #[serde(rename = "NOCAPTURE")]
    NoCapture,
}

/// The parts of a stored consent the decision needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredConsent {
    /// The consent hash stored with it.
    pub hash: String,
    /// Expiry in epoch seconds; `None`: never expires.
    pub expires_at: Option<i64>,
}

/// The `claims` part of the hashed document, from a transaction's requested claims.
pub fn consent_claims_document(
    userinfo: &BTreeMap<String, Vec<ClaimDetail>>,
    id_token: &BTreeMap<String, ClaimDetail>,
) -> Result<Value, EsignetError> {
    let to_value =
        |d: &ClaimDetail| serde_json::to_value(d).map_err(|_| EsignetError::InvalidClaim);
    let mut ui = Map::new();
    for (claim, details) in userinfo {
        let list = details
            .iter()
            .map(to_value)
            .collect::<Result<Vec<_>, _>>()?;
        ui.insert(claim.clone(), Value::Array(list));
    }
    let mut it = Map::new();
    for (claim, detail) in id_token {
        it.insert(claim.clone(), to_value(detail)?);
    }
    Ok(serde_json::json!({ "userinfo": ui, "id_token": it }))
}

/// Sorts every array made only of strings, recursively (key order is handled when writing).
fn sort_string_lists(v: &mut Value) {
    match v {
        Value::Array(items) => {
            items.iter_mut().for_each(sort_string_lists);
            if items.iter().all(Value::is_string) {
                items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            }
        }
        Value::Object(map) => map.values_mut().for_each(sort_string_lists),
        _ => {}
    }
}

/// The canonical text that is hashed (see the module docs). `claims` is `{userinfo, id_token}`; either member
/// may be missing or `null`.
pub fn consent_canonical_text(
    claims: &Value,
    authorize_scopes: &[String],
) -> Result<String, EsignetError> {
    let member = |key: &str| match claims.get(key) {
        Some(Value::Object(m)) => Value::Object(m.clone()),
        _ => Value::Object(Map::new()),
    };
    let mut userinfo = member("userinfo");
    if let Value::Object(m) = &mut userinfo {
        m.values_mut()
            .filter(|d| d.is_null())
            .for_each(|d| *d = Value::Array(Vec::new()));
    }
    let mut id_token = member("id_token");
    if let Value::Object(m) = &mut id_token {
        m.values_mut()
            .filter(|d| d.is_null())
            .for_each(|d| *d = Value::Object(Map::new()));
    }
    let scopes: Map<String, Value> = authorize_scopes
        .iter()
        .map(|s| (s.clone(), Value::Bool(false)))
        .collect();
    let mut doc = serde_json::json!({
        "claims": { "userinfo": userinfo, "id_token": id_token },
        "authorizeScopes": scopes,
    });
    sort_string_lists(&mut doc);
    let mut out = String::new();
    write_value(&mut out, &doc, KeyOrder::CaseInsensitive)
        .map_err(|_| EsignetError::InvalidClaim)?;
    Ok(out)
}

/// base64url(SHA3-256(canonical text)).
pub fn consent_hash(claims: &Value, authorize_scopes: &[String]) -> Result<String, EsignetError> {
    Ok(sha3_256_b64url(
        consent_canonical_text(claims, authorize_scopes)?.as_bytes(),
    ))
}

/// The CAPTURE/NOCAPTURE decision. See the module docs.
pub fn consent_action(
    nothing_requested: bool,
    prompt_consent: bool,
    stored: Option<&StoredConsent>,
    current_hash: &str,
    now: i64,
) -> ConsentAction {
    if nothing_requested {
        return ConsentAction::NoCapture;
    }
    match stored {
        _ if prompt_consent => ConsentAction::Capture,
        None => ConsentAction::Capture,
        Some(c) if c.expires_at.is_some_and(|e| e <= now) => ConsentAction::Capture,
        Some(c) if c.hash != current_hash => ConsentAction::Capture,
        Some(_) => ConsentAction::NoCapture,
    }
}

/// When a consent given now expires (`consent_expire_in_mins` of the client; `None`: never).
pub fn consent_expires_at(now: i64, consent_expire_in_mins: Option<u64>) -> Option<i64> {
    consent_expire_in_mins
        .map(|m| now.saturating_add(i64::try_from(m).unwrap_or(i64::MAX / 60).saturating_mul(60)))
}

/// `invalid_accepted_claim` unless `accepted` contains every essential claim and nothing not requested.
pub fn validate_accepted_claims(
    essential: &[String],
    voluntary: &[String],
    accepted: &[String],
) -> Result<(), EsignetError> {
    let all_essential = essential.iter().all(|e| accepted.contains(e));
    let all_requested = accepted
        .iter()
        .all(|a| essential.contains(a) || voluntary.contains(a));
    if all_essential && all_requested {
        Ok(())
    } else {
        Err(EsignetError::InvalidAcceptedClaim)
    }
}

/// `invalid_permitted_scope` unless `permitted` ⊆ requested authorize ∪ credential scopes. Returns the
/// permitted scopes, deduplicated, with the requested credential scopes added when `auto_permit_credential`.
pub fn validate_permitted_scopes(
    requested_authorize: &[String],
    requested_credential: &[String],
    permitted: &[String],
    auto_permit_credential: bool,
) -> Result<Vec<String>, EsignetError> {
    let mut out: Vec<String> = Vec::new();
    for p in permitted {
        if !requested_authorize.contains(p) && !requested_credential.contains(p) {
            return Err(EsignetError::InvalidPermittedScope);
        }
        if !out.contains(p) {
            out.push(p.clone());
        }
    }
    if auto_permit_credential {
        for c in requested_credential {
            if !out.contains(c) {
                out.push(c.clone());
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn s(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn canonical_text_sorts_and_fills_nulls() {
        let claims = json!({
            "userinfo": {"phone_number": null, "Email": [{"essential": true, "values": ["b", "A", "a"]}], "name": []},
            "id_token": {"acr": {"essential": true, "values": ["z", "y"]}, "auth_time": null}
        });
        let text = consent_canonical_text(&claims, &s(&["Manage-VID", "address"])).unwrap();
        assert_eq!(
            text,
            r#"{"authorizeScopes":{"address":false,"Manage-VID":false},"claims":{"id_token":{"acr":{"essential":true,"values":["y","z"]},"auth_time":{}},"userinfo":{"Email":[{"essential":true,"values":["A","a","b"]}],"name":[],"phone_number":[]}}}"#
        );
        let empty = consent_canonical_text(&json!({"userinfo": null}), &[]).unwrap();
        assert_eq!(
            empty,
            r#"{"authorizeScopes":{},"claims":{"id_token":{},"userinfo":{}}}"#
        );
    }

    #[test]
    fn hash_is_order_independent_and_sensitive_to_content() {
        let a = json!({"userinfo": {"name": [], "email": []}, "id_token": {}});
        let b = json!({"id_token": {}, "userinfo": {"email": [], "name": []}});
        let h = consent_hash(&a, &s(&["x", "y"])).unwrap();
        assert_eq!(h, consent_hash(&b, &s(&["y", "x"])).unwrap());
        assert_eq!(h.len(), 43);
        assert_ne!(h, consent_hash(&a, &s(&["x"])).unwrap());
        let essential = json!({"userinfo": {"name": [{"essential": true}], "email": []}});
        assert_ne!(h, consent_hash(&essential, &s(&["x", "y"])).unwrap());
        // SHA3-256 of the canonical text, base64url.
        let text = consent_canonical_text(&a, &s(&["x", "y"])).unwrap();
        assert_eq!(h, sha3_256_b64url(text.as_bytes()));
    }

    #[test]
    fn document_from_transaction_claims() {
        let mut ui = BTreeMap::new();
        ui.insert("email".to_owned(), vec![]);
        ui.insert(
            "name".to_owned(),
            vec![ClaimDetail {
                essential: true,
                ..ClaimDetail::default()
            }],
        );
        let doc = consent_claims_document(&ui, &BTreeMap::new()).unwrap();
        assert_eq!(
            doc,
            json!({"userinfo": {"email": [], "name": [{"essential": true}]}, "id_token": {}})
        );
    }

    #[test]
    fn decision() {
        let now = 1_000;
        let stored = StoredConsent {
            hash: "h".into(),
            expires_at: Some(2_000),
        };
        assert_eq!(
            consent_action(true, true, None, "h", now),
            ConsentAction::NoCapture
        );
        assert_eq!(
            consent_action(false, false, None, "h", now),
            ConsentAction::Capture
        );
        assert_eq!(
            consent_action(false, false, Some(&stored), "h", now),
            ConsentAction::NoCapture
        );
        assert_eq!(
            consent_action(false, true, Some(&stored), "h", now),
            ConsentAction::Capture
        );
        assert_eq!(
            consent_action(false, false, Some(&stored), "other", now),
            ConsentAction::Capture
        );
        assert_eq!(
            consent_action(false, false, Some(&stored), "h", 2_000),
            ConsentAction::Capture
        );
        let forever = StoredConsent {
            hash: "h".into(),
            expires_at: None,
        };
        assert_eq!(
            consent_action(false, false, Some(&forever), "h", i64::MAX),
            ConsentAction::NoCapture
        );
        assert_eq!(
            serde_json::to_string(&ConsentAction::NoCapture).unwrap(),
            "\"NOCAPTURE\""
        );
        assert_eq!(consent_expires_at(100, Some(10)), Some(700));
        assert_eq!(consent_expires_at(100, None), None);
    }

    #[test]
    fn accepted_claims_and_permitted_scopes() {
        let (e, v) = (s(&["name"]), s(&["email", "phone_number"]));
        assert_eq!(
            validate_accepted_claims(&e, &v, &s(&["name", "email"])),
            Ok(())
        );
        assert_eq!(
            validate_accepted_claims(&e, &v, &s(&["email"])),
            Err(EsignetError::InvalidAcceptedClaim)
        );
        assert_eq!(
            validate_accepted_claims(&e, &v, &s(&["name", "gender"])),
            Err(EsignetError::InvalidAcceptedClaim)
        );
        assert_eq!(validate_accepted_claims(&[], &[], &[]), Ok(()));
        let (a, c) = (s(&["Manage-VID"]), s(&["mosip_identity_vc_ldp"]));
        assert_eq!(
            validate_permitted_scopes(&a, &c, &s(&["Manage-VID"]), false).unwrap(),
            s(&["Manage-VID"])
        );
        assert_eq!(validate_permitted_scopes(&a, &c, &[], true).unwrap(), c);
        assert_eq!(
            validate_permitted_scopes(&a, &c, &s(&["Manage-Credentials"]), true),
            Err(EsignetError::InvalidPermittedScope)
        );
    }
}
