//! `POST /authorization/auth-code` and `GET /authorization/claim-details` (reference §2.2, §3.6), both on a
//! transaction in the `authenticated` stage.
//!
//! auth-code: wrapper; `transactionId` (`invalid_transaction_id`) must be the headers' transaction. With
//! consent CAPTURE the accepted claims must hold every essential claim and only requested ones
//! (`invalid_accepted_claim`) and the permitted scopes must be requested ones (`invalid_permitted_scope`;
//! requested credential scopes are permitted automatically); the consent row is then replaced. With NOCAPTURE
//! the accepted claims and scopes stored at authenticate are kept (and with nothing requested an old consent is
//! removed). The transaction is taken from `authenticated` (single use: a second call gets
//! `invalid_transaction`), a fresh code is drawn and the transaction stored as `code:<SHA-256 of the code>` for
//! the token endpoint. Answer `{code, redirectUri, state, nonce}`.
//!
//! claim-details: counted (`rate:claim-details:<txn>`, `claim_details_attempts`, no blocking) and answered
//! `{transactionId, consentAction, profileUpdateRequired: false, claimStatus[{claim, verified: false,
//! available: true}]}` for every requested claim (claims metadata is not evaluated).

use esignet_core::consent::{validate_accepted_claims, validate_permitted_scopes, ConsentAction};
use esignet_core::random::OsRandom;
use esignet_core::transaction::{new_auth_code, OidcTransaction};
use esignet_core::EsignetError;
use esignet_sdk::Request;
use serde::{Deserialize, Serialize};

use crate::consent;
use crate::prelude::{
    blank, bound_transaction, fields_ok, parse_body, require_json, same_transaction,
};
use crate::reply::{success_value, Failure, Outcome};
use crate::settings::Settings;
use crate::store::{audit_event, count_attempt, put_code, take_transaction, Stage};

/// The auth-code `request` member.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthCodeBody {
    transaction_id: Option<String>,
    accepted_claims: Option<Vec<String>>,
    permitted_authorize_scopes: Option<Vec<String>>,
}

/// The auth-code `response` member.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuthCodeResponse<'a> {
    code: &'a str,
    redirect_uri: &'a str,
    state: Option<&'a str>,
    nonce: Option<&'a str>,
}

/// The claim-details `response` member.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClaimDetailsResponse<'a> {
    transaction_id: &'a str,
    consent_action: Option<ConsentAction>,
    profile_update_required: bool,
    claim_status: Vec<ClaimStatus<'a>>,
}

/// One entry of `claimStatus`.
#[derive(Serialize)]
struct ClaimStatus<'a> {
    claim: &'a str,
    verified: bool,
    available: bool,
}

/// Handles one auth-code call (CSRF already checked).
pub fn handle(req: &Request, settings: &Settings, now_ms: i64) -> Outcome {
    let txn = bound_transaction(req, Stage::Authenticated)?;
    let result = issue(req, settings, now_ms, txn.clone());
    audit_event(
        "GET_AUTH_CODE",
        Some(&txn),
        None,
        result.as_ref().err().map(Failure::code).as_deref(),
    );
    result
}

fn issue(req: &Request, settings: &Settings, now_ms: i64, txn: OidcTransaction) -> Outcome {
    require_json(req)?;
    let body: AuthCodeBody = parse_body(req, settings, now_ms)?;
    fields_ok(&[(
        blank(&body.transaction_id),
        "transactionId",
        EsignetError::InvalidTransactionId,
    )])?;
    same_transaction(body.transaction_id.as_deref().unwrap_or(""), &txn)?;
    let accepted = body.accepted_claims.unwrap_or_default();
    let permitted = body.permitted_authorize_scopes.unwrap_or_default();
    let capture = txn.consent_action != Some(ConsentAction::NoCapture);
    let (accepted, permitted) = if capture {
        validate_accepted_claims(&txn.essential_claims, &txn.voluntary_claims, &accepted)?;
        let scopes = &txn.requested_authorize_scopes;
        (
            dedup(accepted),
            validate_permitted_scopes(scopes, &txn.requested_credential_scopes, &permitted, true)?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    // Single use from here on: of concurrent calls exactly one takes the transaction.
    let mut txn = take_transaction(Stage::Authenticated, txn.transaction_id.as_str())?;
    let psut = txn
        .psut
        .clone()
        .ok_or(Failure::Code(EsignetError::InvalidTransaction))?;
    let now = now_ms.div_euclid(1000);
    if capture {
        txn.accepted_claims = accepted;
        txn.permitted_scopes = permitted;
        if !consent::nothing_requested(&txn) {
            consent::save(&txn, &psut, now)?;
        }
    } else if consent::nothing_requested(&txn) {
        consent::delete(txn.client_id.as_str(), &psut)?;
    }
    let code = new_auth_code(&mut OsRandom)?;
    let code_hash = code.hash();
    txn.code_hash = Some(code_hash.clone());
    put_code(code_hash.as_str(), &txn, settings.code_ttl_ms)?;
    let response = AuthCodeResponse {
        code: code.as_str(),
        redirect_uri: &txn.redirect_uri,
        state: txn.state.as_deref(),
        nonce: txn.nonce.as_deref(),
    };
    Ok(success_value(&response, now_ms))
}

/// `GET /authorization/claim-details` (CSRF already checked).
pub fn claim_details(req: &Request, settings: &Settings, now_ms: i64) -> Outcome {
    let txn = bound_transaction(req, Stage::Authenticated)?;
    let result = count_attempt(
        "claim-details",
        txn.transaction_id.as_str(),
        settings.claim_details_attempts,
        None,
    );
    audit_event(
        "CLAIM_DETAILS",
        Some(&txn),
        None,
        result.as_ref().err().map(Failure::code).as_deref(),
    );
    result?;
    Ok(success_value(&claim_status(&txn), now_ms))
}

/// The claim-details answer for a transaction.
fn claim_status(txn: &OidcTransaction) -> ClaimDetailsResponse<'_> {
    let claim_status = txn
        .essential_claims
        .iter()
        .chain(&txn.voluntary_claims)
        .map(|claim| ClaimStatus {
            claim,
            verified: false,
            available: true,
        })
        .collect();
    ClaimDetailsResponse {
        transaction_id: txn.transaction_id.as_str(),
        consent_action: txn.consent_action,
        profile_update_required: false,
        claim_status,
    }
}

/// The list without repeats, first occurrence kept.
fn dedup(list: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for item in list {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::transaction;

    #[test]
    fn claim_status_lists_every_requested_claim() {
        let mut t = transaction("scope=openid%20profile");
        t.consent_action = Some(ConsentAction::Capture);
        let v = serde_json::to_value(claim_status(&t)).unwrap();
        assert_eq!(v["consentAction"], "CAPTURE");
        assert_eq!(v["profileUpdateRequired"], false);
        assert_eq!(v["claimStatus"].as_array().map(Vec::len), Some(3));
        assert_eq!(
            v["claimStatus"][0],
            serde_json::json!({"claim": "name", "verified": false, "available": true})
        );
        let text = serde_json::to_string(&claim_status(&t)).unwrap();
        assert!(
            text.starts_with(r#"{"transactionId":"txn-1234567890","consentAction":"CAPTURE","#),
            "{text}"
        );
    }

    #[test]
    fn dedup_keeps_order() {
        let s = |xs: &[&str]| xs.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(dedup(s(&["b", "a", "b"])), s(&["b", "a"]));
    }

    #[test]
    fn body_lists_are_optional() {
        let b: AuthCodeBody = serde_json::from_str(r#"{"transactionId":"t"}"#).unwrap();
        assert!(b.accepted_claims.is_none() && b.permitted_authorize_scopes.is_none());
        assert!(serde_json::from_str::<AuthCodeBody>(r#"{"acceptedClaims":"name"}"#).is_err());
    }
}
