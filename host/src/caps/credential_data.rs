//! The `credential-data` import of endpoint components (the `vci` issuer): each call runs the credential-data
//! plugin that `spin.toml` binds to the endpoint (`credential_data_plugin`) on a fresh plugin instance in its own
//! sandbox. Without a binding every call answers `not-bound`, and the endpoint keeps its default source (the
//! KYC exchange's claims). A plugin that traps or runs out of memory, or answers something other than one JSON
//! object of bounded size, yields `failed`; one that exceeds its CPU budget yields `unavailable`. The detail is
//! logged and counted; nothing of the answer itself (personal data) is logged.

use crate::bindings::credential_data_plugin::exports::esignet::plugin::credential_data as pl;
use crate::bindings::endpoint::esignet::plugin::credential_data as ep;
use crate::invoke::{call_credential_data, InvokeError};
use crate::state::HostState;

/// The largest answer accepted from a plugin (the claims of one credential).
pub const MAX_CLAIMS_BYTES: usize = 256 * 1024;

/// The longest reason text of a plugin's error that is logged and passed on.
const MAX_REASON_CHARS: usize = 200;

fn reason(text: &str) -> String {
    text.chars().take(MAX_REASON_CHARS).filter(|c| !c.is_control() && !bidi_control(*c)).collect()
}

/// Bidirectional formatting characters, which can make a log line read differently from what it holds.
fn bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Whether a plugin's answer is usable: one JSON object, at most [`MAX_CLAIMS_BYTES`].
pub fn usable_claims(json: &str) -> Result<(), &'static str> {
    if json.len() > MAX_CLAIMS_BYTES {
        return Err("the answer exceeds the size limit");
    }
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        Ok(_) => Err("the answer is JSON but not an object"),
        Err(_) => Err("the answer is not JSON"),
    }
}

impl HostState {
    /// Logs and counts a failure the plugin reported or the host found in its answer.
    fn credential_data_failed(&self, plugin: &str, kind: &str, detail: &str) -> ep::DataError {
        tracing::error!(component = %self.env.spec.id, plugin, kind, detail, "credential-data plugin failed");
        self.env.platform.metrics.plugin_failure(plugin, kind);
        ep::DataError::Failed("the credential-data plugin failed".into())
    }
}

impl ep::Host for HostState {
    async fn fetch(&mut self, req: ep::DataRequest) -> wasmtime::Result<Result<String, ep::DataError>> {
        let Some(slot) = self.env.credential_data.clone() else {
            return Ok(Err(ep::DataError::NotBound));
        };
        let req = pl::DataRequest {
            credential_configuration_id: req.credential_configuration_id,
            format: req.format,
            claims: req.claims,
            subject: req.subject,
            client_id: req.client_id,
            transaction_id: req.transaction_id,
            kyc_claims: req.kyc_claims,
            claims_locales: req.claims_locales,
        };
        let plugin = slot.id.as_str();
        let component = self.env.spec.id.clone();
        Ok(match call_credential_data(&slot, &req).await {
            Ok(Ok(json)) => match usable_claims(&json) {
                Ok(()) => Ok(json),
                Err(why) => Err(self.credential_data_failed(plugin, "invalid_answer", why)),
            },
            Ok(Err(pl::DataError::NotFound)) => Err(ep::DataError::NotFound),
            Ok(Err(pl::DataError::Denied(text))) => {
                let text = reason(&text);
                tracing::warn!(component, plugin, reason = %text, "credential-data plugin denied the data");
                Err(ep::DataError::Denied(text))
            }
            Ok(Err(pl::DataError::Unavailable(text))) => {
                let text = reason(&text);
                tracing::warn!(component, plugin, reason = %text, "credential-data source unavailable");
                Err(ep::DataError::Unavailable(text))
            }
            Ok(Err(pl::DataError::Failed(text))) => Err(self.credential_data_failed(plugin, "failed", &reason(&text))),
            Ok(Err(pl::DataError::NotBound)) => {
                Err(self.credential_data_failed(plugin, "invalid_answer", "the plugin answered not-bound"))
            }
            Err(InvokeError::Timeout(_)) => {
                Err(ep::DataError::Unavailable("the credential-data plugin exceeded its CPU budget".into()))
            }
            // Traps, memory and a missing plugin are logged and counted by `call_credential_data`.
            Err(e) => Err(ep::DataError::Failed(format!("the credential-data plugin failed ({})", e.kind()))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_bounded_json_objects_are_usable() {
        assert!(usable_claims(r#"{"given_name": "A", "address": {"locality": "X"}}"#).is_ok());
        assert!(usable_claims("{}").is_ok());
        assert_eq!(usable_claims("[1]"), Err("the answer is JSON but not an object"));
        assert_eq!(usable_claims("\"x\""), Err("the answer is JSON but not an object"));
        assert_eq!(usable_claims("{"), Err("the answer is not JSON"));
        let big = format!("{{\"a\": \"{}\"}}", "x".repeat(MAX_CLAIMS_BYTES));
        assert_eq!(usable_claims(&big), Err("the answer exceeds the size limit"));
    }

    #[test]
    fn reasons_are_short_single_lines() {
        assert_eq!(reason("no\nrecord"), "norecord");
        assert_eq!(reason("abc\u{202E}fed\u{2066}x"), "abcfedx");
        assert_eq!(reason(&"x".repeat(1000)).len(), MAX_REASON_CHARS);
    }
}
