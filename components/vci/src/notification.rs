//! `POST <issuer>/vci/notification` (OpenID4VCI 1.0 §11): the wallet tells what became of a credential.
//!
//! Same access token as the credential request ([`crate::access`]). Body: a JSON object (as
//! `application/json`) with `notification_id` (string) and `event` (`credential_accepted`,
//! `credential_failure` or `credential_deleted`), optional `event_description` (a string of printable
//! ASCII); unknown members ignored. A malformed body is `invalid_notification_request`; an id this access token
//! was not given (unknown, expired, or another token's) is `invalid_notification_id`. Success is 204 and an
//! audit `VC_NOTIFICATION` with the event; the id stays valid, so repeating a notification is harmless
//! (idempotent). Nothing depends on a notification arriving.

use esignet_core::clock::{Clock, SystemClock};
use esignet_core::credential::CredentialConfigs;
use esignet_sdk::{cache, Request, Response};
use serde_json::Value;

use crate::access;
use crate::credential::notification_key;
use crate::events::{AuditContext, VC_NOTIFICATION};
use crate::reply::{method_not_allowed, no_content, VciError};
use crate::request::json_object;
use crate::settings::Settings;

/// The events §11.1 defines.
pub const EVENTS: [&str; 3] = [
    "credential_accepted",
    "credential_failure",
    "credential_deleted",
];

/// Handles a notification.
pub fn handle(req: &Request, settings: &Settings, configs: &CredentialConfigs) -> Response {
    if req.method != "POST" {
        return method_not_allowed("POST");
    }
    let mut ctx = AuditContext::default();
    match notify(req, settings, configs, &mut ctx) {
        Ok(()) => {
            ctx.record(VC_NOTIFICATION, None);
            no_content()
        }
        Err(e) => {
            ctx.record(VC_NOTIFICATION, Some(e.code()));
            e.response()
        }
    }
}

/// A valid notification's id and event.
pub fn parse(body: &serde_json::Map<String, Value>) -> Result<(String, String), VciError> {
    let bad = VciError::InvalidNotificationRequest;
    let id = body
        .get("notification_id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let id = id.ok_or(bad("notification_id is required"))?;
    let event = body
        .get("event")
        .and_then(Value::as_str)
        .ok_or(bad("event is required"))?;
    if !EVENTS.contains(&event) {
        return Err(bad("unknown event"));
    }
    if let Some(d) = body.get("event_description") {
        let printable = d
            .as_str()
            .is_some_and(|s| s.bytes().all(|c| (0x20..=0x7e).contains(&c)));
        if !printable {
            return Err(bad("event_description must be printable ASCII"));
        }
    }
    Ok((id.to_owned(), event.to_owned()))
}

fn notify(
    req: &Request,
    settings: &Settings,
    configs: &CredentialConfigs,
    ctx: &mut AuditContext,
) -> Result<(), VciError> {
    let auth = access::authorize(req, &settings.issuer, configs, SystemClock.now())?;
    ctx.transaction_id = Some(auth.grant.transaction_id.clone());
    ctx.client_id = Some(auth.grant.client_id.clone());
    let body = json_object(
        req,
        VciError::InvalidNotificationRequest("the body must be a JSON object"),
    )?;
    let (id, event) = parse(&body)?;
    ctx.detail("event", &event);
    match cache::get(&notification_key(&id)) {
        Ok(Some(owner)) if owner == auth.token_hash.as_bytes() => Ok(()),
        Ok(_) => Err(VciError::InvalidNotificationId),
        Err(e) => Err(VciError::capability(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn code(v: Value) -> &'static str {
        let Value::Object(m) = v else { unreachable!() };
        parse(&m).map(|_| "ok").unwrap_or_else(|e| e.code())
    }

    #[test]
    fn body_rules() {
        assert_eq!(
            code(json!({"notification_id": "n", "event": "credential_accepted", "x": 1})),
            "ok"
        );
        assert_eq!(
            code(
                json!({"notification_id": "n", "event": "credential_failure", "event_description": "no room"})
            ),
            "ok"
        );
        for bad in [
            json!({"event": "credential_accepted"}),
            json!({"notification_id": "n"}),
            json!({"notification_id": "n", "event": "credential_lost"}),
            json!({"notification_id": 5, "event": "credential_accepted"}),
            json!({"notification_id": "n", "event": "credential_failure", "event_description": "caf\u{e9}"}),
        ] {
            assert_eq!(code(bad.clone()), "invalid_notification_request", "{bad}");
        }
    }
}
