//! Test endpoint bound to an authenticator plugin: `GET .../kyc-auth?id=X&pin=Y` calls the plugin's `kyc-auth`
//! with one PIN challenge and answers its result as JSON, or 400 `{"error": code}` with the plugin's error code.

use esignet_sdk::authenticator::{self, AuthChallenge, KycAuthRequest};
use esignet_sdk::{Endpoint, Request, Response};
use serde_json::json;

struct Caller;

impl Endpoint for Caller {
    fn handle(req: Request) -> Response {
        if !req.path.ends_with("/kyc-auth") {
            return Response::not_found();
        }
        let request = KycAuthRequest {
            transaction_id: "txn-caller".into(),
            individual_id: req.query_param("id").unwrap_or_default(),
            challenges: vec![AuthChallenge {
                auth_factor_type: "PIN".into(),
                challenge: req.query_param("pin").unwrap_or_default(),
                format: "alpha-numeric".into(),
            }],
            claims_metadata_required: false,
        };
        match authenticator::kyc_auth("test-rp", "test-client", &request) {
            Ok(result) => Response::json(&json!({
                "kyc_token": result.kyc_token,
                "partner_specific_user_token": result.partner_specific_user_token,
                "claims_metadata": result.claims_metadata,
            })),
            Err(e) => Response::error(400, &e.error_code),
        }
    }
}

esignet_sdk::export_endpoint!(Caller);
