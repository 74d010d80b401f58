//! Test endpoint exercising every platform capability, one route per capability matched on the end of the path
//! (`/sql`, `/cache`, `/cache/notify`, `/cache/wait`, `/keys`, `/keys/verify`, `/keys/jwe`,
//! `/keys/jwe-roundtrip`, `/config`, `/audit`). Each answers JSON of what it saw; a capability error becomes
//! `{"error": "<variant>"}` with 503 for the unavailable variants and 400 otherwise, never a trap.

mod cache;
mod keys;
mod misc;
mod sql;

use esignet_sdk::{CapabilityError, Endpoint, Request, Response};

struct Caps;

impl Endpoint for Caps {
    fn handle(req: Request) -> Response {
        route(&req).unwrap_or_else(|failure| failure)
    }
}

/// A route's outcome: the error side is already the response to send.
type Outcome = Result<Response, Response>;

/// A route: the path suffix it answers and its handler.
type Route = (&'static str, fn(&Request) -> Outcome);

fn route(req: &Request) -> Outcome {
    let path = req.path.as_str();
    let routes: [Route; 11] = [
        ("/outbound", misc::outbound),
        ("/sql", sql::run),
        ("/cache/notify", cache::notify),
        ("/cache/wait", cache::wait),
        ("/cache", cache::run),
        ("/keys/verify", keys::verify),
        ("/keys/jwe-roundtrip", keys::jwe_roundtrip),
        ("/keys/jwe", keys::jwe),
        ("/keys", keys::run),
        ("/config", misc::config),
        ("/audit", misc::audit),
    ];
    match routes.iter().find(|(suffix, _)| path.ends_with(suffix)) {
        Some((_, handler)) => handler(req),
        None => Ok(Response::not_found()),
    }
}

/// Turns a capability error into its response, so routes can use `?`.
trait OrRespond<T> {
    fn or_respond(self) -> Result<T, Response>;
}

impl<T, E: CapabilityError> OrRespond<T> for Result<T, E> {
    fn or_respond(self) -> Result<T, Response> {
        self.map_err(|e| Response::capability_error(&e))
    }
}

/// A required query parameter, or 400 `invalid_request`.
fn required(req: &Request, name: &str) -> Result<String, Response> {
    req.query_param(name).ok_or_else(|| Response::error(400, "invalid_request"))
}

/// A value unique to this call (the `tag` query parameter when given), so repeated runs don't collide.
fn tag(req: &Request) -> String {
    req.query_param("tag").unwrap_or_else(|| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        format!("{}{:09}", now.as_secs(), now.subsec_nanos())
    })
}

esignet_sdk::export_endpoint!(Caps);
