//! `GET`/`POST <issuer>/oidc/userinfo` (OIDC Core §5.3, RFC 6750; reference §3.10; cases ES-08, ES-11).
//!
//! The access token comes only from one `Authorization: Bearer` header (`esignet_core::bearer`). It must be a
//! JWS signed by our `oidc-access-token` key (not the ID-token key `oidc-service`) with `typ: at+jwt`, our `iss` and a future `exp`
//! (`esignet_core::userinfo::check_access_token`), and its grant must still be in the cache under
//! `userinfo:<base64url(SHA-256(token))>` for the same client and subject — a revoked (replayed-code) or expired
//! grant is `invalid_token`. The answer is the userinfo JWT prepared at the token endpoint, as
//! `application/jwt` (a JWS, or a JWE for clients registered for it). Errors carry no body, only the
//! `WWW-Authenticate` challenge (RFC 6750 §3).

use esignet_core::bearer::{bearer_token, BearerProblem};
use esignet_core::clock::{Clock, SystemClock};
use esignet_core::discovery::Endpoints;
use esignet_core::userinfo::{access_token_hash, check_access_token, UserinfoGrant};
use esignet_sdk::audit::{self, Level};
use esignet_sdk::{cache, keys, CapabilityError, Request, Response};
use serde_json::Value;

use crate::events::{self, GET_USERINFO};
use crate::metadata::OIDC_ACCESS_TOKEN;
use crate::reply::{method_not_allowed, no_store_json};

enum Refusal {
    Bearer(BearerProblem),
    Unavailable,
}

/// Handles a userinfo request.
pub fn handle(req: &Request, endpoints: &Endpoints) -> Response {
    if req.method != "GET" && req.method != "POST" {
        return method_not_allowed("GET, POST");
    }
    match lookup(req, endpoints) {
        Ok(grant) => {
            events::success(
                GET_USERINFO,
                Some(&grant.transaction_id),
                Some(&grant.client_id),
            );
            let mut r = Response::new(200)
                .with_header("content-type", "application/jwt")
                .with_header("cache-control", "no-store")
                .with_header("pragma", "no-cache");
            r.body = grant.userinfo.into_bytes();
            r
        }
        Err(Refusal::Bearer(problem)) => {
            events::failure(GET_USERINFO, None, None, problem.code());
            let (status, challenge) = problem.challenge();
            Response::new(status)
                .with_header("www-authenticate", challenge)
                .with_header("cache-control", "no-store")
        }
        Err(Refusal::Unavailable) => {
            events::failure(GET_USERINFO, None, None, "temporarily_unavailable");
            no_store_json(503, r#"{"error":"temporarily_unavailable"}"#.to_owned())
        }
    }
}

fn lookup(req: &Request, endpoints: &Endpoints) -> Result<UserinfoGrant, Refusal> {
    let invalid = || Refusal::Bearer(BearerProblem::InvalidToken);
    let values: Vec<&str> = req.header_values("authorization").collect();
    let token = bearer_token(&values).map_err(Refusal::Bearer)?;
    let (header_json, payload) = keys::verify_own_jws(OIDC_ACCESS_TOKEN, token).map_err(|e| {
        if e.is_unavailable() {
            Refusal::Unavailable
        } else {
            invalid()
        }
    })?;
    let header: Value = serde_json::from_str(&header_json).map_err(|_| invalid())?;
    let payload: Value = serde_json::from_slice(&payload).map_err(|_| invalid())?;
    let view = check_access_token(&header, &payload, &endpoints.issuer, SystemClock.now())
        .map_err(|_| invalid())?;
    let stored = match cache::get(&format!("userinfo:{}", access_token_hash(token))) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Err(invalid()),
        Err(e) if e.is_unavailable() => return Err(Refusal::Unavailable),
        Err(_) => return Err(invalid()),
    };
    let grant: UserinfoGrant = serde_json::from_slice(&stored).map_err(|_| {
        audit::log(Level::Error, "userinfo grant unreadable");
        invalid()
    })?;
    if grant.client_id != view.client_id || grant.sub != view.sub {
        return Err(invalid());
    }
    Ok(grant)
}
