//! `outbound-http`: a component reaches only the hosts its `allowed_outbound_hosts` lists (Spin's syntax:
//! `scheme://host[:port]`, with `*` for any scheme, host or port and `*.domain` for subdomains). Redirects are not
//! followed, responses are bounded, and every call has a timeout.

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use crate::bindings::endpoint::esignet::platform::http_types::Response;
use crate::bindings::endpoint::esignet::platform::outbound_http::{Host, HttpError, OutgoingRequest};
use crate::state::HostState;

const MAX_RESPONSE_BYTES: u64 = 4 << 20;
const TIMEOUT: Duration = Duration::from_secs(10);

/// True when `url`'s scheme, host and port match one of the allowed patterns.
pub fn allowed(patterns: &[String], url: &url::Url) -> bool {
    let Some(host) = url.host_str() else { return false };
    let Some(port) = url.port_or_known_default() else { return false };
    patterns.iter().any(|p| pattern_matches(p, url.scheme(), host, port))
}

fn pattern_matches(pattern: &str, scheme: &str, host: &str, port: u16) -> bool {
    let Some((p_scheme, rest)) = pattern.split_once("://") else { return false };
    let rest = rest.trim_end_matches('/');
    let (p_host, p_port) = match rest.rsplit_once(':') {
        Some((h, port)) if port == "*" || port.parse::<u16>().is_ok() => (h, Some(port)),
        _ => (rest, None),
    };
    let p_host = p_host.trim_start_matches('[').trim_end_matches(']');
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let scheme_ok = p_scheme == "*" || p_scheme.eq_ignore_ascii_case(scheme);
    let host = host.to_ascii_lowercase();
    let p_host = p_host.to_ascii_lowercase();
    let host_ok = p_host == "*"
        || p_host == host
        || p_host.strip_prefix("*.").is_some_and(|domain| host.ends_with(&format!(".{domain}")));
    let port_ok = match p_port {
        Some("*") => true,
        Some(n) => n.parse::<u16>().is_ok_and(|n| n == port),
        None => match p_scheme {
            "https" => port == 443,
            "http" => port == 80,
            _ => false,
        },
    };
    scheme_ok && host_ok && port_ok
}

fn send_blocking(req: OutgoingRequest, url: url::Url) -> Result<Response, HttpError> {
    let tls = native_tls::TlsConnector::new().map_err(|e| HttpError::Unavailable(format!("TLS: {e}")))?;
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(TIMEOUT)
        .timeout(TIMEOUT)
        .redirects(0)
        .tls_connector(Arc::new(tls))
        .build();
    let mut call = agent.request_url(&req.method, &url);
    for (name, value) in &req.headers {
        call = call.set(name, value);
    }
    let result = if req.body.is_empty() { call.call() } else { call.send_bytes(&req.body) };
    let resp = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(ureq::Error::Transport(t)) => {
            let text = t.to_string();
            return Err(if text.contains("timed out") { HttpError::Timeout } else { HttpError::Unavailable(text) });
        }
    };
    let status = resp.status();
    let headers = resp
        .headers_names()
        .into_iter()
        .filter_map(|n| resp.header(&n).map(|v| (n.to_ascii_lowercase(), v.to_string())))
        .collect();
    let mut body = Vec::new();
    resp.into_reader()
        .take(MAX_RESPONSE_BYTES + 1)
        .read_to_end(&mut body)
        .map_err(|e| HttpError::Unavailable(e.to_string()))?;
    if body.len() as u64 > MAX_RESPONSE_BYTES {
        return Err(HttpError::Unavailable("response too large".into()));
    }
    Ok(Response { status, headers, body })
}

impl Host for HostState {
    async fn send(&mut self, req: OutgoingRequest) -> wasmtime::Result<Result<Response, HttpError>> {
        let url = match url::Url::parse(&req.url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => u,
            _ => return Ok(Err(HttpError::InvalidRequest("an absolute http(s) URL is required".into()))),
        };
        if !allowed(&self.env.spec.allowed_outbound_hosts, &url) {
            tracing::warn!(component = %self.env.spec.id, host = ?url.host_str(), "outbound request to a host not allowed");
            return Ok(Err(HttpError::NotAllowed(format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default()))));
        }
        let result = tokio::task::spawn_blocking(move || send_blocking(req, url))
            .await
            .unwrap_or_else(|e| Err(HttpError::Unavailable(e.to_string())));
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(patterns: &[&str], url: &str) -> bool {
        let patterns: Vec<String> = patterns.iter().map(|s| s.to_string()).collect();
        allowed(&patterns, &url::Url::parse(url).unwrap())
    }

    #[test]
    fn patterns_follow_spin_syntax() {
        assert!(ok(&["https://ida.example.org"], "https://ida.example.org/v1/x"));
        assert!(!ok(&["https://ida.example.org"], "http://ida.example.org/"));
        assert!(!ok(&["https://ida.example.org"], "https://ida.example.org:8443/"));
        assert!(!ok(&["https://ida.example.org"], "https://ida.example.org.evil.com/"));
        assert!(ok(&["https://*.example.org"], "https://a.b.example.org/"));
        assert!(!ok(&["https://*.example.org"], "https://example.org.evil/"));
        assert!(ok(&["http://127.0.0.1:8080"], "http://127.0.0.1:8080/a"));
        assert!(!ok(&["http://127.0.0.1:8080"], "http://127.0.0.1:8081/a"));
        assert!(ok(&["*://127.0.0.1:*"], "http://127.0.0.1:9/"));
        assert!(!ok(&[], "https://ida.example.org/"));
    }
}
