//! Test endpoint with the `credential-data` import: `GET .../fetch?given=X` calls `fetch` with KYC claims
//! `{"given_name": X, "name": "Ada Lovelace"}` and answers the plugin's claims as they came, or 400
//! `{"error": <variant>}` (`not-bound`, `not-found`, `denied`, `unavailable`, `failed`).

use esignet_sdk::credential_data::{self, DataError, DataRequest};
use esignet_sdk::{Endpoint, Request, Response};
use serde_json::json;

struct Caller;

impl Endpoint for Caller {
    fn handle(req: Request) -> Response {
        if !req.path.ends_with("/fetch") {
            return Response::not_found();
        }
        let given = req.query_param("given").unwrap_or_default();
        let request = DataRequest {
            credential_configuration_id: "TestConfig".into(),
            format: "dc+sd-jwt".into(),
            claims: vec!["given_name".into(), "name".into()],
            subject: "psut-1".into(),
            client_id: "test-client".into(),
            transaction_id: "txn-caller".into(),
            kyc_claims: json!({"given_name": given, "name": "Ada Lovelace"}).to_string(),
            claims_locales: vec!["fr".into()],
        };
        match credential_data::fetch(&request) {
            Ok(claims) => {
                let mut r = Response::new(200).with_header("content-type", "application/json");
                r.body = claims.into_bytes();
                r
            }
            Err(e) => Response::error(
                400,
                match e {
                    DataError::NotBound => "not-bound",
                    DataError::NotFound => "not-found",
                    DataError::Denied(_) => "denied",
                    DataError::Unavailable(_) => "unavailable",
                    DataError::Failed(_) => "failed",
                },
            ),
        }
    }
}

esignet_sdk::export_endpoint!(Caller);
