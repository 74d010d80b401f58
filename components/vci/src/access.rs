//! The access token of a credential or notification request (OpenID4VCI 1.0 §8.2, RFC 6750).
//!
//! Only one `Authorization: Bearer` header carries it; a token in the query or the body is never read, so such
//! a request is one without a token (401). The token must be a JWS by our `oidc-access-token` key (the host checks
//! the signature with the public key this component may read), `typ: at+jwt`, our `iss`, a future `exp`
//! (`esignet_core::userinfo::check_access_token`); then its `scope` must hold a credential scope of the
//! configurations (else 403 `insufficient_scope`: a plain OpenID login token), its `aud` must be the
//! credential issuer, and its grant `vci-grant:<hash>` must still be cached for the same client and subject
//! (expired with the token, or deleted when the code was replayed). Every other failure is `invalid_token`.

use esignet_core::bearer::{bearer_token, BearerProblem};
use esignet_core::credential::{grant_key, CredentialConfigs, CredentialGrant};
use esignet_core::userinfo::{access_token_hash, check_access_token};
use esignet_sdk::audit::{self, Level};
use esignet_sdk::{cache, keys, CapabilityError, Request};
use serde_json::Value;

use crate::reply::VciError;
use crate::settings::Issuer;

/// The key purpose that signs access tokens (owned by `oidc`; ID tokens use another, so never pass here).
pub const OIDC_ACCESS_TOKEN: &str = "oidc-access-token";

/// A request's verified access token.
#[derive(Debug, Clone)]
pub struct Authorized {
    /// What the token grants.
    pub grant: CredentialGrant,
    /// base64url(SHA-256(token)), for audit and notification ids.
    pub token_hash: String,
}

const INVALID: VciError = VciError::Bearer(BearerProblem::InvalidToken);

/// Whether the token's claims allow a credential of these configurations (module docs), checked after the
/// signature: `insufficient_scope` without a credential scope, `invalid_token` for another audience.
pub fn check_claims(
    payload: &Value,
    issuer: &Issuer,
    configs: &CredentialConfigs,
) -> Result<(), VciError> {
    let scopes = payload.get("scope").and_then(Value::as_str).unwrap_or("");
    let known = configs.scopes();
    if !scopes.split(' ').any(|s| known.iter().any(|k| k == s)) {
        return Err(VciError::InsufficientScope);
    }
    let aud_ok = match payload.get("aud") {
        Some(Value::String(a)) => *a == issuer.identifier,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(&issuer.identifier)),
        _ => false,
    };
    if aud_ok {
        Ok(())
    } else {
        Err(INVALID)
    }
}

/// Verifies the request's access token and loads its grant.
pub fn authorize(
    req: &Request,
    issuer: &Issuer,
    configs: &CredentialConfigs,
    now: i64,
) -> Result<Authorized, VciError> {
    let values: Vec<&str> = req.header_values("authorization").collect();
    let token = bearer_token(&values).map_err(VciError::Bearer)?;
    let (header, payload) = keys::verify_own_jws(OIDC_ACCESS_TOKEN, token).map_err(|e| {
        if e.is_unavailable() {
            VciError::Unavailable
        } else {
            INVALID
        }
    })?;
    let header: Value = serde_json::from_str(&header).map_err(|_| INVALID)?;
    let payload: Value = serde_json::from_slice(&payload).map_err(|_| INVALID)?;
    let view =
        check_access_token(&header, &payload, &issuer.identifier, now).map_err(|_| INVALID)?;
    check_claims(&payload, issuer, configs)?;
    let token_hash = access_token_hash(token);
    let stored = match cache::get(&grant_key(&token_hash)) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Err(INVALID),
        Err(e) => return Err(VciError::capability(&e)),
    };
    let grant: CredentialGrant = serde_json::from_slice(&stored).map_err(|_| {
        audit::log(Level::Error, "credential grant unreadable");
        VciError::Fault
    })?;
    if grant.client_id != view.client_id || grant.sub != view.sub || grant.expires_at <= now {
        return Err(INVALID);
    }
    Ok(Authorized { grant, token_hash })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scope_then_audience() {
        let configs = CredentialConfigs::embedded().unwrap();
        let issuer = Issuer::new("https://op.test/v1/esignet");
        let ok = json!({"scope": "mosip_identity_vc_sd_jwt", "aud": "https://op.test/v1/esignet"});
        assert!(check_claims(&ok, &issuer, &configs).is_ok());
        let login = json!({"scope": "openid profile", "aud": "client-a"});
        assert_eq!(
            check_claims(&login, &issuer, &configs),
            Err(VciError::InsufficientScope)
        );
        let other = json!({"scope": "mosip_identity_vc_jwt", "aud": ["client-a"]});
        assert_eq!(check_claims(&other, &issuer, &configs), Err(INVALID));
        let listed =
            json!({"scope": "mosip_identity_vc_jwt", "aud": ["x", "https://op.test/v1/esignet"]});
        assert!(check_claims(&listed, &issuer, &configs).is_ok());
    }
}
