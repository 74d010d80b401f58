//! Client authentication at the token endpoints: `private_key_jwt` only (reference §3.9; cases ES-01, ES-02,
//! ES-04). Every failure is `invalid_client` (RFC 7523 §3.2). The assertion header's `kid` is optional.
//!
//! Steps: the assertion type and assertion are present (`check_assertion_params`); the client is found by
//! the assertion's unverified `iss` (or, without one, the form `client_id`), and must be active and allow
//! `private_key_jwt`; the host verifies the signature with the client's registered JWK (RS256, PS256,
//! ES256); `esignet_core::assertion::validate_assertion_claims` checks `iss`/`sub`/`aud`/`exp`/`iat`/`nbf`/`jti`;
//! a form `client_id` must name the same client (ES-04 b); last, the `jti` is recorded single-use with
//! set-if-absent under `jti:<clientId>:<base64url(SHA-256(jti))>` until `exp` + leeway, so a replay on any
//! replica fails (ES-01). The `jti` is hashed to keep the cache key bounded whatever its length.

use esignet_core::assertion::{
    check_assertion_params, check_client_id_param, unverified_issuer, validate_assertion_claims,
    AssertionConfig, SUPPORTED_ALGS,
};
use esignet_core::client::ClientDetail;
use esignet_core::hashing::sha256_b64url;
use esignet_core::token_request::TokenRequest;
use esignet_core::EsignetError;
use esignet_sdk::audit::{self, Level};
use esignet_sdk::{cache, keys, CapabilityError};
use serde_json::Value;

use crate::clients;
use crate::reply::Failure;

const PRIVATE_KEY_JWT: &str = "private_key_jwt";

/// The cache key of a used assertion id.
pub fn jti_key(client_id: &str, jti: &str) -> String {
    format!("jti:{client_id}:{}", sha256_b64url(jti.as_bytes()))
}

/// Milliseconds from `now` until `retain_until` (at least one second).
pub fn jti_ttl_ms(now: i64, retain_until: i64) -> u64 {
    u64::try_from(retain_until.saturating_sub(now).max(1))
        .unwrap_or(1)
        .saturating_mul(1000)
}

/// The registered JWK without its `kid`: RFC 7515 makes `kid` optional in the assertion header, and the key is
/// already chosen (the client's one registered key), so a header without `kid` must verify too.
pub fn verification_jwk(public_key: &Value) -> Option<String> {
    let mut key = public_key.as_object()?.clone();
    key.remove("kid");
    serde_json::to_string(&key).ok()
}

fn bad() -> Failure {
    Failure::Oauth(EsignetError::InvalidClient)
}

/// Authenticates the client of a token request; `audiences` are the acceptable assertion `aud` values.
pub fn authenticate(
    form: &TokenRequest,
    audiences: &[String],
    now: i64,
) -> Result<ClientDetail, Failure> {
    let assertion = check_assertion_params(
        form.client_assertion_type.as_deref(),
        form.client_assertion.as_deref(),
    )?;
    let claimed = unverified_issuer(assertion)
        .ok()
        .or_else(|| form.client_id.clone())
        .ok_or_else(bad)?;
    let client = clients::load(&claimed)?.ok_or_else(bad)?;
    let method_ok =
        client.auth_methods.is_empty() || client.auth_methods.iter().any(|m| m == PRIVATE_KEY_JWT);
    if client.ensure_active().is_err() || !method_ok {
        return Err(bad());
    }
    let jwk = verification_jwk(&client.public_key).ok_or_else(bad)?;
    let algs: Vec<String> = SUPPORTED_ALGS.iter().map(|a| (*a).to_owned()).collect();
    let (header_json, payload) = keys::verify_jws(assertion, &jwk, &algs).map_err(|e| {
        if e.is_unavailable() {
            Failure::Unavailable
        } else {
            audit::log(
                Level::Info,
                &format!("client assertion refused: {}", e.variant()),
            );
            bad()
        }
    })?;
    let header: Value = serde_json::from_str(&header_json).map_err(|_| bad())?;
    let payload: Value = serde_json::from_slice(&payload).map_err(|_| bad())?;
    let accepted = validate_assertion_claims(
        &header,
        &payload,
        client.id.as_str(),
        audiences,
        now,
        &AssertionConfig::default(),
    )?;
    check_client_id_param(form.client_id.as_deref(), client.id.as_str())?;
    let key = jti_key(client.id.as_str(), &accepted.jti);
    match cache::set_if_absent(&key, b"1", jti_ttl_ms(now, accepted.retain_until)) {
        Ok(true) => Ok(client),
        Ok(false) => {
            audit::log(Level::Warn, "client assertion replayed");
            Err(bad())
        }
        Err(e) => Err(Failure::capability(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jti_key_is_bounded_and_per_client() {
        let long = "j".repeat(5000);
        let k = jti_key("client-a", &long);
        assert!(k.len() < 100 && k.starts_with("jti:client-a:"));
        assert_ne!(jti_key("client-a", "x"), jti_key("client-b", "x"));
        assert_eq!(jti_key("client-a", "x"), jti_key("client-a", "x"));
    }

    #[test]
    fn verification_key_drops_kid() {
        let k =
            serde_json::json!({"kty": "RSA", "n": "x", "e": "AQAB", "kid": "k1", "alg": "RS256"});
        let text = verification_jwk(&k).unwrap();
        assert!(!text.contains("kid") && text.contains("RS256"));
        assert_eq!(verification_jwk(&Value::Null), None);
    }

    #[test]
    fn jti_ttl() {
        assert_eq!(jti_ttl_ms(100, 165), 65_000);
        assert_eq!(jti_ttl_ms(100, 90), 1000);
    }
}
