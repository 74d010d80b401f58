//! Answers and audit: a request ends as [`Done`] or a [`Failure`], which [`finish`] turns into the eSignet
//! envelope (HTTP 200 for success and validation errors, 401/403 for auth, 503 when a backend is down) and one
//! audit event. Error messages are `"<field>: <code>"` for field errors and the code itself otherwise; nothing
//! from the request body, no key and no token is echoed or logged.

use esignet_core::client::registration::{FieldError, Operation};
use esignet_core::envelope::{failure_codes, success};
use esignet_core::EsignetError;
use esignet_sdk::audit::{self, Event, Level, Status};
use esignet_sdk::Response;
use serde_json::json;

use crate::Route;

/// Who called: `internal` (the host), `own` (a token from the host's admin key) or `trusted` (external issuer),
/// with the token's `sub` when there is one.
pub struct Caller {
    pub kind: &'static str,
    pub subject: Option<String>,
}

/// A stored change.
pub struct Done {
    pub client_id: String,
    pub status: String,
    pub caller: Caller,
}

/// A refused or failed request.
#[derive(Debug)]
pub struct Failure {
    status: u16,
    errors: Vec<(Option<&'static str>, EsignetError)>,
}

pub type Outcome = Result<Done, Failure>;

impl Failure {
    /// One request-level error; 401 / 403 for the auth codes, 200 otherwise.
    pub fn one(error: EsignetError) -> Self {
        let status = match error {
            EsignetError::Unauthorized => 401,
            EsignetError::Forbidden => 403,
            _ => 200,
        };
        Failure {
            status,
            errors: vec![(None, error)],
        }
    }

    /// One error per invalid field (HTTP 200).
    pub fn fields(errors: Vec<FieldError>) -> Self {
        let errors = errors
            .into_iter()
            .map(|e| (Some(e.field).filter(|f| *f != "request"), e.error))
            .collect();
        Failure {
            status: 200,
            errors,
        }
    }

    /// A backend (database, cache, keys) is unreachable: 503 `unknown_error`.
    pub fn unavailable(what: &str) -> Self {
        audit::log(Level::Error, &format!("client-mgmt: {what} unavailable"));
        Failure {
            status: 503,
            errors: vec![(None, EsignetError::UnknownError)],
        }
    }

    /// An unexpected backend answer: logged (without parameters), answered as `unknown_error`.
    pub fn internal(what: &str) -> Self {
        audit::log(Level::Error, &format!("client-mgmt: {what}"));
        Failure {
            status: 200,
            errors: vec![(None, EsignetError::UnknownError)],
        }
    }
}

fn action(op: Operation) -> &'static str {
    match op {
        Operation::Create => "OAUTH_CLIENT_CREATE",
        Operation::Update => "OAUTH_CLIENT_UPDATE",
        Operation::Patch => "OAUTH_CLIENT_PATCH",
    }
}

fn api_name(route: &Route) -> &'static str {
    match route.api {
        esignet_core::client::registration::Api::Client => "client",
        esignet_core::client::registration::Api::OauthClient => "oauth-client",
        esignet_core::client::registration::Api::OidcClient => "oidc-client",
    }
}

/// The HTTP answer for an outcome, after recording its audit event.
pub fn finish(outcome: Outcome, route: &Route, now_ms: i64) -> Response {
    let mut details = vec![("api".to_owned(), api_name(route).to_owned())];
    match outcome {
        Ok(done) => {
            details.push(("caller".to_owned(), done.caller.kind.to_owned()));
            if let Some(sub) = done.caller.subject {
                details.push(("subject".to_owned(), sub));
            }
            details.push(("clientStatus".to_owned(), done.status.clone()));
            audit::record(&Event {
                action: action(route.op).to_owned(),
                status: Status::Success,
                transaction_id: None,
                client_id: Some(done.client_id.clone()),
                details,
            });
            let body = json!({ "clientId": done.client_id, "status": done.status });
            match success(&body, now_ms) {
                Ok(text) => envelope(200, text),
                Err(e) => envelope(200, failure_codes(&[(e.code(), e.code())], now_ms)),
            }
        }
        Err(failure) => {
            let codes: Vec<&str> = failure.errors.iter().map(|(_, e)| e.code()).collect();
            details.push(("errorCode".to_owned(), codes.join(",")));
            audit::record(&Event {
                action: action(route.op).to_owned(),
                status: Status::Error,
                transaction_id: None,
                client_id: route.path_id.clone().filter(|id| id.len() <= 100),
                details,
            });
            let messages: Vec<String> = failure
                .errors
                .iter()
                .map(|(field, e)| {
                    field.map_or_else(|| e.code().to_owned(), |f| format!("{f}: {}", e.code()))
                })
                .collect();
            let pairs: Vec<(&str, &str)> = failure
                .errors
                .iter()
                .zip(&messages)
                .map(|((_, e), m)| (e.code(), m.as_str()))
                .collect();
            envelope(failure.status, failure_codes(&pairs, now_ms))
        }
    }
}

fn envelope(status: u16, body: String) -> Response {
    let mut resp = Response::new(status)
        .with_header("content-type", "application/json")
        .with_header("cache-control", "no-store");
    if status == 401 {
        resp = resp.with_header("www-authenticate", "Bearer");
    }
    resp.body = body.into_bytes();
    resp
}
