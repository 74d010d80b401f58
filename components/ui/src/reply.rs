//! How the UI API answers: eSignet's response wrapper on every path, success or failure.
//!
//! Business and validation failures are HTTP 200 with `response: null` and `errors[]`, as eSignet does
//! (reference §1.1). Protocol-level refusals keep a telling status but the same wrapper body, so the UI can always
//! parse the answer: CSRF failure 403 (`invalid_csrf_token`), unknown path 404 (`not_found`), wrong method 405
//! (`method_not_allowed`, with `Allow`), a POST body not declared `application/json` 415 (`invalid_request`, as
//! Spring answers 415 there). A backend that is down is 503 `unknown_error`; a fault of ours is 500
//! `unknown_error`. Every answer carries `Cache-Control: no-store`.

use esignet_core::envelope::{failure_codes, success_raw};
use esignet_core::EsignetError;
use esignet_sdk::{CapabilityError, Response};

/// The error code of a CSRF failure (not an eSignet code: Spring answers a bare 403 there).
pub const INVALID_CSRF_TOKEN: &str = "invalid_csrf_token";

/// Why a request failed; becomes the response through [`Failure::into_response`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// One eSignet code, HTTP 200.
    Code(EsignetError),
    /// An identity-system (plugin) code passed through verbatim, HTTP 200.
    Plugin(String),
    /// Field validation: `(field, code)` pairs, written `"<field>: <code>"` as eSignet's bean validation does.
    Fields(Vec<(&'static str, EsignetError)>),
    /// A non-200 refusal with its code.
    Status(u16, &'static str),
}

impl From<EsignetError> for Failure {
    fn from(e: EsignetError) -> Self {
        Failure::Code(e)
    }
}

impl Failure {
    /// A capability error: 503 when the backend is unavailable, 500 otherwise (our own bad input).
    pub fn capability(err: &impl CapabilityError) -> Self {
        if err.is_unavailable() {
            Failure::Status(503, EsignetError::UnknownError.code())
        } else {
            Failure::Status(500, EsignetError::UnknownError.code())
        }
    }

    /// The code to record in audit events.
    pub fn code(&self) -> String {
        match self {
            Failure::Code(e) => e.code().to_owned(),
            Failure::Plugin(c) => c.clone(),
            Failure::Fields(f) => f
                .first()
                .map_or("invalid_request", |(_, e)| e.code())
                .to_owned(),
            Failure::Status(_, c) => (*c).to_owned(),
        }
    }

    /// The wrapper response.
    pub fn into_response(self, now_ms: i64) -> Response {
        let (status, body) = match &self {
            Failure::Code(e) => (200, failure_codes(&[(e.code(), e.code())], now_ms)),
            Failure::Plugin(code) => (200, failure_codes(&[(code, code)], now_ms)),
            Failure::Fields(fields) => {
                let messages: Vec<(&str, String)> = fields
                    .iter()
                    .map(|(f, e)| (e.code(), format!("{f}: {}", e.code())))
                    .collect();
                let pairs: Vec<(&str, &str)> =
                    messages.iter().map(|(c, m)| (*c, m.as_str())).collect();
                (200, failure_codes(&pairs, now_ms))
            }
            Failure::Status(status, code) => (*status, failure_codes(&[(code, code)], now_ms)),
        };
        json_response(status, body)
    }
}

/// A success wrapper around `response_json` (exact bytes).
pub fn success(response_json: &str, now_ms: i64) -> Response {
    json_response(200, success_raw(response_json, now_ms))
}

/// A success wrapper around a serializable value (members in declaration order); 500 if it cannot be written.
pub fn success_value<T: serde::Serialize>(value: &T, now_ms: i64) -> Response {
    match serde_json::to_string(value) {
        Ok(text) => success(&text, now_ms),
        Err(_) => Failure::Status(500, EsignetError::UnknownError.code()).into_response(now_ms),
    }
}

fn json_response(status: u16, body: String) -> Response {
    Response {
        status,
        headers: Vec::new(),
        body: body.into_bytes(),
    }
    .with_header("content-type", "application/json")
    .with_header("cache-control", "no-store")
}

/// Result type of the handlers.
pub type Outcome = Result<Response, Failure>;

#[cfg(test)]
mod tests {
    use super::*;

    fn body(r: &Response) -> serde_json::Value {
        serde_json::from_slice(&r.body).unwrap()
    }

    #[test]
    fn failures_are_wrapped() {
        let r = Failure::Code(EsignetError::InvalidTransaction).into_response(0);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("cache-control"), Some("no-store"));
        let b = body(&r);
        assert_eq!(b["response"], serde_json::Value::Null);
        assert_eq!(b["errors"][0]["errorCode"], "invalid_transaction");
        assert_eq!(b["responseTime"], "1970-01-01T00:00:00.000Z");

        let r = Failure::Fields(vec![
            ("transactionId", EsignetError::InvalidTransactionId),
            ("individualId", EsignetError::InvalidIdentifier),
        ])
        .into_response(0);
        let b = body(&r);
        assert_eq!(b["errors"][1]["errorCode"], "invalid_identifier");
        assert_eq!(
            b["errors"][1]["errorMessage"],
            "individualId: invalid_identifier"
        );

        let r = Failure::Status(403, INVALID_CSRF_TOKEN).into_response(0);
        assert_eq!(
            (r.status, body(&r)["errors"][0]["errorCode"].as_str()),
            (403, Some("invalid_csrf_token"))
        );
        let r = Failure::Plugin("mock-ida-006\"".into()).into_response(0);
        assert_eq!(body(&r)["errors"][0]["errorCode"], "mock-ida-006\"");
    }

    #[test]
    fn success_splices_exact_bytes() {
        let r = success(r#"{"b":1,"a":"/"}"#, 0);
        let text = String::from_utf8(r.body).unwrap();
        assert!(
            text.contains(r#""response":{"b":1,"a":"/"},"errors":[]"#),
            "{text}"
        );
    }

    #[test]
    fn codes_for_audit() {
        assert_eq!(Failure::Fields(vec![]).code(), "invalid_request");
        assert_eq!(Failure::Plugin("auth_failed".into()).code(), "auth_failed");
        assert_eq!(
            Failure::Status(503, "unknown_error").code(),
            "unknown_error"
        );
    }
}
