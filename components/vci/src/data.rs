//! Where a credential's claims come from.
//!
//! By default from the authenticator plugin's KYC exchange: `oidc` kept the released claims with the grant
//! (`vci-grant:<hash>`), keyed by the identity system's claim names (a configuration claim's `kyc_claim`).
//! When `spin.toml` binds a credential-data plugin to this component (`credential_data_plugin`), the host runs
//! it in its own sandbox and its answer is used instead: one JSON object keyed by the configuration's claim
//! names. The guest asks every time; the host answers `not-bound` when there is no binding, which selects the
//! default. The plugin gets the KYC claims too, so it may combine both sources.
//!
//! Plugin outcomes: `not-found` and `denied` → 400 `credential_request_denied`; `unavailable` (including a
//! plugin past its CPU budget) → 503 `temporarily_unavailable`; `failed` (a trap, its memory cap, an unusable
//! answer) → 500 `server_error`. The plugin's texts and the claims are never logged here (the host logs the
//! texts).
//!
//! From either source, a configured claim whose value uses a member name the format reserves (SD-JWT's `_sd`,
//! `_sd_alg`, `...`; JSON-LD's `@`-keywords) is refused with 500 `server_error`: signed, it would read differently
//! to a verifier than the data it came from.

use esignet_core::credential::config::{ClaimConfig, CredentialConfig};
use esignet_core::credential::CredentialGrant;
use esignet_sdk::audit::{self, Level};
use esignet_sdk::credential_data::{self, DataError, DataRequest};
use serde_json::{Map, Value};

use crate::reply::VciError;

/// Which source the claims came from, and so how a configuration claim finds its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The KYC exchange's claims, keyed by `kyc_claim` (default the claim name).
    Kyc,
    /// A credential-data plugin's claims, keyed by the configuration's claim names.
    Plugin,
}

impl Source {
    /// The key of `claim` in data from this source.
    pub fn key(self, claim: &ClaimConfig) -> &str {
        match self {
            Source::Kyc => claim.source(),
            Source::Plugin => &claim.name,
        }
    }

    /// The audit detail value (`claimsSource`).
    pub fn name(self) -> &'static str {
        match self {
            Source::Kyc => "kyc",
            Source::Plugin => "plugin",
        }
    }
}

/// The holder's data for one credential of `config` (id `config_id`).
pub fn holder_data(
    config_id: &str,
    config: &CredentialConfig,
    grant: &CredentialGrant,
) -> Result<(Source, Map<String, Value>), VciError> {
    let request = DataRequest {
        credential_configuration_id: config_id.to_owned(),
        format: config.format.clone(),
        claims: config.claims.iter().map(|c| c.name.clone()).collect(),
        subject: grant.sub.clone(),
        client_id: grant.client_id.clone(),
        transaction_id: grant.transaction_id.clone(),
        kyc_claims: Value::Object(grant.claims.clone()).to_string(),
        claims_locales: grant.claims_locales.clone(),
    };
    let (source, data) =
        interpret(credential_data::fetch(&request), &grant.claims).inspect_err(|e| match e {
            VciError::Fault => audit::log(Level::Error, "the credential-data plugin failed"),
            VciError::Unavailable => {
                audit::log(Level::Warn, "the credential-data source is unavailable")
            }
            _ => {}
        })?;
    let sd_jwt = config.is_sd_jwt();
    if config
        .claims
        .iter()
        .filter_map(|claim| data.get(source.key(claim)))
        .any(|value| uses_reserved_names(value, sd_jwt))
    {
        audit::log(
            Level::Error,
            "the holder's data uses member names the credential format reserves",
        );
        return Err(VciError::Fault);
    }
    Ok((source, data))
}

/// Whether an object member name inside a claim value would change how a verifier reads the credential:
/// in `dc+sd-jwt`, SD-JWT's `_sd`, `_sd_alg` and `...` (a verifier takes them for digests of disclosures, drops
/// the array elements they mark, or rejects the whole credential: RFC 9901 §7.1); in `jwt_vc_json`, JSON-LD
/// keywords (`@context`, `@id`, `@type`, ...: they redefine or re-identify the claim for a JSON-LD processor).
fn reserved_name(name: &str, sd_jwt: bool) -> bool {
    if sd_jwt {
        matches!(name, "_sd" | "_sd_alg" | "...")
    } else {
        name.starts_with('@')
    }
}

/// Whether `value` has a [`reserved_name`] as an object member name at any depth (the depth is bounded: the
/// value was parsed by `serde_json`, which refuses more than 128 levels).
fn uses_reserved_names(value: &Value, sd_jwt: bool) -> bool {
    match value {
        Value::Object(members) => members
            .iter()
            .any(|(k, v)| reserved_name(k, sd_jwt) || uses_reserved_names(v, sd_jwt)),
        Value::Array(items) => items.iter().any(|v| uses_reserved_names(v, sd_jwt)),
        _ => false,
    }
}

/// The outcome of a `fetch` (module docs).
fn interpret(
    answer: Result<String, DataError>,
    kyc: &Map<String, Value>,
) -> Result<(Source, Map<String, Value>), VciError> {
    match answer {
        Err(DataError::NotBound) => Ok((Source::Kyc, kyc.clone())),
        Ok(json) => match serde_json::from_str::<Value>(&json) {
            Ok(Value::Object(claims)) => Ok((Source::Plugin, claims)),
            _ => Err(VciError::Fault),
        },
        Err(DataError::NotFound) => Err(VciError::CredentialRequestDenied(
            "the data source holds no data for this credential",
        )),
        Err(DataError::Denied(_)) => Err(VciError::CredentialRequestDenied(
            "the data source refuses to release this credential's data",
        )),
        Err(DataError::Unavailable(_)) => Err(VciError::Unavailable),
        Err(DataError::Failed(_)) => Err(VciError::Fault),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use esignet_core::credential::CredentialConfigs;
    use serde_json::json;

    fn kyc() -> Map<String, Value> {
        let Value::Object(m) = json!({"given_name": "K"}) else {
            unreachable!()
        };
        m
    }

    #[test]
    fn not_bound_means_the_kyc_claims() {
        let (source, data) = interpret(Err(DataError::NotBound), &kyc()).unwrap();
        assert_eq!(
            (source, data["given_name"].as_str()),
            (Source::Kyc, Some("K"))
        );
    }

    #[test]
    fn a_plugin_answer_replaces_them() {
        let (source, data) = interpret(Ok(r#"{"given_name": "P"}"#.into()), &kyc()).unwrap();
        assert_eq!(
            (source, data["given_name"].as_str()),
            (Source::Plugin, Some("P"))
        );
    }

    #[test]
    fn plugin_errors_map_to_spec_errors() {
        let code = |answer| interpret(answer, &kyc()).unwrap_err().code();
        assert_eq!(code(Err(DataError::NotFound)), "credential_request_denied");
        assert_eq!(
            code(Err(DataError::Denied("x".into()))),
            "credential_request_denied"
        );
        assert_eq!(
            code(Err(DataError::Unavailable("x".into()))),
            "temporarily_unavailable"
        );
        assert_eq!(code(Err(DataError::Failed("x".into()))), "server_error");
        assert_eq!(code(Ok("[1]".into())), "server_error");
        assert_eq!(code(Ok("nope".into())), "server_error");
    }

    #[test]
    fn reserved_member_names_are_found_at_any_depth() {
        let sd = |v: Value| uses_reserved_names(&v, true);
        let vc = |v: Value| uses_reserved_names(&v, false);
        assert!(!sd(json!({"locality": "X", "lines": ["a", {"b": 1}]})));
        assert!(sd(json!({"_sd": ["AAAA"], "country": "X"})));
        assert!(sd(json!([{"...": "AAAA"}])));
        assert!(sd(json!({"a": [{"b": {"_sd_alg": "none"}}]})));
        assert!(
            !sd(json!({"@type": "PostalAddress"})),
            "JSON-LD keywords mean nothing in SD-JWT"
        );
        assert!(vc(json!({"@context": {"x": "https://e/"}, "@id": "did:e"})));
        assert!(vc(json!([{"a": {"@type": "E"}}])));
        assert!(
            !vc(json!({"_sd": ["AAAA"]})),
            "SD-JWT names mean nothing in a W3C JWT VC"
        );
        assert!(
            !sd(json!("_sd")) && !vc(json!("@id")),
            "only member names count, not values"
        );
    }

    #[test]
    fn keys_follow_the_source() {
        let configs = CredentialConfigs::embedded().unwrap();
        let claim = &configs.get("MosipIdentitySdJwt").unwrap().claims[0];
        assert_eq!(Source::Plugin.key(claim), claim.name);
        assert_eq!(Source::Kyc.key(claim), claim.source());
        assert_eq!(
            (Source::Kyc.name(), Source::Plugin.name()),
            ("kyc", "plugin")
        );
    }
}
