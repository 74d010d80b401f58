//! Test credential-data plugin for the host's and the black-box tests. Its claims come from a source of its own
//! so a test can tell them from the identity system's: `given_name` "Ada", `family_name` "Registry",
//! `birthdate` "1815-12-10", `name` = the KYC `name` upper-cased (proves the KYC claims arrive), `email` =
//! `<subject>@registry.test` (proves the subject arrives), `locale` = the first claims locale (or `und`),
//! `registry_id` = a claim no configuration lists (must be dropped), and no `gender`.
//!
//! The KYC `given_name` picks a misbehaviour: `trap`, `loop` (past any CPU budget), `alloc` (1 GiB),
//! `garbage` (an answer that is not JSON), `array` (JSON, not an object), `denied`, `missing` (not-found),
//! `down` (unavailable), `not-bound` (a variant only the host may give), `reserved` (claim values using member
//! names the credential formats reserve: SD-JWT's `_sd` and `...`, JSON-LD's `@id`). Its HTTP handler answers
//! `credential-data plugin` on every route.

#[path = "../../misbehave.rs"]
mod faults;

use faults::{allocate, spin, trap};

use esignet_credential_data_sdk::credential_data::{DataError, DataRequest};
use esignet_credential_data_sdk::{CredentialData, Endpoint, Request, Response};
use serde_json::{json, Value};

struct TestCredentialData;

impl CredentialData for TestCredentialData {
    fn fetch(req: DataRequest) -> Result<String, DataError> {
        let kyc: Value = serde_json::from_str(&req.kyc_claims)
            .map_err(|_| DataError::Failed("kyc-claims is not JSON".into()))?;
        let given = kyc
            .get("given_name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match given {
            "trap" => trap(),
            "loop" => spin(),
            "alloc" => allocate_all(),
            "garbage" => return Ok("not json at all".into()),
            "array" => return Ok("[1, 2]".into()),
            "denied" => return Err(DataError::Denied("the registry refuses this holder".into())),
            "missing" => return Err(DataError::NotFound),
            "down" => return Err(DataError::Unavailable("registry offline".into())),
            "not-bound" => return Err(DataError::NotBound),
            "reserved" => {
                let digest = "A".repeat(43);
                return Ok(json!({
                    "given_name": "Ada",
                    "family_name": "Registry",
                    "name": {"@id": "did:example:other", "_sd": [digest]},
                    "address": [{"...": digest}],
                })
                .to_string());
            }
            _ => {}
        }
        let name = kyc
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_uppercase);
        let claims = json!({
            "given_name": "Ada",
            "family_name": "Registry",
            "name": name,
            "birthdate": "1815-12-10",
            "email": format!("{}@registry.test", req.subject),
            "locale": req.claims_locales.first().cloned().unwrap_or_else(|| "und".into()),
            "registry_id": format!("{}:{}", req.credential_configuration_id, req.format),
        });
        Ok(claims.to_string())
    }
}

impl Endpoint for TestCredentialData {
    fn handle(_req: Request) -> Response {
        Response::text("credential-data plugin")
    }
}

/// Commits 1 GiB (the memory cap stops it first), then traps should it ever get that far.
fn allocate_all() -> ! {
    allocate(1 << 30);
    trap()
}

esignet_credential_data_sdk::export_credential_data_plugin!(TestCredentialData);
