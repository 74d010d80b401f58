//! Audit events with eSignet's action names (`GENERATE_TOKEN`, `GET_USERINFO`). Only identifiers that are not
//! personal data go in: the transaction id, the client id and an error code. Never a token, a code, a claim, a
//! PSUT or an individual id.

use esignet_sdk::audit::{self, Event, Status};

/// eSignet's action for the token endpoint.
pub const GENERATE_TOKEN: &str = "GENERATE_TOKEN";
/// eSignet's action for the userinfo endpoint.
pub const GET_USERINFO: &str = "GET_USERINFO";

/// Records a success.
pub fn success(action: &str, transaction_id: Option<&str>, client_id: Option<&str>) {
    record(action, Status::Success, transaction_id, client_id, None);
}

/// Records a failure with its error code.
pub fn failure(action: &str, transaction_id: Option<&str>, client_id: Option<&str>, code: &str) {
    record(action, Status::Error, transaction_id, client_id, Some(code));
}

fn record(
    action: &str,
    status: Status,
    transaction_id: Option<&str>,
    client_id: Option<&str>,
    code: Option<&str>,
) {
    let event = Event {
        action: action.to_owned(),
        status,
        transaction_id: transaction_id.map(str::to_owned),
        client_id: client_id.map(str::to_owned),
        details: code
            .map(|c| vec![("errorCode".to_owned(), c.to_owned())])
            .unwrap_or_default(),
    };
    audit::record(&event);
}
