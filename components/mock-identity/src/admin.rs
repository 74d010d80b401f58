//! The admin API of the mock identity system under `/v1/mock-identity-system` (the plugin's HTTP handler), in
//! eSignet's envelope: `POST /identity` (create), `PUT /identity` (partial update), `GET /identity/{id}` (the
//! identity without its PIN and password) and `GET /outbox/{id}` (the last OTP sent, only when
//! `outbox_enabled` is `true`; 404 otherwise).
//!
//! Every route needs the internal header or the admin bearer token ([`Settings::admin_allowed`]); otherwise 401
//! with error `unauthorized`. Business and validation failures answer 200 with `response: null` and the error
//! list, as eSignet does: `invalid_request` (envelope), one `invalid_<field>` per schema violation,
//! `duplicate_individual_id`, `invalid_individual_id` (no such identity). A backend outage answers 503
//! `unknown_error`. Unknown paths answer 404 and known paths with another method 405, both with empty bodies.

use esignet_core::clock::{Clock, SystemClock};
use esignet_core::envelope::{failure_codes, parse_request, success, DEFAULT_LEEWAY_MINUTES};
use esignet_core::random::OsRandom;
use esignet_plugin_sdk::audit;
use esignet_plugin_sdk::{Request, Response};
use serde_json::{json, Value};

use crate::identity::{apply_update, parse_create, update_target, FieldError, Secrets};
use crate::otp::{outbox_key, OutboxEntry};
use crate::schema::{check, Rule};
use crate::secrets::hash_secret;
use crate::settings::Settings;
use crate::store::{self, StoreError, StoredIdentity};

/// The path prefix of the admin API.
pub const PREFIX: &str = "/v1/mock-identity-system";

/// A route's outcome: either side is a finished response.
type Outcome = Result<Response, Response>;

/// Answers one admin request.
pub fn handle(req: &Request) -> Response {
    let settings = Settings::load();
    let now_ms = SystemClock.now_ms();
    let path = req.path.strip_prefix(PREFIX).unwrap_or(req.subpath());
    let route = match path.trim_end_matches('/').split('/').collect::<Vec<_>>().as_slice() {
        ["", "identity"] => Route::Identity,
        ["", "identity", id] => Route::IdentityById(id.to_string()),
        ["", "outbox", id] if settings.outbox_enabled => Route::Outbox(id.to_string()),
        _ => return Response::not_found(),
    };
    if !settings.admin_allowed(req.header("x-esignet-internal"), req.header("authorization")) {
        return envelope_error(401, &[("unauthorized", "unauthorized")], now_ms);
    }
    let outcome = match (req.method.as_str(), route) {
        ("POST", Route::Identity) => create(req, now_ms),
        ("PUT", Route::Identity) => update(req, now_ms),
        ("GET", Route::IdentityById(id)) => get_identity(&id, now_ms),
        ("GET", Route::Outbox(id)) => get_outbox(&id, now_ms),
        _ => Err(Response::new(405)),
    };
    outcome.unwrap_or_else(|failure| failure)
}

enum Route {
    Identity,
    IdentityById(String),
    Outbox(String),
}

fn create(req: &Request, now_ms: i64) -> Outcome {
    let request = envelope(req, now_ms)?;
    let (identity, secrets) = parse_create(&request).map_err(|e| field_errors(&e, now_ms))?;
    // Checked before hashing so that re-seeding known identities costs no KDF work; the insert still catches
    // a concurrent create.
    if store::find(&identity.individual_id).map_err(|e| store_failure(e, now_ms))?.is_some() {
        return Err(failure("duplicate_individual_id", now_ms));
    }
    let (pin_hash, password_hash) = hash_secrets(&secrets, None, now_ms)?;
    let pin_hash = pin_hash.ok_or_else(|| failure("invalid_pin", now_ms))?;
    let row = StoredIdentity { identity, pin_hash, password_hash, version: 1 };
    match store::insert(&row, now_ms / 1000) {
        Ok(()) => {}
        Err(StoreError::Duplicate) => return Err(failure("duplicate_individual_id", now_ms)),
        Err(e) => return Err(store_failure(e, now_ms)),
    }
    record("MOCK_IDENTITY_CREATE");
    ok(&json!({ "status": "mock identity data created successfully" }), now_ms)
}

fn update(req: &Request, now_ms: i64) -> Outcome {
    let request = envelope(req, now_ms)?;
    let Some(id) = update_target(&request) else {
        return Err(failure("invalid_individualid", now_ms));
    };
    // One retry when a concurrent update won the race between our read and our write.
    for _ in 0..2 {
        let stored = store::find(id).map_err(|e| store_failure(e, now_ms))?;
        let stored = stored.ok_or_else(|| failure("invalid_individual_id", now_ms))?;
        let (identity, secrets) = apply_update(&stored.identity, &request).map_err(|e| field_errors(&e, now_ms))?;
        let (pin_hash, password_hash) = hash_secrets(&secrets, stored.password_hash.clone(), now_ms)?;
        let row = StoredIdentity {
            identity,
            pin_hash: pin_hash.unwrap_or(stored.pin_hash),
            password_hash,
            version: stored.version,
        };
        match store::update(&row, now_ms / 1000) {
            Ok(()) => {
                record("MOCK_IDENTITY_UPDATE");
                return ok(&json!({ "status": "mock identity data updated successfully" }), now_ms);
            }
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(store_failure(e, now_ms)),
        }
    }
    Err(store_failure(StoreError::Conflict, now_ms))
}

fn get_identity(id: &str, now_ms: i64) -> Outcome {
    if !check(Rule::IndividualId, &Value::String(id.into())) {
        return Err(failure("invalid_individualid", now_ms));
    }
    let stored = store::find(id).map_err(|e| store_failure(e, now_ms))?;
    let stored = stored.ok_or_else(|| failure("invalid_individual_id", now_ms))?;
    ok(&stored.identity, now_ms)
}

fn get_outbox(id: &str, now_ms: i64) -> Outcome {
    let entry: Option<OutboxEntry> = store::cache_get(&outbox_key(id)).map_err(|e| store_failure(e, now_ms))?;
    let entry = entry.ok_or_else(|| failure("invalid_individual_id", now_ms))?;
    ok(&entry, now_ms)
}

/// The `request` member of the envelope, which must be a JSON object.
fn envelope(req: &Request, now_ms: i64) -> Result<Value, Response> {
    match parse_request::<Value>(&req.body, now_ms, DEFAULT_LEEWAY_MINUTES) {
        Ok(env) if env.request.is_object() => Ok(env.request),
        _ => Err(failure("invalid_request", now_ms)),
    }
}

/// The new PIN hash (when a PIN was given) and the password hash to store (new, else `keep`).
fn hash_secrets(
    secrets: &Secrets,
    keep: Option<String>,
    now_ms: i64,
) -> Result<(Option<String>, Option<String>), Response> {
    let hash = |s: &str| hash_secret(s, &mut OsRandom).map_err(|_| store_failure(StoreError::Broken, now_ms));
    let pin = secrets.pin.as_deref().map(hash).transpose()?;
    let password = match secrets.password.as_deref() {
        Some(p) => Some(hash(p)?),
        None => keep,
    };
    Ok((pin, password))
}

fn record(action: &str) {
    audit::record(&audit::Event {
        action: action.into(),
        status: audit::Status::Success,
        transaction_id: None,
        client_id: None,
        details: Vec::new(),
    });
}

fn ok<T: serde::Serialize>(response: &T, now_ms: i64) -> Outcome {
    match success(response, now_ms) {
        Ok(body) => Ok(json_response(200, body)),
        Err(_) => Err(store_failure(StoreError::Broken, now_ms)),
    }
}

fn failure(code: &str, now_ms: i64) -> Response {
    envelope_error(200, &[(code, code)], now_ms)
}

fn field_errors(errors: &[FieldError], now_ms: i64) -> Response {
    let pairs: Vec<(&str, &str)> = errors.iter().map(|e| (e.code.as_str(), e.message.as_str())).collect();
    envelope_error(200, &pairs, now_ms)
}

fn store_failure(e: StoreError, now_ms: i64) -> Response {
    audit::log(audit::Level::Error, &format!("mock identity store failed: {e:?}"));
    let status = if e == StoreError::Unavailable { 503 } else { 500 };
    envelope_error(status, &[("unknown_error", "unknown_error")], now_ms)
}

fn envelope_error(status: u16, errors: &[(&str, &str)], now_ms: i64) -> Response {
    json_response(status, failure_codes(errors, now_ms))
}

fn json_response(status: u16, body: String) -> Response {
    let mut resp = Response::new(status).with_header("content-type", "application/json");
    resp.body = body.into_bytes();
    resp
}
