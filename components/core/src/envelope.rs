//! The eSignet request and response wrappers of the UI-facing APIs (reference §1.1).
//!
//! Request: `{"requestTime": "yyyy-MM-ddTHH:mm:ss.SSSZ", "request": {...}}`; other members are ignored.
//! `requestTime` must parse and lie within ±`leeway_minutes` (default 2) of now, and `request` must be present
//! and not `null`; otherwise `invalid_request`. A `request` that does not deserialize into the expected type is
//! also `invalid_request` (field-level codes are the caller's validation).
//!
//! Response: `{"responseTime": ..., "response": ..., "errors": [...]}` in that order. Success has `errors: []`;
//! failure has `response: null` and one `{errorCode, errorMessage}` per error, the message being the code again
//! (eSignet's quirk for its own exceptions). [`success_raw`] splices pre-serialized response bytes in unchanged,
//! which the oauth-details answer needs (its hash is over those exact bytes).

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::error::EsignetError;
use crate::timestamp::{format_utc_ms, parse_utc_ms};

/// eSignet's default `mosip.esignet.reqtime.leeway-minutes`.
pub const DEFAULT_LEEWAY_MINUTES: i64 = 2;

/// A parsed request wrapper.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestEnvelope<T> {
    /// `requestTime` in epoch milliseconds.
    pub request_time_ms: i64,
    /// The `request` member.
    pub request: T,
}

/// Parses and checks a request wrapper. See the module docs for the rules.
pub fn parse_request<T: DeserializeOwned>(
    body: &[u8],
    now_ms: i64,
    leeway_minutes: i64,
) -> Result<RequestEnvelope<T>, EsignetError> {
    let mut root: Value = serde_json::from_slice(body).map_err(|_| EsignetError::InvalidRequest)?;
    let obj = root.as_object_mut().ok_or(EsignetError::InvalidRequest)?;
    let time = obj
        .get("requestTime")
        .and_then(Value::as_str)
        .ok_or(EsignetError::InvalidRequest)?;
    let request_time_ms = parse_utc_ms(time).ok_or(EsignetError::InvalidRequest)?;
    let window = leeway_minutes.saturating_mul(60_000).unsigned_abs();
    if now_ms.abs_diff(request_time_ms) > window {
        return Err(EsignetError::InvalidRequest);
    }
    let request = match obj.remove("request") {
        None | Some(Value::Null) => return Err(EsignetError::InvalidRequest),
        Some(v) => serde_json::from_value(v).map_err(|_| EsignetError::InvalidRequest)?,
    };
    Ok(RequestEnvelope {
        request_time_ms,
        request,
    })
}

/// A success wrapper around a serializable response.
pub fn success<T: Serialize>(response: &T, now_ms: i64) -> Result<String, EsignetError> {
    let raw = serde_json::to_string(response).map_err(|_| EsignetError::UnknownError)?;
    Ok(success_raw(&raw, now_ms))
}

/// A success wrapper whose `response` member is `response_json` byte for byte (it must be valid JSON).
pub fn success_raw(response_json: &str, now_ms: i64) -> String {
    format!(
        "{{\"responseTime\":\"{}\",\"response\":{},\"errors\":[]}}",
        format_utc_ms(now_ms),
        response_json
    )
}

/// A failure wrapper with one error whose message is its code.
pub fn failure(error: EsignetError, now_ms: i64) -> String {
    failure_codes(&[(error.code(), error.code())], now_ms)
}

/// A failure wrapper with the given `(errorCode, errorMessage)` pairs (e.g. one per invalid field, with the
/// message `"<field>: <code>"` as eSignet's bean validation writes it).
pub fn failure_codes(errors: &[(&str, &str)], now_ms: i64) -> String {
    let errors: Vec<Value> = errors
        .iter()
        .map(|(code, message)| serde_json::json!({ "errorCode": code, "errorMessage": message }))
        .collect();
    let errors = Value::Array(errors).to_string();
    format!(
        "{{\"responseTime\":\"{}\",\"response\":null,\"errors\":{}}}",
        format_utc_ms(now_ms),
        errors
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    const NOW: i64 = 1_700_000_000_123; // 2023-11-14T22:13:20.123Z

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Req {
        transaction_id: String,
    }

    fn body(time: &str, request: &str) -> Vec<u8> {
        format!(
            "{{\"id\":\"x\",\"version\":\"1\",\"requestTime\":\"{time}\",\"request\":{request}}}"
        )
        .into_bytes()
    }

    #[test]
    fn accepts_within_leeway_and_ignores_extra_members() {
        let b = body(
            "2023-11-14T22:15:20.123Z",
            r#"{"transactionId":"t1","other":1}"#,
        );
        let env: RequestEnvelope<Req> = parse_request(&b, NOW, DEFAULT_LEEWAY_MINUTES).unwrap();
        assert_eq!(env.request.transaction_id, "t1");
        assert_eq!(env.request_time_ms, NOW + 120_000);
    }

    #[test]
    fn rejects_outside_leeway() {
        let late = body("2023-11-14T22:15:20.124Z", r#"{"transactionId":"t1"}"#);
        let early = body("2023-11-14T22:11:20.122Z", r#"{"transactionId":"t1"}"#);
        for b in [late, early] {
            assert_eq!(
                parse_request::<Req>(&b, NOW, 2).unwrap_err(),
                EsignetError::InvalidRequest
            );
        }
    }

    #[test]
    fn rejects_missing_pieces() {
        let cases: [&[u8]; 6] = [
            br#"{"requestTime":"2023-11-14T22:13:20.123Z"}"#,
            br#"{"requestTime":"2023-11-14T22:13:20.123Z","request":null}"#,
            br#"{"request":{"transactionId":"t"}}"#,
            br#"{"requestTime":"2023-11-14T22:13:20Z","request":{"transactionId":"t"}}"#,
            br#"{"requestTime":"2023-11-14T22:13:20.123Z","request":{"other":"t"}}"#,
            b"not json",
        ];
        for b in cases {
            assert_eq!(
                parse_request::<Req>(b, NOW, 2).unwrap_err(),
                EsignetError::InvalidRequest
            );
        }
    }

    #[test]
    fn builds_wrappers() {
        assert_eq!(
            success_raw(r#"{"a":"/"}"#, NOW),
            r#"{"responseTime":"2023-11-14T22:13:20.123Z","response":{"a":"/"},"errors":[]}"#
        );
        assert_eq!(
            failure(EsignetError::InvalidTransaction, NOW),
            r#"{"responseTime":"2023-11-14T22:13:20.123Z","response":null,"errors":[{"errorCode":"invalid_transaction","errorMessage":"invalid_transaction"}]}"#
        );
        let ok = success(&serde_json::json!({"transactionId": "t"}), NOW).unwrap();
        assert_eq!(
            ok,
            r#"{"responseTime":"2023-11-14T22:13:20.123Z","response":{"transactionId":"t"},"errors":[]}"#
        );
        let two = failure_codes(
            &[(
                "invalid_transaction_id",
                "transactionId: invalid_transaction_id",
            )],
            NOW,
        );
        assert!(two.contains(r#""errorMessage":"transactionId: invalid_transaction_id""#));
    }
}
