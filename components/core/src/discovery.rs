//! The provider's metadata documents (OpenID Connect Discovery 1.0 §3, RFC 8414 §2) and its JWK set.
//!
//! Modelled on eSignet's static discovery map (reference §3.14) but truthful to this implementation: only the
//! authorization-code flow with `query` responses, `private_key_jwt` client authentication, S256 PKCE, RS256
//! ID tokens, RS256 or ES256 userinfo (ours, or the identity system's own JWS; optionally encrypted with
//! RSA-OAEP-256/A256GCM), pairwise subjects, no request objects,
//! no PAR and no DPoP (neither is advertised because neither is served). Every URL derives from the issuer:
//! `<issuer>/authorize`, `<issuer>/oauth/v2/token`, `<issuer>/oidc/userinfo`, `<issuer>/oauth/.well-known/jwks.json`.
//! The JWK set is our keys followed by the identity system's KYC keys, de-duplicated by `kid`.

use serde_json::{json, Map, Value};

use crate::assertion::SUPPORTED_ALGS;
use crate::authorize::{ScopeConfig, DISPLAY_VALUES};
use crate::claims::AmrAcrMapping;

/// The algorithm of the ID tokens and userinfo JWS this provider signs (key purpose `oidc-service`). Access
/// tokens are ES256 (key purpose `oidc-access-token`); no discovery member describes them (RFC 9068).
pub const SIGNING_ALG: &str = "RS256";
/// Userinfo JWS algorithms: ours ([`SIGNING_ALG`]) and those an identity system's own KYC JWS may pass
/// through with (its keys are in our JWK set; the mock identity system signs ES256).
pub const USERINFO_SIGNING_ALGS: [&str; 2] = [SIGNING_ALG, "ES256"];
/// Userinfo JWE key management algorithm.
pub const USERINFO_ENC_ALG: &str = "RSA-OAEP-256";
/// Userinfo JWE content encryption.
pub const USERINFO_ENC_ENC: &str = "A256GCM";
/// Locales advertised for claims and UI.
pub const LOCALES: [&str; 3] = ["en", "fr", "ar"];
/// Claims an identity system may release (eSignet's list), plus `sub`.
pub const CLAIMS_SUPPORTED: [&str; 12] = [
    "sub",
    "name",
    "address",
    "gender",
    "birthdate",
    "picture",
    "email",
    "phone_number",
    "individual_id",
    "phone_number_verified",
    "registration_type",
    "updated_at",
];

/// The endpoint URLs, all derived from the issuer identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Issuer identifier (no trailing `/`).
    pub issuer: String,
    /// `<issuer>/authorize`.
    pub authorization: String,
    /// `<issuer>/oauth/v2/token`.
    pub token: String,
    /// `<issuer>/oauth/token` (deprecated v1 token endpoint).
    pub legacy_token: String,
    /// `<issuer>/oidc/userinfo`.
    pub userinfo: String,
    /// `<issuer>/oauth/.well-known/jwks.json`.
    pub jwks: String,
}

impl Endpoints {
    /// The URLs for `issuer` (a trailing `/` is dropped).
    pub fn from_issuer(issuer: &str) -> Self {
        let issuer = issuer.trim_end_matches('/').to_owned();
        Endpoints {
            authorization: format!("{issuer}/authorize"),
            token: format!("{issuer}/oauth/v2/token"),
            legacy_token: format!("{issuer}/oauth/token"),
            userinfo: format!("{issuer}/oidc/userinfo"),
            jwks: format!("{issuer}/oauth/.well-known/jwks.json"),
            issuer,
        }
    }

    /// The path part of the issuer (`/v1/esignet` for `http://host:8088/v1/esignet`; empty for a bare host).
    pub fn issuer_path(&self) -> &str {
        let after_scheme = self
            .issuer
            .split_once("://")
            .map_or(self.issuer.as_str(), |(_, rest)| rest);
        after_scheme.find('/').map_or("", |i| &after_scheme[i..])
    }

    /// The audiences a client assertion may name at a token endpoint: that endpoint's URL and the issuer
    /// (reference §3.9).
    pub fn assertion_audiences(&self, legacy: bool) -> Vec<String> {
        let endpoint = if legacy {
            &self.legacy_token
        } else {
            &self.token
        };
        vec![endpoint.clone(), self.issuer.clone()]
    }
}

fn strings(xs: &[&str]) -> Value {
    Value::Array(xs.iter().map(|s| Value::String((*s).to_owned())).collect())
}

/// The ACR values of the mapping, sorted.
pub fn acr_values(mapping: &AmrAcrMapping) -> Vec<String> {
    mapping.acr_amr.keys().cloned().collect()
}

/// Members shared by both documents.
fn common(e: &Endpoints, scopes: &ScopeConfig) -> Map<String, Value> {
    let doc = json!({
        "issuer": e.issuer,
        "authorization_endpoint": e.authorization,
        "token_endpoint": e.token,
        "jwks_uri": e.jwks,
        "scopes_supported": scopes.openid_scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": strings(&SUPPORTED_ALGS),
        "code_challenge_methods_supported": ["S256"],
        "ui_locales_supported": strings(&LOCALES),
        "authorization_response_iss_parameter_supported": true,
    });
    match doc {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The OpenID Provider Metadata (`/.well-known/openid-configuration`).
pub fn openid_configuration(e: &Endpoints, scopes: &ScopeConfig, acrs: &[String]) -> Value {
    let mut doc = common(e, scopes);
    let extra = json!({
        "userinfo_endpoint": e.userinfo,
        "subject_types_supported": ["pairwise"],
        "acr_values_supported": acrs,
        "id_token_signing_alg_values_supported": [SIGNING_ALG],
        "userinfo_signing_alg_values_supported": strings(&USERINFO_SIGNING_ALGS),
        "userinfo_encryption_alg_values_supported": [USERINFO_ENC_ALG],
        "userinfo_encryption_enc_values_supported": [USERINFO_ENC_ENC],
        "display_values_supported": strings(&DISPLAY_VALUES),
        "claim_types_supported": ["normal"],
        "claims_supported": strings(&CLAIMS_SUPPORTED),
        "claims_parameter_supported": true,
        "claims_locales_supported": strings(&LOCALES),
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "require_pushed_authorization_requests": false,
    });
    if let Value::Object(m) = extra {
        doc.extend(m);
    }
    Value::Object(doc)
}

/// The OAuth 2.0 Authorization Server Metadata (RFC 8414).
pub fn authorization_server_metadata(e: &Endpoints, scopes: &ScopeConfig) -> Value {
    Value::Object(common(e, scopes))
}

/// `{"keys": [...]}`: the keys of `own` (a JWK set) then `extra` JWKs, skipping any whose `kid` was already
/// listed, and anything that is not a JSON object.
pub fn merge_jwks(own: &Value, extra: &[Value]) -> Value {
    let mut seen: Vec<String> = Vec::new();
    let mut keys: Vec<Value> = Vec::new();
    let own_keys = own
        .get("keys")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for key in own_keys.into_iter().chain(extra.iter().cloned()) {
        if !key.is_object() {
            continue;
        }
        if let Some(kid) = key.get("kid").and_then(Value::as_str) {
            if seen.iter().any(|k| k == kid) {
                continue;
            }
            seen.push(kid.to_owned());
        }
        keys.push(key);
    }
    json!({ "keys": keys })
}

/// An identity system's signing key as a JWK: its JSON with `kid` set to `key_id` when it has none. `None`
/// when the JSON is not an object.
pub fn plugin_jwk(key_id: &str, jwk_json: &str) -> Option<Value> {
    let mut v: Value = serde_json::from_str(jwk_json).ok()?;
    let obj = v.as_object_mut()?;
    if !obj.contains_key("kid") && !key_id.is_empty() {
        obj.insert("kid".to_owned(), Value::String(key_id.to_owned()));
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISS: &str = "http://127.0.0.1:18082/v1/esignet";

    #[test]
    fn endpoints_derive_from_issuer() {
        let e = Endpoints::from_issuer(&format!("{ISS}/"));
        assert_eq!(e.issuer, ISS);
        assert_eq!(e.token, format!("{ISS}/oauth/v2/token"));
        assert_eq!(e.issuer_path(), "/v1/esignet");
        assert_eq!(Endpoints::from_issuer("https://op.test").issuer_path(), "");
        assert_eq!(
            e.assertion_audiences(true),
            vec![format!("{ISS}/oauth/token"), ISS.to_owned()]
        );
    }

    #[test]
    fn discovery_is_truthful() {
        let e = Endpoints::from_issuer(ISS);
        let acrs = acr_values(&AmrAcrMapping::default_mapping().unwrap());
        let d = openid_configuration(&e, &ScopeConfig::default(), &acrs);
        assert_eq!(d["issuer"], ISS);
        assert_eq!(d["userinfo_endpoint"], format!("{ISS}/oidc/userinfo"));
        assert_eq!(d["response_types_supported"], json!(["code"]));
        assert_eq!(
            d["scopes_supported"],
            json!(["openid", "profile", "email", "phone", "address"])
        );
        assert_eq!(
            d["token_endpoint_auth_signing_alg_values_supported"],
            json!(["RS256", "PS256", "ES256"])
        );
        assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(d["id_token_signing_alg_values_supported"], json!(["RS256"]));
        assert_eq!(
            d["userinfo_signing_alg_values_supported"],
            json!(["RS256", "ES256"])
        );
        assert_eq!(d["request_parameter_supported"], json!(false));
        assert!(d["acr_values_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("mosip:idp:acr:generated-code")));
        assert!(d.get("pushed_authorization_request_endpoint").is_none());
        assert!(d.get("dpop_signing_alg_values_supported").is_none());
        let m = authorization_server_metadata(&e, &ScopeConfig::default());
        assert_eq!(m["token_endpoint"], d["token_endpoint"]);
        assert!(m.get("userinfo_endpoint").is_none());
    }

    #[test]
    fn jwks_merge_dedupes_by_kid() {
        let own = json!({"keys": [{"kid": "a", "kty": "RSA"}, {"kid": "b", "kty": "RSA"}]});
        let extra = vec![
            json!({"kid": "b", "kty": "EC"}),
            json!({"kid": "c"}),
            json!("junk"),
        ];
        let merged = merge_jwks(&own, &extra);
        let kids: Vec<&str> = merged["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap())
            .collect();
        assert_eq!(kids, ["a", "b", "c"]);
        assert_eq!(merged["keys"][1]["kty"], "RSA");
        assert_eq!(merge_jwks(&json!({}), &[])["keys"], json!([]));
        assert_eq!(plugin_jwk("k1", r#"{"kty":"RSA"}"#).unwrap()["kid"], "k1");
        assert_eq!(plugin_jwk("k1", r#"{"kid":"own"}"#).unwrap()["kid"], "own");
        assert!(plugin_jwk("k1", "[]").is_none());
    }
}
