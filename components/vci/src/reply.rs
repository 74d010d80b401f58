//! Every answer of the issuer in one place: the spec's error codes with their HTTP status (OpenID4VCI 1.0
//! §8.3.1, §11.3; RFC 6750 §3 for the access token), success bodies, and the headers they all carry.
//!
//! Errors are JSON `{"error", "error_description"}` with `Cache-Control: no-store`; descriptions are fixed
//! ASCII texts, never anything from the request. Access-token problems add a `WWW-Authenticate: Bearer`
//! challenge: no token at all gets the bare challenge (RFC 6750 §3.1), a malformed `Authorization` header
//! `invalid_request` (400), a bad, expired or revoked token `invalid_token` (401), a token without the
//! needed credential scope `insufficient_scope` (403). Backends that are down give 503
//! `temporarily_unavailable`; our own faults 500 `server_error`.

use esignet_core::bearer::BearerProblem;
use esignet_sdk::{CapabilityError, Response};
use serde_json::json;

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VciError {
    /// The access token is missing, malformed or not valid.
    Bearer(BearerProblem),
    /// The token lacks the credential scope the request needs.
    InsufficientScope,
    /// A missing, unsupported, repeated or malformed parameter.
    InvalidCredentialRequest(&'static str),
    /// `credential_configuration_id` names no configuration.
    UnknownCredentialConfiguration,
    /// `credential_identifier` names nothing this token was given.
    UnknownCredentialIdentifier,
    /// `proofs` missing or a proof invalid.
    InvalidProof(&'static str),
    /// The proof's `nonce` was never issued, has expired or was already used.
    InvalidNonce,
    /// Encryption was asked for; this issuer offers none.
    InvalidEncryptionParameters,
    /// The data for the credential is not there.
    CredentialRequestDenied(&'static str),
    /// Notification for an id this token was not given.
    InvalidNotificationId,
    /// A malformed notification.
    InvalidNotificationRequest(&'static str),
    /// A backend is down.
    Unavailable,
    /// A fault on our side.
    Fault,
}

impl VciError {
    /// From a capability error: unavailable, or a fault.
    pub fn capability(e: &impl CapabilityError) -> Self {
        if e.is_unavailable() {
            VciError::Unavailable
        } else {
            VciError::Fault
        }
    }

    /// The spec's error code.
    pub fn code(self) -> &'static str {
        match self {
            VciError::Bearer(BearerProblem::InvalidRequest) => "invalid_request",
            VciError::Bearer(_) => "invalid_token",
            VciError::InsufficientScope => "insufficient_scope",
            VciError::InvalidCredentialRequest(_) => "invalid_credential_request",
            VciError::UnknownCredentialConfiguration => "unknown_credential_configuration",
            VciError::UnknownCredentialIdentifier => "unknown_credential_identifier",
            VciError::InvalidProof(_) => "invalid_proof",
            VciError::InvalidNonce => "invalid_nonce",
            VciError::InvalidEncryptionParameters => "invalid_encryption_parameters",
            VciError::CredentialRequestDenied(_) => "credential_request_denied",
            VciError::InvalidNotificationId => "invalid_notification_id",
            VciError::InvalidNotificationRequest(_) => "invalid_notification_request",
            VciError::Unavailable => "temporarily_unavailable",
            VciError::Fault => "server_error",
        }
    }

    fn status(self) -> u16 {
        match self {
            VciError::Bearer(p) => p.challenge().0,
            VciError::InsufficientScope => 403,
            VciError::Unavailable => 503,
            VciError::Fault => 500,
            _ => 400,
        }
    }

    fn description(self) -> &'static str {
        match self {
            VciError::Bearer(BearerProblem::Missing) => {
                "an access token is required in the Authorization header"
            }
            VciError::Bearer(BearerProblem::InvalidRequest) => "malformed Authorization header",
            VciError::Bearer(BearerProblem::InvalidToken) => {
                "the access token is invalid, expired or revoked"
            }
            VciError::InsufficientScope => "the access token does not grant this credential",
            VciError::InvalidCredentialRequest(d)
            | VciError::InvalidProof(d)
            | VciError::CredentialRequestDenied(d)
            | VciError::InvalidNotificationRequest(d) => d,
            VciError::UnknownCredentialConfiguration => "unknown credential_configuration_id",
            VciError::UnknownCredentialIdentifier => "unknown credential_identifier",
            VciError::InvalidNonce => "the proof nonce is unknown, expired or already used",
            VciError::InvalidEncryptionParameters => {
                "credential response encryption is not supported"
            }
            VciError::InvalidNotificationId => "unknown notification_id",
            VciError::Unavailable => "a backend is unavailable; retry later",
            VciError::Fault => "internal error",
        }
    }

    /// The HTTP answer.
    pub fn response(self) -> Response {
        let body = json!({"error": self.code(), "error_description": self.description()});
        let r = no_store_json(self.status(), &body.to_string());
        match self {
            VciError::Bearer(p) => r.with_header("www-authenticate", p.challenge().1),
            VciError::InsufficientScope => {
                r.with_header("www-authenticate", "Bearer error=\"insufficient_scope\"")
            }
            _ => r,
        }
    }
}

/// A JSON body that no cache keeps.
pub fn no_store_json(status: u16, body: &str) -> Response {
    let mut r = Response::new(status)
        .with_header("content-type", "application/json")
        .with_header("cache-control", "no-store")
        .with_header("pragma", "no-cache");
    r.body = body.as_bytes().to_vec();
    r
}

/// A public JSON document (metadata).
pub fn document(body: &str) -> Response {
    let mut r = Response::new(200)
        .with_header("content-type", "application/json")
        .with_header("cache-control", "public, max-age=300");
    r.body = body.as_bytes().to_vec();
    r
}

/// 204 that no cache keeps.
pub fn no_content() -> Response {
    Response::new(204).with_header("cache-control", "no-store")
}

/// 405 naming the allowed methods.
pub fn method_not_allowed(allow: &str) -> Response {
    Response::new(405).with_header("allow", allow)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(r: &Response) -> serde_json::Value {
        serde_json::from_slice(&r.body).unwrap()
    }

    #[test]
    fn spec_codes_and_statuses() {
        let r = VciError::InvalidProof("proof typ must be openid4vci-proof+jwt").response();
        assert_eq!(r.status, 400);
        assert_eq!(body(&r)["error"], "invalid_proof");
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert!(r.header("www-authenticate").is_none());
        let r = VciError::Bearer(BearerProblem::Missing).response();
        assert_eq!(
            (r.status, r.header("www-authenticate")),
            (401, Some("Bearer"))
        );
        let r = VciError::Bearer(BearerProblem::InvalidToken).response();
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer error=\"invalid_token\"")
        );
        let r = VciError::InsufficientScope.response();
        assert_eq!(
            (r.status, body(&r)["error"].as_str()),
            (403, Some("insufficient_scope"))
        );
        assert_eq!(VciError::Unavailable.response().status, 503);
        assert_eq!(body(&VciError::Fault.response())["error"], "server_error");
        assert_eq!(
            VciError::UnknownCredentialConfiguration.code(),
            "unknown_credential_configuration"
        );
    }

    #[test]
    fn descriptions_are_plain_ascii() {
        let all = [
            VciError::Bearer(BearerProblem::InvalidRequest),
            VciError::InvalidNonce,
            VciError::InvalidEncryptionParameters,
            VciError::InvalidNotificationId,
            VciError::UnknownCredentialIdentifier,
        ];
        for e in all {
            let d = e.description();
            assert!(
                d.bytes()
                    .all(|c| (0x20..=0x7e).contains(&c) && c != b'"' && c != b'\\'),
                "{d}"
            );
        }
    }
}
