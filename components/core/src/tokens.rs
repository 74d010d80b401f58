//! Claims of the tokens this OP issues (reference §3.8, §3.10) and the token-endpoint answer. Signing is the
//! host's `keys` capability; this module only decides what goes in.
//!
//! - ID token: `iss, sub (PSUT), aud (client_id), iat, exp, auth_time, nonce` (only when one was sent), `acr`
//!   (the satisfied ACRs, space-joined; left out when none), `at_hash`.
//! - Access token: `iss, sub, aud (client_id), iat, exp, client_id, scope` (space-joined permitted scopes, left
//!   out when none), `jti`, and `cnf.jkt` when DPoP-bound.
//! - `at_hash`: base64url of the left-most half of the hash matching the signing algorithm (SHA-256 for
//!   RS256/PS256/ES256, SHA-384 for *384, SHA-512 for *512); any other algorithm is `invalid_algorithm`.
//! - Lifetimes are capped at the consent expiry when that comes first ([`capped_lifetime`]).
//! - Userinfo: `iss`, `aud` (= client_id, never the partner id: ES-11) and `sub` override any claim of the same
//!   name from the identity system.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::error::EsignetError;
use crate::hashing::b64url;

/// `token_type` for plain bearer tokens.
pub const TOKEN_TYPE_BEARER: &str = "Bearer";
/// `token_type` for DPoP-bound tokens.
pub const TOKEN_TYPE_DPOP: &str = "DPoP";

/// ID token claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    /// Issuer.
    pub iss: String,
    /// Subject (PSUT).
    pub sub: String,
    /// Audience (client id).
    pub aud: String,
    /// Issued at.
    pub iat: i64,
    /// Expiry.
    pub exp: i64,
    /// Authentication time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    /// Nonce, only when the request had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Satisfied ACRs, space-joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// Access-token hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
}

/// DPoP confirmation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    /// JWK SHA-256 thumbprint.
    pub jkt: String,
}

/// Access token claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    /// Issuer.
    pub iss: String,
    /// Subject (PSUT).
    pub sub: String,
    /// Audience (client id).
    pub aud: String,
    /// Issued at.
    pub iat: i64,
    /// Expiry.
    pub exp: i64,
    /// Client id.
    pub client_id: String,
    /// Permitted scopes, space-joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Token id.
    pub jti: String,
    /// DPoP binding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// What an ID token is made from.
#[derive(Debug, Clone, Copy)]
pub struct IdTokenInput<'a> {
    /// Issuer identifier.
    pub issuer: &'a str,
    /// PSUT.
    pub subject: &'a str,
    /// Client id.
    pub client_id: &'a str,
    /// Now, epoch seconds.
    pub now: i64,
    /// Lifetime in seconds (already capped).
    pub lifetime_secs: i64,
    /// Authentication time.
    pub auth_time: Option<i64>,
    /// Request nonce.
    pub nonce: Option<&'a str>,
    /// ACRs satisfied by the factors used.
    pub satisfied_acrs: &'a [String],
    /// The access token issued alongside, and the ID token's signing algorithm, for `at_hash`.
    pub access_token: Option<(&'a str, &'a str)>,
}

/// Builds ID token claims. `invalid_algorithm` if `at_hash` cannot be computed for the algorithm.
pub fn id_token_claims(input: &IdTokenInput<'_>) -> Result<IdTokenClaims, EsignetError> {
    let at_hash = match input.access_token {
        Some((token, alg)) => Some(at_hash(token, alg)?),
        None => None,
    };
    Ok(IdTokenClaims {
        iss: input.issuer.to_owned(),
        sub: input.subject.to_owned(),
        aud: input.client_id.to_owned(),
        iat: input.now,
        exp: input.now.saturating_add(input.lifetime_secs),
        auth_time: input.auth_time,
        nonce: input.nonce.filter(|n| !n.is_empty()).map(str::to_owned),
        acr: (!input.satisfied_acrs.is_empty()).then(|| input.satisfied_acrs.join(" ")),
        at_hash,
    })
}

/// Builds access token claims.
#[allow(clippy::too_many_arguments)]
pub fn access_token_claims(
    issuer: &str,
    subject: &str,
    client_id: &str,
    permitted_scopes: &[String],
    now: i64,
    lifetime_secs: i64,
    jti: String,
    dpop_jkt: Option<&str>,
) -> AccessTokenClaims {
    AccessTokenClaims {
        iss: issuer.to_owned(),
        sub: subject.to_owned(),
        aud: client_id.to_owned(),
        iat: now,
        exp: now.saturating_add(lifetime_secs),
        client_id: client_id.to_owned(),
        scope: (!permitted_scopes.is_empty()).then(|| permitted_scopes.join(" ")),
        jti,
        cnf: dpop_jkt.map(|j| Confirmation { jkt: j.to_owned() }),
    }
}

/// `at_hash` (OIDC Core §3.1.3.6): base64url of the left half of the algorithm's hash of the token.
pub fn at_hash(access_token: &str, alg: &str) -> Result<String, EsignetError> {
    let t = access_token.as_bytes();
    let digest: Vec<u8> = match alg {
        "RS256" | "PS256" | "ES256" => Sha256::digest(t).to_vec(),
        "RS384" | "PS384" | "ES384" => Sha384::digest(t).to_vec(),
        "RS512" | "PS512" | "ES512" => Sha512::digest(t).to_vec(),
        _ => return Err(EsignetError::InvalidAlgorithm),
    };
    Ok(b64url(&digest[..digest.len() / 2]))
}

/// `default_secs`, shortened so the token does not outlive a consent expiring at `consent_expires_at`.
pub fn capped_lifetime(default_secs: i64, now: i64, consent_expires_at: Option<i64>) -> i64 {
    match consent_expires_at {
        Some(e) => default_secs.min(e.saturating_sub(now)).max(0),
        None => default_secs,
    }
}

/// The token endpoint's success body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// `Bearer` or `DPoP`.
    pub token_type: String,
    /// Access-token lifetime, seconds.
    pub expires_in: i64,
    /// The ID token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// A credential nonce, for credential-scoped tokens (OpenID4VCI draft 13; 1.0 wallets use the nonce
    /// endpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c_nonce: Option<String>,
    /// The nonce's lifetime, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c_nonce_expires_in: Option<u64>,
}

impl TokenResponse {
    /// The JSON body.
    pub fn to_json(&self) -> Result<String, EsignetError> {
        serde_json::to_string(self).map_err(|_| EsignetError::UnknownError)
    }
}

/// The userinfo payload: the released claims plus `iss`, `aud` (client id) and `sub`, which win over claims of
/// the same name.
pub fn userinfo_claims(
    issuer: &str,
    client_id: &str,
    subject: &str,
    claims: &Map<String, Value>,
) -> Map<String, Value> {
    let mut out = claims.clone();
    out.insert("iss".to_owned(), Value::String(issuer.to_owned()));
    out.insert("aud".to_owned(), Value::String(client_id.to_owned()));
    out.insert("sub".to_owned(), Value::String(subject.to_owned()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ISS: &str = "https://esignet.test/v1/esignet";

    #[test]
    fn at_hash_known_value() {
        // OIDC Core A.3 example: at_hash of "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y" with RS256.
        assert_eq!(
            at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", "RS256").unwrap(),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
        assert_eq!(
            at_hash("x", "PS256").unwrap(),
            at_hash("x", "ES256").unwrap()
        );
        assert_eq!(at_hash("x", "PS256").unwrap().len(), 22);
        assert_eq!(at_hash("x", "ES384").unwrap().len(), 32);
        assert_eq!(at_hash("x", "none"), Err(EsignetError::InvalidAlgorithm));
    }

    #[test]
    fn id_token_nonce_only_when_sent() {
        let acrs = vec![
            "mosip:idp:acr:generated-code".to_owned(),
            "mosip:idp:acr:static-code".to_owned(),
        ];
        let mut input = IdTokenInput {
            issuer: ISS,
            subject: "psut",
            client_id: "client-a",
            now: 1000,
            lifetime_secs: 3600,
            auth_time: Some(990),
            nonce: Some("n-1"),
            satisfied_acrs: &acrs,
            access_token: Some(("at", "PS256")),
        };
        let c = id_token_claims(&input).unwrap();
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            json!({"iss": ISS, "sub": "psut", "aud": "client-a", "iat": 1000, "exp": 4600, "auth_time": 990,
                   "nonce": "n-1", "acr": "mosip:idp:acr:generated-code mosip:idp:acr:static-code",
                   "at_hash": at_hash("at", "PS256").unwrap()})
        );
        input.nonce = None;
        input.satisfied_acrs = &[];
        input.access_token = None;
        let v = serde_json::to_value(id_token_claims(&input).unwrap()).unwrap();
        assert!(v.get("nonce").is_none() && v.get("acr").is_none() && v.get("at_hash").is_none());
        input.access_token = Some(("at", "HS256"));
        assert_eq!(id_token_claims(&input), Err(EsignetError::InvalidAlgorithm));
    }

    #[test]
    fn access_token_and_response() {
        let a = access_token_claims(
            ISS,
            "psut",
            "client-a",
            &["Manage-VID".into()],
            10,
            3600,
            "j".into(),
            Some("thumb"),
        );
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            json!({"iss": ISS, "sub": "psut", "aud": "client-a", "iat": 10, "exp": 3610, "client_id": "client-a",
                   "scope": "Manage-VID", "jti": "j", "cnf": {"jkt": "thumb"}})
        );
        let b = access_token_claims(ISS, "psut", "client-a", &[], 10, 3600, "j".into(), None);
        let v = serde_json::to_value(&b).unwrap();
        assert!(v.get("scope").is_none() && v.get("cnf").is_none());
        let r = TokenResponse {
            access_token: "at".into(),
            token_type: TOKEN_TYPE_BEARER.into(),
            expires_in: 3600,
            id_token: Some("it".into()),
            c_nonce: None,
            c_nonce_expires_in: None,
        };
        assert_eq!(
            r.to_json().unwrap(),
            r#"{"access_token":"at","token_type":"Bearer","expires_in":3600,"id_token":"it"}"#
        );
    }

    #[test]
    fn lifetime_cap_and_userinfo() {
        assert_eq!(capped_lifetime(3600, 1000, None), 3600);
        assert_eq!(capped_lifetime(3600, 1000, Some(1600)), 600);
        assert_eq!(capped_lifetime(3600, 1000, Some(900)), 0);
        let Value::Object(claims) = json!({"name": "A", "aud": "partner-1", "sub": "x"}) else {
            unreachable!()
        };
        let u = userinfo_claims(ISS, "client-a", "psut", &claims);
        assert_eq!(
            Value::Object(u),
            json!({"name": "A", "iss": ISS, "aud": "client-a", "sub": "psut"})
        );
    }
}
