//! Verifiable-credential issuance (OpenID4VCI 1.0) as far as the `oidc` and `vci` components share it: the
//! credential configurations ([`config`]), the cache entries that carry a credential-scoped login from the
//! token endpoint to the credential endpoint, and the access-token claims of such a login.
//!
//! Contract (`docs/design/login-flow.md`, namespace `esignet`):
//! - `vci-grant:<access-token hash>` — written by oidc's token endpoint for a credential-scoped transaction,
//!   read by vci: [`CredentialGrant`] (client, PSUT, transaction id, granted credential scopes, and the KYC
//!   claims the configurations of those scopes need, as the identity system released them). It lives as long
//!   as the access token, so it is the token's grant: deleting it revokes the token for credentials.
//! - `vci-nonce:<base64url(SHA-256(c_nonce))>` — a `c_nonce` issued by vci's nonce endpoint or by the token
//!   endpoint (draft-13 wallets), consumed with the cache's atomic `take`, so each nonce verifies one request
//!   on any replica.
//! - A credential-scoped access token lives at most [`MAX_CREDENTIAL_TOKEN_SECS`] (OpenID4VCI §13.10: Bearer
//!   tokens living longer must be sender-constrained), names the credential issuer as `aud`, and carries
//!   `c_nonce`/`c_nonce_expires_in` as eSignet's did.

pub mod config;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::hashing::sha256_b64url;
use crate::tokens::AccessTokenClaims;

pub use config::{CredentialConfig, CredentialConfigs};

/// Upper bound of a credential-scoped Bearer token's lifetime, seconds.
pub const MAX_CREDENTIAL_TOKEN_SECS: i64 = 300;
/// Default lifetime of a `c_nonce`, seconds.
pub const DEFAULT_NONCE_TTL_SECS: u64 = 300;

/// The cache key of a credential grant.
pub fn grant_key(access_token_hash: &str) -> String {
    format!("vci-grant:{access_token_hash}")
}

/// The cache key of an issued `c_nonce` (hashed, so a presented value of any length gives a bounded key).
pub fn nonce_key(c_nonce: &str) -> String {
    format!("vci-nonce:{}", sha256_b64url(c_nonce.as_bytes()))
}

/// What a credential-scoped access token grants (the `vci-grant:` cache value).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialGrant {
    /// The client the token was issued to.
    pub client_id: String,
    /// The PSUT (`sub`).
    pub sub: String,
    /// The login transaction, for audit.
    pub transaction_id: String,
    /// Granted credential scopes.
    pub scopes: Vec<String>,
    /// The identity system's claims (only those the configurations need). Personal data.
    pub claims: Map<String, Value>,
    /// The login's `claims_locales`, for a credential-data plugin (absent in grants of older versions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub claims_locales: Vec<String>,
    /// When the token (and this grant) expires, epoch seconds.
    pub expires_at: i64,
}

impl std::fmt::Debug for CredentialGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialGrant")
            .field("client_id", &self.client_id)
            .field("transaction_id", &self.transaction_id)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// The KYC claims a credential grant keeps: the `wanted` ones present in `released`, nothing else (no `iss`,
/// `aud`, `sub` of the identity system's JWT).
pub fn retained_claims(released: &Map<String, Value>, wanted: &[String]) -> Map<String, Value> {
    released
        .iter()
        .filter(|(k, _)| wanted.contains(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Access-token claims of a credential-scoped token: the usual claims with `aud` = the credential issuer,
/// plus the draft-13 `c_nonce` members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialAccessTokenClaims {
    /// The usual access-token claims (`aud` replaced).
    #[serde(flatten)]
    pub base: AccessTokenClaims,
    /// A nonce for draft-13 wallets (also single-use).
    pub c_nonce: String,
    /// Its lifetime, seconds.
    pub c_nonce_expires_in: u64,
}

impl CredentialAccessTokenClaims {
    /// `base` with `aud` set to `credential_issuer`.
    pub fn new(
        mut base: AccessTokenClaims,
        credential_issuer: &str,
        c_nonce: String,
        ttl: u64,
    ) -> Self {
        base.aud = credential_issuer.to_owned();
        CredentialAccessTokenClaims {
            base,
            c_nonce,
            c_nonce_expires_in: ttl,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::access_token_claims;
    use serde_json::json;

    #[test]
    fn keys_are_bounded_and_distinct() {
        assert_eq!(grant_key("h"), "vci-grant:h");
        let long = "x".repeat(10_000);
        assert_eq!(nonce_key(&long).len(), "vci-nonce:".len() + 43);
        assert_ne!(nonce_key("a"), nonce_key("b"));
    }

    #[test]
    fn grant_keeps_wanted_claims_and_hides_them_in_debug() {
        let Value::Object(released) =
            json!({"iss": "x", "sub": "p", "name": "Jane", "email": "j@x"})
        else {
            unreachable!()
        };
        let kept = retained_claims(&released, &["name".into(), "birthdate".into()]);
        assert_eq!(Value::Object(kept.clone()), json!({"name": "Jane"}));
        let g = CredentialGrant {
            client_id: "c".into(),
            sub: "p".into(),
            transaction_id: "t".into(),
            scopes: vec!["s".into()],
            claims: kept,
            claims_locales: vec!["en".into()],
            expires_at: 5,
        };
        assert!(!format!("{g:?}").contains("Jane"));
        let back: CredentialGrant =
            serde_json::from_slice(&serde_json::to_vec(&g).unwrap()).unwrap();
        assert!(back == g);
    }

    #[test]
    fn credential_token_claims() {
        let base = access_token_claims(
            "https://i",
            "p",
            "c",
            &["s".into()],
            10,
            300,
            "j".into(),
            None,
        );
        let claims = CredentialAccessTokenClaims::new(base, "https://i", "n".into(), 300);
        assert_eq!(
            serde_json::to_value(&claims).unwrap(),
            json!({"iss": "https://i", "sub": "p", "aud": "https://i", "iat": 10, "exp": 310, "client_id": "c",
                   "scope": "s", "jti": "j", "c_nonce": "n", "c_nonce_expires_in": 300})
        );
    }
}
