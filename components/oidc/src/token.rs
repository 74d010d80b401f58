//! `POST <issuer>/oauth/v2/token` and the deprecated `POST <issuer>/oauth/token`: the authorization-code grant
//! (RFC 6749 §4.1.3, reference §3.8–§3.9; cases ES-01, ES-02, ES-04, ES-05, ES-08, OP-07).
//!
//! Order: form body only (`invalid_request` otherwise); repeated parameters `invalid_request`; client
//! authentication ([`crate::client_auth`], `invalid_client`); `grant_type` (`invalid_request` /
//! `unsupported_grant_type`); `code` and `redirect_uri` present (`invalid_request`). Then the code is taken
//! from `code:<codeHash>` with the cache's atomic `take`, so of concurrent redemptions exactly one proceeds.
//! A code that is not there is `invalid_grant`; if `redeemed:<codeHash>` shows it was redeemed before, the
//! tokens issued then are revoked (their `userinfo:` or `vci-grant:` entry deleted, RFC 6749 §4.1.2). The
//! taken transaction must belong to the authenticated client and the same `redirect_uri` (`invalid_grant`),
//! and PKCE must verify (`invalid_grant`); because the code is already consumed, a failed check burns it (ES-05). Both endpoints
//! check PKCE the same way: a code bound to a challenge cannot be redeemed without its verifier anywhere.
//! DPoP is not implemented, so a transaction that asks for DPoP-bound tokens is refused with
//! `invalid_dpop_proof` rather than given a plain bearer token. Issuance is in [`crate::issue`].

use esignet_core::clock::{Clock, SystemClock};
use esignet_core::credential::grant_key;
use esignet_core::ids::code_hash;
use esignet_core::pkce::verify_pkce;
use esignet_core::token_request::TokenRequest;
use esignet_core::transaction::OidcTransaction;
use esignet_core::EsignetError;
use esignet_sdk::audit::{self, Level};
use esignet_sdk::{cache, Request, Response};

use crate::client_auth;
use crate::events::{self, GENERATE_TOKEN};
use crate::issue;
use crate::reply::{method_not_allowed, no_store_json, Failure};
use crate::settings::Settings;

/// Handles a token request; `legacy` for the deprecated `/oauth/token` (its own assertion audience).
pub fn handle(req: &Request, settings: &Settings, legacy: bool) -> Response {
    if req.method != "POST" {
        return method_not_allowed("POST");
    }
    let mut audit_ids: (Option<String>, Option<String>) = (None, None);
    match redeem(req, settings, legacy, &mut audit_ids) {
        Ok(body) => {
            events::success(
                GENERATE_TOKEN,
                audit_ids.0.as_deref(),
                audit_ids.1.as_deref(),
            );
            no_store_json(200, body)
        }
        Err(failure) => {
            events::failure(
                GENERATE_TOKEN,
                audit_ids.0.as_deref(),
                audit_ids.1.as_deref(),
                &failure.code(),
            );
            failure.response()
        }
    }
}

/// The whole grant; `ids` receives (transaction id, client id) for the audit record as they become known.
fn redeem(
    req: &Request,
    settings: &Settings,
    legacy: bool,
    ids: &mut (Option<String>, Option<String>),
) -> Result<String, Failure> {
    if !req.is_form() {
        return Err(EsignetError::InvalidRequest.into());
    }
    let form = TokenRequest::from_pairs(&req.form_pairs())?;
    let now = SystemClock.now();
    let client =
        client_auth::authenticate(&form, &settings.endpoints.assertion_audiences(legacy), now)?;
    ids.1 = Some(client.id.as_str().to_owned());
    form.check_grant_type()?;
    let (code, redirect_uri) = form.code_and_redirect_uri()?;
    let hash = code_hash(code);
    let tx = take_transaction(hash.as_str())?;
    ids.0 = Some(tx.transaction_id.as_str().to_owned());
    if tx.client_id != client.id || tx.redirect_uri != redirect_uri {
        return Err(EsignetError::InvalidGrant.into());
    }
    verify_pkce(tx.pkce.as_ref(), form.code_verifier.as_deref())?;
    if tx.dpop_jkt.is_some() || tx.dpop_bound_access_token {
        return Err(EsignetError::InvalidDpopProof.into());
    }
    let issued = issue::issue(&tx, &client, settings, now)?;
    record_redemption(
        hash.as_str(),
        &issued.access_token_hash,
        settings.code_ttl_ms(),
    );
    issued.response.to_json().map_err(|_| Failure::Fault)
}

/// Takes the code's transaction; `invalid_grant` (after revoking a replayed code's tokens) when absent.
fn take_transaction(code_hash: &str) -> Result<OidcTransaction, Failure> {
    match cache::take(&format!("code:{code_hash}")) {
        Ok(Some(bytes)) => {
            let text = String::from_utf8(bytes).map_err(|_| Failure::Fault)?;
            OidcTransaction::from_json(&text).map_err(|_| {
                audit::log(Level::Error, "code entry is not a transaction");
                Failure::Fault
            })
        }
        Ok(None) => {
            revoke_replayed(code_hash);
            Err(EsignetError::InvalidGrant.into())
        }
        Err(e) => Err(Failure::capability(&e)),
    }
}

/// A redeemed code presented again: delete the grant of the access token it produced.
fn revoke_replayed(code_hash: &str) {
    let Ok(Some(at_hash)) = cache::get(&format!("redeemed:{code_hash}")) else {
        return;
    };
    let Ok(at_hash) = String::from_utf8(at_hash) else {
        return;
    };
    let credential = cache::delete(&grant_key(&at_hash));
    match cache::delete(&format!("userinfo:{at_hash}")) {
        _ if matches!(credential, Ok(true)) => audit::log(
            Level::Warn,
            "authorization code replayed: its access token was revoked",
        ),
        Ok(true) => audit::log(
            Level::Warn,
            "authorization code replayed: its access token was revoked",
        ),
        Ok(false) => audit::log(Level::Warn, "authorization code replayed"),
        Err(_) => audit::log(
            Level::Error,
            "authorization code replayed: revocation failed",
        ),
    }
}

/// Remembers which access token a code produced, for as long as the code could have lived.
fn record_redemption(code_hash: &str, access_token_hash: &str, ttl_ms: u64) {
    let key = format!("redeemed:{code_hash}");
    if cache::set(&key, access_token_hash.as_bytes(), ttl_ms).is_err() {
        audit::log(Level::Warn, "could not record the code redemption");
    }
}
