//! Validation of an authorization request against its client (reference §3.1, ES-06, ES-09, CF-01, CF-02).
//!
//! Order: client (`invalid_client_id`) and redirect URI (`invalid_redirect_uri`) first; errors up to there must
//! not be redirected. Then, all redirectable: `request` object (`request_not_supported`), repeated parameters
//! (`invalid_request`), oversized parameters (`invalid_request`: `state`/`nonce` over 512 characters,
//! `claims_locales`/`ui_locales` over 128, `scope`/`acr_values` over 1024), `dpop_jkt` (`invalid_request`: DPoP
//! is not implemented), PAR required but not used (`invalid_request`), `response_type` (`invalid_response_type`,
//! also when missing), `scope`, `prompt`, `display` (`invalid_display`), `max_age` (non-negative integer, else
//! `invalid_request`), `claims` (userinfo claims need `openid`: `invalid_scope`), PKCE parameters, PKCE
//! required by the client or server profile (`use_pkce`), and last `prompt=none` → `login_required` (no OP
//! session exists, so a valid silent request can never be answered with a code).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::ClientDetail;
use crate::error::EsignetError;
use crate::ids::ClientId;
use crate::pkce::PkceChallenge;

use super::claims_param::ClaimsRequest;
use super::pkce_params::parse_pkce_params;
use super::prompt::{parse_prompt, Prompt};
use super::redirect::error_redirect;
use super::request::{present, AuthorizeRequest};
use super::scope::{parse_scope, split_space_list, RequestedScopes, ScopeConfig};

/// Supported `display` values.
pub const DISPLAY_VALUES: [&str; 4] = ["page", "popup", "touch", "wap"];

/// Server-wide settings for authorization requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizePolicy {
    /// Supported scopes by family.
    pub scopes: ScopeConfig,
    /// The server profile forces PKCE for every client.
    pub require_pkce: bool,
    /// The server profile forces PAR for every client.
    pub require_par: bool,
}

/// A valid authorization request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatedAuthorize {
    /// The client.
    pub client_id: ClientId,
    /// The (registered) redirect URI the response goes to.
    pub redirect_uri: String,
    /// Known scopes.
    pub scopes: RequestedScopes,
    /// `nonce`, if sent.
    pub nonce: Option<String>,
    /// `state`, if sent.
    pub state: Option<String>,
    /// `display`, if sent.
    pub display: Option<String>,
    /// `prompt` values.
    pub prompt: Vec<Prompt>,
    /// `acr_values`, split.
    pub acr_values: Vec<String>,
    /// `max_age` in seconds.
    pub max_age: Option<u64>,
    /// The `claims` parameter.
    pub claims: ClaimsRequest,
    /// `claims_locales`, split.
    pub claims_locales: Vec<String>,
    /// `ui_locales`, split.
    pub ui_locales: Vec<String>,
    /// PKCE challenge, if sent.
    pub pkce: Option<PkceChallenge>,
    /// `id_token_hint`, if sent (verified by the caller).
    pub id_token_hint: Option<String>,
    /// `dpop_jkt`, if sent.
    pub dpop_jkt: Option<String>,
}

/// A rejected authorization request, with the redirect target when the error may be redirected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeFailure {
    /// The eSignet code.
    pub error: EsignetError,
    /// Set only when [`super::error_redirect_allowed`] holds: the validated redirect URI.
    pub redirect_uri: Option<String>,
    /// `state` as sent (echoed in the redirect).
    pub state: Option<String>,
}

impl AuthorizeFailure {
    /// The error redirect URL, or `None` when the OP must show its own error page.
    pub fn redirect_url(&self, issuer: &str) -> Option<String> {
        let uri = self.redirect_uri.as_deref()?;
        Some(error_redirect(
            uri,
            self.error,
            self.state.as_deref(),
            issuer,
        ))
    }
}

/// Validates `req` for `client` (`None`: unknown client id). `via_par` is true when the request came from a
/// pushed authorization request. See the module docs for the order of checks.
pub fn validate_authorize(
    req: &AuthorizeRequest,
    client: Option<&ClientDetail>,
    policy: &AuthorizePolicy,
    via_par: bool,
) -> Result<ValidatedAuthorize, AuthorizeFailure> {
    let state = present(&req.state).map(str::to_owned);
    let client = client
        .filter(|c| present(&req.client_id) == Some(c.id.as_str()) && c.ensure_active().is_ok());
    let redirect_uri =
        present(&req.redirect_uri).filter(|r| client.is_some_and(|c| c.accepts_redirect_uri(r)));
    let (Some(client), Some(redirect_uri)) = (client, redirect_uri) else {
        let error = if client.is_none() {
            EsignetError::InvalidClientId
        } else {
            EsignetError::InvalidRedirectUri
        };
        return Err(AuthorizeFailure {
            error,
            redirect_uri: None,
            state,
        });
    };
    let fail = |error| AuthorizeFailure {
        error,
        redirect_uri: Some(redirect_uri.to_owned()),
        state: state.clone(),
    };
    check_fields(req, client, policy, via_par, redirect_uri).map_err(fail)
}

fn check_fields(
    req: &AuthorizeRequest,
    client: &ClientDetail,
    policy: &AuthorizePolicy,
    via_par: bool,
    redirect_uri: &str,
) -> Result<ValidatedAuthorize, EsignetError> {
    if present(&req.request).is_some() {
        return Err(EsignetError::RequestNotSupported);
    }
    if !req.duplicates.is_empty() {
        return Err(EsignetError::InvalidRequest);
    }
    if over_limits(req) {
        return Err(EsignetError::InvalidRequest);
    }
    // DPoP is not implemented: a code bound to a `dpop_jkt` could never be redeemed.
    if present(&req.dpop_jkt).is_some() {
        return Err(EsignetError::InvalidRequest);
    }
    if (policy.require_par || client.require_par()) && !via_par {
        return Err(EsignetError::InvalidRequest);
    }
    if present(&req.response_type) != Some("code") {
        return Err(EsignetError::InvalidResponseType);
    }
    let scopes = parse_scope(present(&req.scope), &policy.scopes)?;
    let prompt = parse_prompt(present(&req.prompt))?;
    let display = present(&req.display).map(str::to_owned);
    if display
        .as_deref()
        .is_some_and(|d| !DISPLAY_VALUES.contains(&d))
    {
        return Err(EsignetError::InvalidDisplay);
    }
    let max_age = parse_max_age(req.max_age.as_ref())?;
    let claims = ClaimsRequest::parse(req.claims.as_ref())?;
    if claims.has_userinfo() && !scopes.has_openid() {
        return Err(EsignetError::InvalidScope);
    }
    let pkce = parse_pkce_params(
        present(&req.code_challenge),
        present(&req.code_challenge_method),
    )?;
    if pkce.is_none() && (policy.require_pkce || client.require_pkce()) {
        return Err(EsignetError::UsePkce);
    }
    if prompt.contains(&Prompt::None) {
        return Err(EsignetError::LoginRequired);
    }
    let split = |v: &Option<String>| -> Vec<String> {
        present(v)
            .map(|s| split_space_list(s).into_iter().map(str::to_owned).collect())
            .unwrap_or_default()
    };
    Ok(ValidatedAuthorize {
        client_id: client.id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        scopes,
        nonce: present(&req.nonce).map(str::to_owned),
        state: present(&req.state).map(str::to_owned),
        display,
        prompt,
        acr_values: split(&req.acr_values),
        max_age,
        claims,
        claims_locales: split(&req.claims_locales),
        ui_locales: split(&req.ui_locales),
        pkce,
        id_token_hint: present(&req.id_token_hint).map(str::to_owned),
        dpop_jkt: present(&req.dpop_jkt).map(str::to_owned),
    })
}

/// Longest `state` and `nonce`, in characters (eSignet sets no bound; 512 fits any real RP's random value).
pub const MAX_STATE_NONCE_CHARS: usize = 512;
/// Longest `claims_locales` and `ui_locales`, in characters.
pub const MAX_LOCALES_CHARS: usize = 128;
/// Longest `scope` and `acr_values`, in characters.
pub const MAX_SCOPE_ACR_CHARS: usize = 1024;

/// Whether a free-text parameter exceeds its bound (they are stored with the transaction and echoed).
fn over_limits(req: &AuthorizeRequest) -> bool {
    let over =
        |v: &Option<String>, max: usize| v.as_deref().is_some_and(|s| s.chars().count() > max);
    over(&req.state, MAX_STATE_NONCE_CHARS)
        || over(&req.nonce, MAX_STATE_NONCE_CHARS)
        || over(&req.claims_locales, MAX_LOCALES_CHARS)
        || over(&req.ui_locales, MAX_LOCALES_CHARS)
        || over(&req.scope, MAX_SCOPE_ACR_CHARS)
        || over(&req.acr_values, MAX_SCOPE_ACR_CHARS)
}

/// `max_age`: a non-negative integer (JSON number, or decimal digits as text).
fn parse_max_age(v: Option<&Value>) -> Result<Option<u64>, EsignetError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or(EsignetError::InvalidRequest),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) if s.bytes().all(|b| b.is_ascii_digit()) => s
            .parse::<u64>()
            .map(Some)
            .map_err(|_| EsignetError::InvalidRequest),
        Some(_) => Err(EsignetError::InvalidRequest),
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
