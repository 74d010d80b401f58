//! Test endpoint bound to an authenticator plugin that exposes each plugin call as a GET route, so a script can
//! drive send-otp → kyc-auth → kyc-exchange end to end with curl:
//!
//! - `.../channels` → the plugin's supported OTP channels;
//! - `.../send-otp?id=&txn=&channels=email,phone`;
//! - `.../kyc-auth?id=&txn=[&otp=][&pin=][&pwd=][&kbi=][&bio=]` — one challenge per factor given;
//! - `.../kyc-exchange?id=&txn=&token=[&claims=name,email][&locales=fr,ar][&type=JWS]`;
//! - `.../signing-keys`.
//!
//! `rp` and `client` default to `test-rp` and `test-client`. Results are JSON; a plugin error is 400
//! `{"error": code}`.

use esignet_sdk::authenticator::{self, AuthChallenge, KycAuthRequest, KycExchangeRequest, SendOtpRequest};
use esignet_sdk::{Endpoint, Request, Response};
use serde_json::json;

struct Flow;

fn param(req: &Request, name: &str) -> String {
    req.query_param(name).unwrap_or_default()
}

fn list(req: &Request, name: &str) -> Vec<String> {
    param(req, name).split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

fn ids(req: &Request) -> (String, String) {
    let rp = req.query_param("rp").unwrap_or_else(|| "test-rp".into());
    let client = req.query_param("client").unwrap_or_else(|| "test-client".into());
    (rp, client)
}

fn send_otp(req: &Request) -> Response {
    let (rp, client) = ids(req);
    let request =
        SendOtpRequest { transaction_id: param(req, "txn"), individual_id: param(req, "id"), otp_channels: list(req, "channels") };
    match authenticator::send_otp(&rp, &client, &request) {
        Ok(r) => Response::json(&json!({
            "transaction_id": r.transaction_id, "masked_email": r.masked_email, "masked_mobile": r.masked_mobile,
        })),
        Err(e) => Response::error(400, &e.error_code),
    }
}

fn kyc_auth(req: &Request) -> Response {
    let (rp, client) = ids(req);
    let factors = [("otp", "OTP", "alpha-numeric"), ("pin", "PIN", "number"), ("pwd", "PWD", "alpha-numeric"),
                   ("kbi", "KBI", "base64url-encoded-json"), ("bio", "BIO", "encoded-json")];
    let challenges = factors
        .iter()
        .filter_map(|(name, kind, format)| {
            req.query_param(name).map(|challenge| AuthChallenge {
                auth_factor_type: (*kind).into(),
                challenge,
                format: (*format).into(),
            })
        })
        .collect();
    let request = KycAuthRequest {
        transaction_id: param(req, "txn"),
        individual_id: param(req, "id"),
        challenges,
        claims_metadata_required: false,
    };
    match authenticator::kyc_auth(&rp, &client, &request) {
        Ok(r) => Response::json(&json!({
            "kyc_token": r.kyc_token, "partner_specific_user_token": r.partner_specific_user_token,
            "claims_metadata": r.claims_metadata,
        })),
        Err(e) => Response::error(400, &e.error_code),
    }
}

fn kyc_exchange(req: &Request) -> Response {
    let (rp, client) = ids(req);
    let request = KycExchangeRequest {
        transaction_id: param(req, "txn"),
        kyc_token: param(req, "token"),
        individual_id: param(req, "id"),
        accepted_claims: list(req, "claims"),
        claims_locales: list(req, "locales"),
        user_info_response_type: req.query_param("type").unwrap_or_else(|| "JWS".into()),
        accepted_claim_details: None,
    };
    match authenticator::kyc_exchange(&rp, &client, &request) {
        Ok(r) => Response::json(&json!({ "encrypted_kyc": r.encrypted_kyc })),
        Err(e) => Response::error(400, &e.error_code),
    }
}

fn signing_keys() -> Response {
    match authenticator::signing_keys() {
        Ok(keys) => {
            let keys: Vec<_> = keys
                .iter()
                .map(|k| json!({"key_id": k.key_id, "jwk": k.jwk, "issued_at": k.issued_at, "expires_at": k.expires_at}))
                .collect();
            Response::json(&json!({ "keys": keys }))
        }
        Err(e) => Response::error(400, &e.error_code),
    }
}

impl Endpoint for Flow {
    fn handle(req: Request) -> Response {
        let path = req.path.trim_end_matches('/');
        if path.ends_with("/channels") {
            Response::json(&authenticator::supported_otp_channels())
        } else if path.ends_with("/send-otp") {
            send_otp(&req)
        } else if path.ends_with("/kyc-auth") {
            kyc_auth(&req)
        } else if path.ends_with("/kyc-exchange") {
            kyc_exchange(&req)
        } else if path.ends_with("/signing-keys") {
            signing_keys()
        } else {
            Response::not_found()
        }
    }
}

esignet_sdk::export_endpoint!(Flow);
