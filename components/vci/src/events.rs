//! Audit events of the issuer: `VC_ISSUANCE` for every credential request (success or the error code) and
//! `VC_NOTIFICATION` for every wallet notification. They carry the login's transaction id, the client, the
//! configuration id, the format, the access token's hash and the error code or notification event — never a
//! claim, a disclosure, a credential, a proof or a token.

use esignet_sdk::audit::{self, Event, Status};

/// Credential issuance.
pub const VC_ISSUANCE: &str = "VC_ISSUANCE";
/// A wallet's notification.
pub const VC_NOTIFICATION: &str = "VC_NOTIFICATION";

/// What an audit record names, filled in as the request is understood.
#[derive(Debug, Clone, Default)]
pub struct AuditContext {
    /// The login transaction.
    pub transaction_id: Option<String>,
    /// The client.
    pub client_id: Option<String>,
    /// Non-personal details (`credentialConfigurationId`, `format`, `accessTokenHash`, `claimsSource`, `event`).
    pub details: Vec<(String, String)>,
}

impl AuditContext {
    /// Adds a detail.
    pub fn detail(&mut self, name: &str, value: &str) {
        self.details.push((name.to_owned(), value.to_owned()));
    }

    /// Records the event: success, or failure with `error_code`.
    pub fn record(mut self, action: &str, error_code: Option<&str>) {
        let status = match error_code {
            Some(code) => {
                self.detail("errorCode", code);
                Status::Error
            }
            None => Status::Success,
        };
        audit::record(&Event {
            action: action.to_owned(),
            status,
            transaction_id: self.transaction_id,
            client_id: self.client_id,
            details: self.details,
        });
    }
}
