//! Outgoing responses: constructors for the usual bodies (text, HTML, JSON, redirects, error names) and builders
//! for status and headers.

use serde::Serialize;

use crate::CapabilityError;

const TEXT: &str = "text/plain; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";
const JSON: &str = "application/json";

/// One HTTP response. Header names are written lower-case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// An empty response with `status`, e.g. `Response::new(204)`.
    pub fn new(status: u16) -> Self {
        Response { status, headers: Vec::new(), body: Vec::new() }
    }

    /// 200 with a `text/plain` body.
    pub fn text(body: impl Into<String>) -> Self {
        Self::with_body(TEXT, body.into().into_bytes())
    }

    /// 200 with a `text/html` body.
    pub fn html(body: impl Into<String>) -> Self {
        Self::with_body(HTML, body.into().into_bytes())
    }

    /// 200 with `value` serialised as JSON; a value that cannot be serialised (a map with non-string keys)
    /// gives 500 `{"error":"server_error"}` instead.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => Self::with_body(JSON, body),
            Err(_) => Self::error(500, "server_error"),
        }
    }

    /// 302 to `location`.
    pub fn redirect(location: &str) -> Self {
        Self::new(302).with_header("location", location)
    }

    /// 404 with an empty body.
    pub fn not_found() -> Self {
        Self::new(404)
    }

    /// `status` with the JSON body `{"error": code}`.
    pub fn error(status: u16, code: &str) -> Self {
        Self::json(&serde_json::json!({ "error": code })).with_status(status)
    }

    /// `{"error": "<variant>"}` with 503 for the unavailable variants and 400 for the others.
    pub fn capability_error(err: &impl CapabilityError) -> Self {
        let status = if err.is_unavailable() { 503 } else { 400 };
        Self::error(status, err.variant())
    }

    /// The same response with another status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// The same response with one more header (the name lower-cased; an earlier header of that name stays).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.to_string()));
        self
    }

    /// The first value of a header, the name compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn with_body(content_type: &str, body: Vec<u8>) -> Self {
        Response { status: 200, headers: vec![("content-type".into(), content_type.into())], body }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    struct Down;
    impl CapabilityError for Down {
        fn variant(&self) -> &'static str {
            "backend-unavailable"
        }
        fn is_unavailable(&self) -> bool {
            true
        }
    }

    struct Bad;
    impl CapabilityError for Bad {
        fn variant(&self) -> &'static str {
            "invalid-input"
        }
        fn is_unavailable(&self) -> bool {
            false
        }
    }

    #[test]
    fn text_html_and_json_set_content_type() {
        let t = Response::text("hello");
        assert_eq!((t.status, t.header("Content-Type"), t.body.as_slice()), (200, Some(TEXT), &b"hello"[..]));
        assert_eq!(Response::html("<p>").header("content-type"), Some(HTML));
        let j = Response::json(&serde_json::json!({"a": 1}));
        assert_eq!((j.header("content-type"), j.body.as_slice()), (Some(JSON), &br#"{"a":1}"#[..]));
    }

    #[test]
    fn unserialisable_json_becomes_500() {
        let mut map = BTreeMap::new();
        map.insert(vec![1u8], 1);
        let r = Response::json(&map);
        assert_eq!((r.status, r.body.as_slice()), (500, &br#"{"error":"server_error"}"#[..]));
    }

    #[test]
    fn redirect_sets_location() {
        let r = Response::redirect("https://rp.test/cb?code=x");
        assert_eq!((r.status, r.header("location")), (302, Some("https://rp.test/cb?code=x")));
        assert!(r.body.is_empty());
    }

    #[test]
    fn builders_change_status_and_add_headers() {
        let r = Response::text("x").with_status(201).with_header("Cache-Control", "no-store");
        assert_eq!(r.status, 201);
        assert_eq!(r.headers[1], ("cache-control".to_string(), "no-store".to_string()));
        assert_eq!(Response::not_found().status, 404);
        assert_eq!(Response::new(204).body, Vec::<u8>::new());
    }

    #[test]
    fn capability_errors_map_to_503_or_400() {
        let down = Response::capability_error(&Down);
        assert_eq!((down.status, down.body.as_slice()), (503, &br#"{"error":"backend-unavailable"}"#[..]));
        let bad = Response::capability_error(&Bad);
        assert_eq!((bad.status, bad.body.as_slice()), (400, &br#"{"error":"invalid-input"}"#[..]));
    }
}
