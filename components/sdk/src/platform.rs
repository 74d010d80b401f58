//! Glue between the generated `esignet:platform` bindings and the plain guest types: request/response
//! conversion, [`CapabilityError`] for each capability's error variant, and `From` conversions into SQL values.
//! `esignet-plugin-sdk` compiles this same file against its own bindings (same module paths, other world).

use esignet_guest_http::{CapabilityError, Endpoint, Request};

use crate::bindings::esignet::platform::{cache, http_types, keys, sql};

/// Runs `E` on a request in its generated form; what the export macros call.
pub fn handle<E: Endpoint>(req: http_types::Request) -> http_types::Response {
    let req = Request {
        method: req.method,
        path: req.path,
        query: req.query,
        route: req.route,
        headers: req.headers,
        body: req.body,
    };
    let resp = E::handle(req);
    http_types::Response { status: resp.status, headers: resp.headers, body: resp.body }
}

impl CapabilityError for keys::KeyError {
    fn variant(&self) -> &'static str {
        match self {
            keys::KeyError::UnknownPurpose(_) => "unknown-purpose",
            keys::KeyError::InvalidInput(_) => "invalid-input",
            keys::KeyError::VerificationFailed(_) => "verification-failed",
            keys::KeyError::BackendUnavailable => "backend-unavailable",
        }
    }

    fn is_unavailable(&self) -> bool {
        matches!(self, keys::KeyError::BackendUnavailable)
    }
}

impl CapabilityError for sql::SqlError {
    fn variant(&self) -> &'static str {
        match self {
            sql::SqlError::ConstraintViolation(_) => "constraint-violation",
            sql::SqlError::InvalidStatement(_) => "invalid-statement",
            sql::SqlError::Unavailable => "unavailable",
            sql::SqlError::TransactionClosed => "transaction-closed",
        }
    }

    fn is_unavailable(&self) -> bool {
        matches!(self, sql::SqlError::Unavailable)
    }
}

impl CapabilityError for cache::CacheError {
    fn variant(&self) -> &'static str {
        match self {
            cache::CacheError::InvalidInput(_) => "invalid-input",
            cache::CacheError::Unavailable => "unavailable",
        }
    }

    fn is_unavailable(&self) -> bool {
        matches!(self, cache::CacheError::Unavailable)
    }
}

impl From<i64> for sql::Value {
    fn from(v: i64) -> Self {
        sql::Value::Integer(v)
    }
}

impl From<bool> for sql::Value {
    fn from(v: bool) -> Self {
        sql::Value::Integer(i64::from(v))
    }
}

impl From<f64> for sql::Value {
    fn from(v: f64) -> Self {
        sql::Value::Real(v)
    }
}

impl From<&str> for sql::Value {
    fn from(v: &str) -> Self {
        sql::Value::Text(v.to_string())
    }
}

impl From<String> for sql::Value {
    fn from(v: String) -> Self {
        sql::Value::Text(v)
    }
}

impl From<Vec<u8>> for sql::Value {
    fn from(v: Vec<u8>) -> Self {
        sql::Value::Blob(v)
    }
}

impl From<&[u8]> for sql::Value {
    fn from(v: &[u8]) -> Self {
        sql::Value::Blob(v.to_vec())
    }
}

impl<T: Into<sql::Value>> From<Option<T>> for sql::Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(sql::Value::Null, Into::into)
    }
}

impl sql::Value {
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            sql::Value::Integer(v) => Some(*v),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            sql::Value::Real(v) => Some(*v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            sql::Value::Text(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            sql::Value::Blob(v) => Some(v),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, sql::Value::Null)
    }
}

impl sql::RowSet {
    /// The value of column `name` in row `row`; none when either is out of range.
    pub fn get(&self, row: usize, name: &str) -> Option<&sql::Value> {
        let col = self.columns.iter().position(|c| c == name)?;
        self.rows.get(row)?.get(col)
    }
}

#[cfg(test)]
mod tests {
    use esignet_guest_http::Response;

    use super::*;

    struct Echo;
    impl Endpoint for Echo {
        fn handle(req: Request) -> Response {
            Response::text(req.subpath().to_string()).with_header("x-method", &req.method)
        }
    }

    #[test]
    fn handle_converts_both_ways() {
        let req = http_types::Request {
            method: "GET".into(),
            path: "/r/a".into(),
            query: String::new(),
            route: "/r".into(),
            headers: vec![],
            body: vec![],
        };
        let resp = handle::<Echo>(req);
        assert_eq!((resp.status, resp.body.as_slice()), (200, &b"/a"[..]));
        assert!(resp.headers.contains(&("x-method".to_string(), "GET".to_string())));
    }

    #[test]
    fn errors_name_their_variant() {
        assert_eq!(keys::KeyError::UnknownPurpose("x".into()).variant(), "unknown-purpose");
        assert!(keys::KeyError::BackendUnavailable.is_unavailable());
        assert_eq!(sql::SqlError::TransactionClosed.variant(), "transaction-closed");
        assert!(sql::SqlError::Unavailable.is_unavailable());
        assert!(!cache::CacheError::InvalidInput("k".into()).is_unavailable());
        let resp = Response::capability_error(&cache::CacheError::Unavailable);
        assert_eq!((resp.status, resp.body.as_slice()), (503, &br#"{"error":"unavailable"}"#[..]));
    }

    #[test]
    fn values_convert_and_read_back() {
        assert_eq!(sql::Value::from(7i64).as_i64(), Some(7));
        assert_eq!(sql::Value::from(true).as_i64(), Some(1));
        assert_eq!(sql::Value::from("t").as_str(), Some("t"));
        assert_eq!(sql::Value::from(&b"\x00"[..]).as_bytes(), Some(&b"\x00"[..]));
        assert!(sql::Value::from(None::<i64>).is_null());
        assert_eq!(sql::Value::from(Some(1.5)).as_f64(), Some(1.5));
        let rows = sql::RowSet { columns: vec!["a".into(), "b".into()], rows: vec![vec![1i64.into(), "x".into()]] };
        assert_eq!(rows.get(0, "b").and_then(|v| v.as_str()), Some("x"));
        assert!(rows.get(1, "b").is_none() && rows.get(0, "c").is_none());
    }
}
