//! `POST <issuer>/vci/nonce` (OpenID4VCI 1.0 §7) and the single-use rule of every `c_nonce`.
//!
//! The endpoint needs no access token and ignores the body: it answers `{"c_nonce": …}` (128 random bits,
//! base64url) with `Cache-Control: no-store`, after storing `vci-nonce:<hash>` in the shared cache for
//! `c_nonce_ttl_secs`. The token endpoint stores its draft-13 `c_nonce` the same way. A proof's nonce is
//! accepted by [`take`]: the cache's atomic take removes it, so of two requests with one nonce — on one
//! replica or two — exactly one goes on, and an unknown, expired or used nonce is `invalid_nonce`.

use esignet_core::credential::nonce_key;
use esignet_core::ids::new_jti;
use esignet_core::random::OsRandom;
use esignet_sdk::{cache, Request, Response};
use serde_json::json;

use crate::reply::{method_not_allowed, no_store_json, VciError};
use crate::settings::Settings;

/// Handles a nonce request.
pub fn handle(req: &Request, settings: &Settings) -> Response {
    if req.method != "POST" {
        return method_not_allowed("POST");
    }
    match issue(settings) {
        Ok(nonce) => no_store_json(200, &json!({ "c_nonce": nonce }).to_string()),
        Err(e) => e.response(),
    }
}

/// Creates and stores a fresh nonce.
fn issue(settings: &Settings) -> Result<String, VciError> {
    let nonce = new_jti(&mut OsRandom).map_err(|_| VciError::Fault)?;
    let ttl_ms = settings.c_nonce_ttl_secs.saturating_mul(1000);
    cache::set(&nonce_key(&nonce), b"1", ttl_ms).map_err(|e| VciError::capability(&e))?;
    Ok(nonce)
}

/// Consumes a proof's nonce; `invalid_nonce` unless it was issued, is unexpired and unused.
pub fn take(nonce: &str) -> Result<(), VciError> {
    match cache::take(&nonce_key(nonce)) {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(VciError::InvalidNonce),
        Err(e) => Err(VciError::capability(&e)),
    }
}
