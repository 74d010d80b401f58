//! Error answers of the OAuth endpoints (`/oauth/**`, reference §1.2) and of userinfo (§1.3, RFC 6750 §3).
//!
//! `/oauth/**`: JSON `{"error": ..., "error_description": ...}` with `Cache-Control: no-store` and
//! `Pragma: no-cache`; `error` follows [`EsignetError::oauth_error`] (internal codes collapse to
//! `invalid_request`) and `error_description` is always the eSignet code. Userinfo: 401 with no body and a
//! `WWW-Authenticate: Bearer error="..."` challenge (RFC 6750 §3.1), `DPoP ...` for DPoP-bound tokens.

use serde_json::json;

use crate::error::EsignetError;

/// Headers every `/oauth/**` error (and token) answer carries.
pub const NO_STORE_HEADERS: [(&str, &str); 3] = [
    ("content-type", "application/json"),
    ("cache-control", "no-store"),
    ("pragma", "no-cache"),
];

/// The JSON body for an `/oauth/**` error.
pub fn oauth_error_body(error: EsignetError) -> String {
    json!({ "error": error.oauth_error(), "error_description": error.code() }).to_string()
}

/// Status, headers and body of an `/oauth/**` error.
pub fn oauth_error_response(
    error: EsignetError,
) -> (u16, Vec<(&'static str, &'static str)>, String) {
    (
        error.oauth_status(),
        NO_STORE_HEADERS.to_vec(),
        oauth_error_body(error),
    )
}

/// The token scheme of a userinfo request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthScheme {
    /// `Authorization: Bearer`.
    Bearer,
    /// `Authorization: DPoP`.
    DPoP,
}

/// The RFC 6750 error for a userinfo failure: a missing or malformed `Authorization` header is
/// `invalid_request`, every token problem `invalid_token`.
pub fn userinfo_error_code(error: EsignetError) -> &'static str {
    match error {
        EsignetError::MissingHeader | EsignetError::InvalidRequest => "invalid_request",
        EsignetError::UseDpopNonce => "use_dpop_nonce",
        EsignetError::InvalidDpopProof => "invalid_dpop_proof",
        _ => "invalid_token",
    }
}

/// The `WWW-Authenticate` value, e.g. `Bearer error="invalid_token"`. `DPoP` challenges also list the
/// accepted proof algorithms.
pub fn www_authenticate(scheme: AuthScheme, error: &str, dpop_algs: &[&str]) -> String {
    match scheme {
        AuthScheme::Bearer => format!("Bearer error=\"{error}\""),
        AuthScheme::DPoP => format!("DPoP error=\"{error}\", algs=\"{}\"", dpop_algs.join(" ")),
    }
}

/// Status 401 and the `WWW-Authenticate` value for a userinfo failure.
pub fn userinfo_error_response(
    error: EsignetError,
    scheme: AuthScheme,
    dpop_algs: &[&str],
) -> (u16, String) {
    (
        401,
        www_authenticate(scheme, userinfo_error_code(error), dpop_algs),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_bodies() {
        assert_eq!(
            oauth_error_body(EsignetError::InvalidGrant),
            r#"{"error":"invalid_grant","error_description":"invalid_grant"}"#
        );
        assert_eq!(
            oauth_error_body(EsignetError::UsePkce),
            r#"{"error":"invalid_request","error_description":"use_pkce"}"#
        );
        assert_eq!(
            oauth_error_body(EsignetError::InvalidClient),
            r#"{"error":"invalid_client","error_description":"invalid_client"}"#
        );
        let (status, headers, _) = oauth_error_response(EsignetError::InvalidRedirectUri);
        assert_eq!(status, 400);
        assert!(
            headers.contains(&("cache-control", "no-store"))
                && headers.contains(&("pragma", "no-cache"))
        );
    }

    #[test]
    fn userinfo_challenges() {
        assert_eq!(
            userinfo_error_response(EsignetError::InvalidToken, AuthScheme::Bearer, &[]),
            (401, "Bearer error=\"invalid_token\"".to_owned())
        );
        assert_eq!(
            www_authenticate(
                AuthScheme::Bearer,
                userinfo_error_code(EsignetError::InvalidTransaction),
                &[]
            ),
            "Bearer error=\"invalid_token\""
        );
        assert_eq!(
            userinfo_error_code(EsignetError::MissingHeader),
            "invalid_request"
        );
        assert_eq!(
            www_authenticate(
                AuthScheme::DPoP,
                userinfo_error_code(EsignetError::UseDpopNonce),
                &["ES256", "PS256"]
            ),
            "DPoP error=\"use_dpop_nonce\", algs=\"ES256 PS256\""
        );
    }
}
