//! `audit`: audit events and guest log lines, written as structured log records tagged with the component.
//! Guests must not pass secrets or personal data; the host also bounds each line's length.

use crate::bindings::endpoint::esignet::platform::audit::{Event, Host, Level, Status};
use crate::state::HostState;

const MAX_LINE: usize = 2048;

fn bounded(s: &str) -> &str {
    if s.len() <= MAX_LINE {
        return s;
    }
    let mut end = MAX_LINE;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl Host for HostState {
    async fn record(&mut self, event: Event) -> wasmtime::Result<()> {
        let details: serde_json::Map<String, serde_json::Value> = event
            .details
            .iter()
            .take(32)
            .map(|(k, v)| (bounded(k).to_string(), serde_json::Value::String(bounded(v).to_string())))
            .collect();
        tracing::info!(
            target: "audit",
            component = %self.env.spec.id,
            action = bounded(&event.action),
            status = match event.status { Status::Success => "SUCCESS", Status::Error => "ERROR" },
            transaction_id = event.transaction_id.as_deref().map(bounded),
            client_id = event.client_id.as_deref().map(bounded),
            details = %serde_json::Value::Object(details),
            "audit"
        );
        Ok(())
    }

    async fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let component = self.env.spec.id.as_str();
        let message = bounded(&message);
        match level {
            Level::Debug => tracing::debug!(target: "guest", component, "{message}"),
            Level::Info => tracing::info!(target: "guest", component, "{message}"),
            Level::Warn => tracing::warn!(target: "guest", component, "{message}"),
            Level::Error => tracing::error!(target: "guest", component, "{message}"),
        }
        Ok(())
    }
}
