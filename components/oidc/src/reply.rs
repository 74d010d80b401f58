//! The answers this component gives when something goes wrong, in one place: OAuth error JSON for the token
//! endpoint (RFC 6749 §5.2, `Cache-Control: no-store`), the provider's own HTML error page for authorization
//! requests that must not be redirected (RFC 6749 §4.1.2.1), and `405` with `Allow`.
//!
//! [`Failure`] is what the token path returns: a spec error code, a plugin error code, or a backend problem.
//! Backends that are down give 503 `temporarily_unavailable`; any other internal fault gives 500
//! `server_error` (the same names the host uses when a component traps). A plugin's own error code goes out as
//! 400 `invalid_request` with the code in `error_description` (eSignet's collapse rule); the plugin code
//! `unknown_error` (the host's "the plugin failed") counts as unavailable.

use esignet_core::oauth_error::{oauth_error_body, NO_STORE_HEADERS};
use esignet_core::EsignetError;
use esignet_sdk::{CapabilityError, Response};
use serde_json::json;

/// Why a token-path request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// A spec error (spelled by [`EsignetError::oauth_error`]).
    Oauth(EsignetError),
    /// The identity system's error code.
    Plugin(String),
    /// A backend (cache, SQL, keys, plugin) is down: retry later.
    Unavailable,
    /// A fault on our side.
    Fault,
}

impl From<EsignetError> for Failure {
    fn from(e: EsignetError) -> Self {
        Failure::Oauth(e)
    }
}

impl Failure {
    /// From a capability error: unavailable, or a fault.
    pub fn capability(e: &impl CapabilityError) -> Self {
        if e.is_unavailable() {
            Failure::Unavailable
        } else {
            Failure::Fault
        }
    }

    /// From a plugin error code.
    pub fn plugin(code: &str) -> Self {
        if code == "unknown_error" {
            Failure::Unavailable
        } else {
            Failure::Plugin(sanitize_code(code))
        }
    }

    /// The code recorded in audit details.
    pub fn code(&self) -> String {
        match self {
            Failure::Oauth(e) => e.code().to_owned(),
            Failure::Plugin(c) => c.clone(),
            Failure::Unavailable => "temporarily_unavailable".to_owned(),
            Failure::Fault => "unknown_error".to_owned(),
        }
    }

    /// The OAuth JSON answer.
    pub fn response(&self) -> Response {
        match self {
            Failure::Oauth(e) => no_store_json(e.oauth_status(), oauth_error_body(*e)),
            Failure::Plugin(code) => no_store_json(
                400,
                json!({"error": "invalid_request", "error_description": code}).to_string(),
            ),
            Failure::Unavailable => no_store_json(
                503,
                json!({"error": "temporarily_unavailable", "error_description": "unknown_error"})
                    .to_string(),
            ),
            Failure::Fault => no_store_json(
                500,
                json!({"error": "server_error", "error_description": "unknown_error"}).to_string(),
            ),
        }
    }
}

/// RFC 6749 §5.2 limits `error_description` to `%x20-21 / %x23-5B / %x5D-7E`; anything else becomes `_`.
fn sanitize_code(code: &str) -> String {
    let clean: String = code
        .chars()
        .take(100)
        .map(|c| match c {
            ' ' | '!' | '#'..='[' | ']'..='~' => c,
            _ => '_',
        })
        .collect();
    if clean.is_empty() {
        "data_exchange_failed".to_owned()
    } else {
        clean
    }
}

/// A JSON body with `Cache-Control: no-store` and `Pragma: no-cache`.
pub fn no_store_json(status: u16, body: String) -> Response {
    let mut r = Response::new(status);
    for (name, value) in NO_STORE_HEADERS {
        r = r.with_header(name, value);
    }
    r.body = body.into_bytes();
    r
}

/// 405 naming the allowed methods.
pub fn method_not_allowed(allow: &str) -> Response {
    Response::new(405).with_header("allow", allow)
}

/// A 302 that no cache keeps.
pub fn redirect(location: &str) -> Response {
    Response::redirect(location).with_header("cache-control", "no-store")
}

/// The provider's own error page for an authorization request it must not redirect. Only our fixed error
/// codes appear on it: nothing from the request is echoed, and nothing links anywhere.
pub fn error_page(status: u16, error: EsignetError) -> Response {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Authorization error</title></head>\n\
         <body><h1>This sign-in request cannot be completed</h1>\n\
         <p>Error: <code>{}</code> (<code>{}</code>)</p>\n\
         <p>The application that sent you here made an invalid request. Close this page and contact the \
         application's support.</p></body></html>\n",
        error.authorize_error(),
        error.code()
    );
    Response::html(body)
        .with_status(status)
        .with_header("cache-control", "no-store")
        .with_header("content-security-policy", "default-src 'none'")
        .with_header("x-frame-options", "DENY")
        .with_header("referrer-policy", "no-referrer")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(r: &Response) -> serde_json::Value {
        serde_json::from_slice(&r.body).unwrap()
    }

    #[test]
    fn oauth_failures() {
        let r = Failure::Oauth(EsignetError::InvalidClient).response();
        assert_eq!(r.status, 400);
        assert_eq!(body(&r)["error"], "invalid_client");
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert_eq!(r.header("pragma"), Some("no-cache"));
        let r = Failure::Oauth(EsignetError::InvalidPublicKey).response();
        assert_eq!(
            body(&r),
            json!({"error": "invalid_request", "error_description": "invalid_public_key"})
        );
    }

    #[test]
    fn plugin_and_backend_failures() {
        assert_eq!(Failure::plugin("unknown_error"), Failure::Unavailable);
        let r = Failure::plugin("mock-ida-006\"\n").response();
        assert_eq!(r.status, 400);
        assert_eq!(
            body(&r),
            json!({"error": "invalid_request", "error_description": "mock-ida-006__"})
        );
        assert_eq!(Failure::plugin("").code(), "data_exchange_failed");
        assert_eq!(Failure::Unavailable.response().status, 503);
        assert_eq!(body(&Failure::Fault.response())["error"], "server_error");
    }

    #[test]
    fn error_page_names_the_error_only() {
        let r = error_page(400, EsignetError::InvalidRedirectUri);
        let text = String::from_utf8(r.body.clone()).unwrap();
        assert!(text.contains("invalid_redirect_uri") && !text.contains("href"));
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert_eq!(method_not_allowed("POST").header("allow"), Some("POST"));
    }
}
