//! `POST /authorization/authenticate` (v1, deprecated), `/v2/authenticate` (deprecated) and
//! `/v3/authenticate` (reference §2.2, §3.4–§3.6, §1.5): checks the user's challenges with the identity system
//! and moves the transaction from `preauth` to `authenticated`.
//!
//! Order: wrapper; fields (`transactionId` → `invalid_transaction_id`, `individualId` → `invalid_identifier`,
//! `challengeList` of 1–5 → `invalid_no_of_challenges`); the body's transaction must be the headers' one;
//! blocked id → `individual_id_blocked`; the attempt is counted (`rate:authenticate:<txn>`, shared by all
//! versions; past `authenticate_attempts` → `no_attempts_left` and the id is blocked); challenge format checks
//! (`esignet_core::challenge`); the factors must satisfy one factor group of the resolved ACRs
//! (`auth_factor_mismatch`); then the plugin's `kyc-auth`. A plugin error passes its code through and leaves the
//! transaction in `preauth` (the attempt stays counted). Every failed `kyc-auth` is also counted per individual id
//! across transactions (`authfail:<hash>`, window `block_secs`); past `authenticate_failures_per_id` the id is
//! blocked for `block_secs` (the failing call still answers its own error, the next ones
//! `individual_id_blocked`). A success does not reset that counter: it expires with its window. On success the KYC token, PSUT, auth time, individual
//! id (and its hash) and the factor types used are stored, consent is evaluated (`consentAction`), and the
//! transaction is taken from `preauth` (atomically: a concurrent duplicate gets `invalid_transaction`) and put
//! in `authenticated`. v2/v3 answer `{transactionId, consentAction}`, v1 `{transactionId}`.

use esignet_core::challenge::{
    provided_types, validate_challenges, AuthChallenge, ChallengeRules, MAX_CHALLENGES,
};
use esignet_core::claims::auth_factors_satisfied;
use esignet_core::consent::ConsentAction;
use esignet_core::hashing::individual_id_hash;
use esignet_core::ids::Secret;
use esignet_core::transaction::OidcTransaction;
use esignet_core::EsignetError;
use esignet_sdk::authenticator::{self, KycAuthRequest};
use esignet_sdk::Request;
use serde::{Deserialize, Serialize};

use crate::consent;
use crate::prelude::{
    blank, bound_transaction, fields_ok, parse_body, require_json, same_transaction,
};
use crate::reply::{success_value, Failure, Outcome};
use crate::send_otp::plugin_failure;
use crate::settings::Settings;
use crate::store::{
    audit_event, count_attempt, count_auth_failure, ensure_not_blocked, put_transaction,
    take_transaction, Stage,
};

/// Which authenticate endpoint was called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `/authorization/authenticate`: answers `{transactionId}`.
    V1,
    /// `/authorization/v2/authenticate` and `/v3/authenticate`: answer `{transactionId, consentAction}`.
    V2OrV3,
}

/// The authenticate `request` member (no `Debug`: it holds secrets).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthenticateBody {
    transaction_id: Option<String>,
    individual_id: Option<String>,
    challenge_list: Option<Vec<ChallengeBody>>,
    #[allow(dead_code)]
    captcha_token: Option<String>,
}

/// One challenge as sent; missing members read as blank so the format checks name them.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChallengeBody {
    auth_factor_type: Option<String>,
    challenge: Option<String>,
    format: Option<String>,
}

impl ChallengeBody {
    fn into_challenge(self) -> AuthChallenge {
        AuthChallenge {
            auth_factor_type: self.auth_factor_type.unwrap_or_default(),
            challenge: self.challenge.unwrap_or_default(),
            format: self.format.unwrap_or_default(),
        }
    }
}

/// The authenticate `response` member (v1 has no `consentAction`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuthenticateResponse<'a> {
    transaction_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    consent_action: Option<ConsentAction>,
}

/// Handles one authenticate call (CSRF already checked).
pub fn handle(req: &Request, settings: &Settings, now_ms: i64, version: Version) -> Outcome {
    let txn = bound_transaction(req, Stage::Preauth)?;
    let result = authenticate(req, settings, now_ms, txn.clone());
    audit_event(
        "AUTHENTICATE",
        Some(&txn),
        None,
        result.as_ref().err().map(Failure::code).as_deref(),
    );
    let txn = result?;
    let response = AuthenticateResponse {
        transaction_id: txn.transaction_id.as_str(),
        consent_action: match version {
            Version::V1 => None,
            Version::V2OrV3 => txn.consent_action,
        },
    };
    Ok(success_value(&response, now_ms))
}

fn authenticate(
    req: &Request,
    settings: &Settings,
    now_ms: i64,
    mut txn: OidcTransaction,
) -> Result<OidcTransaction, Failure> {
    require_json(req)?;
    let body: AuthenticateBody = parse_body(req, settings, now_ms)?;
    let count = body.challenge_list.as_ref().map_or(0, Vec::len);
    fields_ok(&[
        (
            blank(&body.transaction_id),
            "transactionId",
            EsignetError::InvalidTransactionId,
        ),
        (
            blank(&body.individual_id),
            "individualId",
            EsignetError::InvalidIdentifier,
        ),
        (
            count == 0 || count > MAX_CHALLENGES,
            "challengeList",
            EsignetError::InvalidNoOfChallenges,
        ),
    ])?;
    same_transaction(body.transaction_id.as_deref().unwrap_or(""), &txn)?;
    let individual_id = body.individual_id.unwrap_or_default();
    let id_hash = individual_id_hash(&individual_id);
    ensure_not_blocked(&id_hash)?;
    count_attempt(
        "authenticate",
        txn.transaction_id.as_str(),
        settings.authenticate_attempts,
        Some((&id_hash, settings.block_ms)),
    )?;
    let challenges: Vec<AuthChallenge> = body
        .challenge_list
        .unwrap_or_default()
        .into_iter()
        .map(ChallengeBody::into_challenge)
        .collect();
    validate_challenges(&challenges, &ChallengeRules::default())?;
    let used = provided_types(&challenges);
    auth_factors_satisfied(&txn.auth_factors, &used)?;

    let request = KycAuthRequest {
        transaction_id: txn.auth_transaction_id.as_str().to_owned(),
        individual_id: individual_id.clone(),
        challenges: challenges
            .into_iter()
            .map(|c| authenticator::AuthChallenge {
                auth_factor_type: c.auth_factor_type,
                challenge: c.challenge,
                format: c.format,
            })
            .collect(),
        claims_metadata_required: claims_metadata_required(&txn),
    };
    let result =
        match authenticator::kyc_auth(&txn.relying_party_id, txn.client_id.as_str(), &request) {
            Ok(r) if !r.kyc_token.is_empty() && !r.partner_specific_user_token.is_empty() => r,
            failed => {
                count_auth_failure(
                    &id_hash,
                    settings.authenticate_failures_per_id,
                    settings.block_ms,
                )?;
                return Err(match failed {
                    Err(e) => plugin_failure(e.error_code, EsignetError::AuthFailed),
                    Ok(_) => Failure::Code(EsignetError::AuthFailed),
                });
            }
        };
    let psut = result.partner_specific_user_token;
    txn.mark_authenticated(
        Secret::new(result.kyc_token),
        psut.clone(),
        id_hash,
        used,
        now_ms.div_euclid(1000),
    );
    txn.individual_id = Some(Secret::new(individual_id));
    let stored = if consent::nothing_requested(&txn) {
        None
    } else {
        consent::load(txn.client_id.as_str(), &psut)?
    };
    consent::decide(&mut txn, stored.as_ref(), now_ms.div_euclid(1000))?;

    // The atomic take guards against a concurrent duplicate; if the authenticated stage cannot be written, the
    // transaction goes back to `preauth` (with a fresh preauth lifetime) so a failed write never loses it.
    let original = take_transaction(Stage::Preauth, txn.transaction_id.as_str())?;
    if let Err(failure) = put_transaction(Stage::Authenticated, &txn, settings.authenticated_ttl_ms)
    {
        let _ = put_transaction(Stage::Preauth, &original, settings.preauth_ttl_ms);
        return Err(failure);
    }
    Ok(txn)
}

/// The identity system is asked for claims metadata when some requested claim carries a verification filter.
fn claims_metadata_required(txn: &OidcTransaction) -> bool {
    txn.requested_claim_details
        .values()
        .flatten()
        .any(|d| d.verification.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::transaction;

    #[test]
    fn missing_challenge_members_read_blank() {
        let body: AuthenticateBody = serde_json::from_str(
            r#"{"transactionId":"t","individualId":"i","challengeList":[{"authFactorType":"OTP"}]}"#,
        )
        .unwrap();
        let c = body
            .challenge_list
            .unwrap()
            .into_iter()
            .next()
            .unwrap()
            .into_challenge();
        assert_eq!(
            (
                c.auth_factor_type.as_str(),
                c.challenge.as_str(),
                c.format.as_str()
            ),
            ("OTP", "", "")
        );
        assert_eq!(
            validate_challenges(&[c], &ChallengeRules::default()),
            Err(EsignetError::InvalidChallengeFormat)
        );
    }

    #[test]
    fn metadata_only_for_verified_claims() {
        assert!(!claims_metadata_required(&transaction(
            "scope=openid%20profile"
        )));
        let verified = "scope=openid&claims=%7B%22userinfo%22%3A%7B%22verified_claims%22%3A%7B%22verification%22%3A%7B%22trust_framework%22%3Anull%7D%2C%22claims%22%3A%7B%22name%22%3Anull%7D%7D%7D%7D";
        assert!(claims_metadata_required(&transaction(verified)));
    }

    #[test]
    fn factor_groups_of_the_transaction_decide() {
        let t = transaction("scope=openid&acr_values=mosip:idp:acr:static-code");
        assert_eq!(
            auth_factors_satisfied(&t.auth_factors, &["PIN".to_owned()]),
            Ok(())
        );
        assert_eq!(
            auth_factors_satisfied(&t.auth_factors, &["OTP".to_owned()]),
            Err(EsignetError::AuthFactorMismatch)
        );
    }
}
