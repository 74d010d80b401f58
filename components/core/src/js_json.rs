//! JSON text that JavaScript's `JSON.stringify(JSON.parse(text))` reproduces byte for byte.
//!
//! The UI recomputes `oauth-details-hash` from the parsed response with `JSON.stringify`, so the server must
//! hash and send text that survives that round trip unchanged. What must hold, and what this writer does:
//! - Compact: no whitespace between tokens.
//! - Strings escaped exactly as `JSON.stringify` does: `"` → `\"`, `\` → `\\`, U+0008/09/0A/0C/0D → `\b \t
//!   \n \f \r`, other controls below U+0020 → `\u00xx` (lower-case hex); everything else literal, including
//!   `/`, non-ASCII, U+007F and U+2028/U+2029 (Rust strings hold no lone surrogates).
//! - Numbers: JavaScript prints integers up to 2^53 − 1 exactly and floats in its own shortest form, so only
//!   integers within ±(2^53 − 1) are allowed (an integral float such as `5.0` is written `5`, `-0` as `0`);
//!   any other number is an error.
//! - Object key order: JavaScript enumerates array-index keys (`"0"`, `"7"`, … below 2^32 − 1) first in
//!   ascending numeric order, then the other keys in insertion order; [`to_js_json`] writes keys in that order
//!   (other keys in the map's own iteration order). Duplicate keys cannot occur (`serde_json::Map`).
//!
//! The same writer serves the consent hash with keys sorted case-insensitively ([`KeyOrder::CaseInsensitive`]).

use serde_json::{Map, Number, Value};

use crate::error::EsignetError;

/// Largest integer JavaScript represents exactly.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// How object keys are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrder {
    /// JavaScript's own property order (see the module docs).
    JavaScript,
    /// Sorted by lower-cased key, ties by the key itself (consent canonicalisation).
    CaseInsensitive,
}

/// Serializes `v` as `JSON.stringify` would re-serialize it; `invalid_input` for an unsupported number.
pub fn to_js_json(v: &Value) -> Result<String, EsignetError> {
    let mut out = String::new();
    write_value(&mut out, v, KeyOrder::JavaScript)?;
    Ok(out)
}

/// Checks that `v` can be written (config values passed to the UI can be checked at start-up).
pub fn check_js_safe(v: &Value) -> Result<(), EsignetError> {
    to_js_json(v).map(|_| ())
}

/// Appends `v` to `out` with the given key order.
pub fn write_value(out: &mut String, v: &Value, order: KeyOrder) -> Result<(), EsignetError> {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n)?,
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item, order)?;
            }
            out.push(']');
        }
        Value::Object(map) => write_object(out, map, order)?,
    }
    Ok(())
}

fn write_object(
    out: &mut String,
    map: &Map<String, Value>,
    order: KeyOrder,
) -> Result<(), EsignetError> {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    match order {
        KeyOrder::JavaScript => {
            // Stable sort: index keys first (numerically), the rest keep their order.
            entries.sort_by_key(|(k, _)| array_index(k).map_or((1, 0), |i| (0, i)));
        }
        KeyOrder::CaseInsensitive => {
            entries.sort_by(|(a, _), (b, _)| {
                a.to_lowercase()
                    .cmp(&b.to_lowercase())
                    .then_with(|| a.cmp(b))
            });
        }
    }
    out.push('{');
    for (i, (k, v)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, k);
        out.push(':');
        write_value(out, v, order)?;
    }
    out.push('}');
    Ok(())
}

/// The numeric value of a canonical array-index key (`0` or no leading zero, below 2^32 − 1).
fn array_index(k: &str) -> Option<u64> {
    if k.is_empty()
        || k.len() > 10
        || !k.bytes().all(|b| b.is_ascii_digit())
        || (k.len() > 1 && k.starts_with('0'))
    {
        return None;
    }
    k.parse::<u64>().ok().filter(|n| *n < u64::from(u32::MAX))
}

fn write_number(out: &mut String, n: &Number) -> Result<(), EsignetError> {
    if let Some(u) = n.as_u64() {
        if u <= MAX_SAFE_INTEGER {
            out.push_str(&u.to_string());
            return Ok(());
        }
    } else if let Some(i) = n.as_i64() {
        if i.unsigned_abs() <= MAX_SAFE_INTEGER {
            out.push_str(&i.to_string());
            return Ok(());
        }
    } else if let Some(f) = n.as_f64() {
        let safe = f.is_finite() && f.fract() == 0.0 && f.abs() <= MAX_SAFE_INTEGER as f64;
        if safe {
            // Exact: |f| < 2^53 and integral. `-0` prints as `0` in JavaScript.
            #[allow(clippy::cast_possible_truncation)]
            let i = f as i64;
            out.push_str(&i.to_string());
            return Ok(());
        }
    }
    Err(EsignetError::InvalidInput)
}

/// Appends `s` as a JSON string literal, escaped as `JSON.stringify` does.
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{0C}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_escaped_like_json_stringify() {
        let v = json!("a\"b\\c/d\u{08}\u{0C}\n\r\t\u{01}\u{1f}\u{7f}é漢\u{2028}😀");
        assert_eq!(
            to_js_json(&v).unwrap(),
            "\"a\\\"b\\\\c/d\\b\\f\\n\\r\\t\\u0001\\u001f\u{7f}é漢\u{2028}😀\""
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(
            to_js_json(&json!([0, -1, 42, 9_007_199_254_740_991u64, 5.0, -0.0])).unwrap(),
            "[0,-1,42,9007199254740991,5,0]"
        );
        assert_eq!(
            to_js_json(&json!(9_007_199_254_740_992u64)),
            Err(EsignetError::InvalidInput)
        );
        assert_eq!(
            to_js_json(&json!(-9_007_199_254_740_992i64)),
            Err(EsignetError::InvalidInput)
        );
        assert_eq!(to_js_json(&json!(0.5)), Err(EsignetError::InvalidInput));
        assert_eq!(
            check_js_safe(&json!({"a": [1, {"b": 1.5}]})),
            Err(EsignetError::InvalidInput)
        );
    }

    #[test]
    fn javascript_key_order_puts_index_keys_first() {
        let v = json!({"b": 1, "10": 2, "a": 3, "2": 4, "01": 5, "4294967295": 6});
        // serde_json's default map iterates sorted; index keys "2","10" move first, "01" and 2^32-1 do not.
        assert_eq!(
            to_js_json(&v).unwrap(),
            r#"{"2":4,"10":2,"01":5,"4294967295":6,"a":3,"b":1}"#
        );
    }

    #[test]
    fn case_insensitive_order() {
        let v = json!({"b": 1, "A": {"z": 1, "Y": 2}, "a": 3});
        let mut out = String::new();
        write_value(&mut out, &v, KeyOrder::CaseInsensitive).unwrap();
        assert_eq!(out, r#"{"A":{"Y":2,"z":1},"a":3,"b":1}"#);
    }

    #[test]
    fn compact_nesting() {
        assert_eq!(
            to_js_json(&json!({"x": [null, true, {"y": []}], "u": "https://a/b"})).unwrap(),
            r#"{"u":"https://a/b","x":[null,true,{"y":[]}]}"#
        );
    }
}
