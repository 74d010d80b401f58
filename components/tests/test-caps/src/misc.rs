//! `/config?name=N` answers the variable as text (404 when unset); `/audit` records one event, logs one line and
//! answers 204.

use esignet_sdk::audit::{self, Event, Level, Status};
use esignet_sdk::config;
use esignet_sdk::{Request, Response};

use crate::{required, Outcome};

pub fn config(req: &Request) -> Outcome {
    let name = required(req, "name")?;
    Ok(config::get(&name).map_or_else(Response::not_found, Response::text))
}

pub fn audit(_req: &Request) -> Outcome {
    audit::record(&Event {
        action: "CAPS_TEST".into(),
        status: Status::Success,
        transaction_id: Some("txn-caps".into()),
        client_id: None,
        details: vec![("step".into(), "audit".into())],
    });
    audit::log(Level::Info, "test-caps: audit route called");
    Ok(Response::new(204))
}

/// `/outbound?url=U` sends a GET to `U` through `outbound-http` and answers what came back, or the error variant.
pub fn outbound(req: &Request) -> Outcome {
    use esignet_sdk::outbound_http::{self, HttpError, OutgoingRequest};
    let url = required(req, "url")?;
    let request = OutgoingRequest { method: "GET".into(), url, headers: vec![], body: vec![] };
    match outbound_http::send(&request) {
        Ok(resp) => Ok(Response::json(&serde_json::json!({
            "status": resp.status,
            "body": String::from_utf8_lossy(&resp.body),
        }))),
        Err(e) => {
            let variant = match e {
                HttpError::NotAllowed(_) => "not-allowed",
                HttpError::InvalidRequest(_) => "invalid-request",
                HttpError::Unavailable(_) => "unavailable",
                HttpError::Timeout => "timeout",
            };
            Ok(Response::json(&serde_json::json!({ "error": variant })).with_status(400))
        }
    }
}
