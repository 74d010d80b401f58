//! Knowledge-based identification: the KBI challenge is base64url (padding optional) of a JSON object whose
//! members are identity fields; it passes when every configured field is present and equals the identity's.
//!
//! The field list comes from the config variable `kbi_fields` (comma-separated schema names), default
//! [`DEFAULT_FIELDS`] = `fullName,dateOfBirth`. `individualId` is ignored if listed (the id is already the
//! login name). Comparison rules:
//! - language-tagged fields (`fullName`, `givenName`, ...) compare with the identity's `eng` value;
//! - `dateOfBirth` accepts `yyyy-MM-dd` or `yyyy/MM/dd` on both sides and compares the day;
//! - other text fields (`email`, `phone`, `postalCode`, ...) compare as text;
//! - text is trimmed, inner whitespace collapsed and case folded before a constant-time comparison.
//!
//! A field the identity does not have, a member that is not a string, or a challenge that does not decode
//! fails the whole challenge.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

use crate::identity::Identity;
use crate::schema::oidc_date;
use crate::secrets::ct_eq;

/// The fields compared when `kbi_fields` is not configured.
pub const DEFAULT_FIELDS: &[&str] = &["fullName", "dateOfBirth"];

/// The configured field list, or the default; `individualId` dropped.
pub fn fields_from_config(value: Option<&str>) -> Vec<String> {
    let configured: Vec<String> = value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect();
    let list = if configured.is_empty() {
        DEFAULT_FIELDS.iter().map(|f| f.to_string()).collect()
    } else {
        configured
    };
    list.into_iter().filter(|f| f != "individualId").collect()
}

/// True when the challenge matches the identity on every field of `fields` (and `fields` is not empty).
pub fn kbi_matches(challenge: &str, identity: &Identity, fields: &[String]) -> bool {
    let Some(answers) = decode(challenge) else { return false };
    let mut all = !fields.is_empty();
    for field in fields {
        let given = answers.get(field).and_then(Value::as_str);
        let expected = expected_value(identity, field);
        let ok = match (given, expected) {
            (Some(g), Some(e)) => compare(field, g, &e),
            _ => false,
        };
        all &= ok;
    }
    all
}

fn decode(challenge: &str) -> Option<Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(challenge.trim().trim_end_matches('=')).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

fn expected_value(identity: &Identity, field: &str) -> Option<String> {
    let tagged = identity.lang_values(field);
    if !tagged.is_empty() {
        return tagged.iter().find(|v| v.language == "eng").map(|v| v.value.clone());
    }
    identity.text_value(field).map(str::to_string)
}

fn compare(field: &str, given: &str, expected: &str) -> bool {
    if field == "dateOfBirth" {
        return match (oidc_date(given.trim()), oidc_date(expected)) {
            (Some(g), Some(e)) => ct_eq(&g, &e),
            _ => false,
        };
    }
    ct_eq(&normalise(given), &normalise(expected))
}

fn normalise(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::identity::tests::sample_identity;

    fn challenge(v: Value) -> String {
        URL_SAFE_NO_PAD.encode(v.to_string())
    }

    fn defaults() -> Vec<String> {
        fields_from_config(None)
    }

    #[test]
    fn matches_default_fields_with_lenient_text_and_date_forms() {
        let id = sample_identity();
        let ok = challenge(json!({"individualId": "whatever", "fullName": "  jane   DOE ", "dateOfBirth": "1990/01/31"}));
        assert!(kbi_matches(&ok, &id, &defaults()));
        let padded = format!("{ok}==");
        assert!(kbi_matches(&padded, &id, &defaults()));
        let dashed = challenge(json!({"fullName": "Jane Doe", "dateOfBirth": "1990-01-31"}));
        assert!(kbi_matches(&dashed, &id, &defaults()));
    }

    #[test]
    fn any_wrong_or_missing_field_fails() {
        let id = sample_identity();
        for v in [
            json!({"fullName": "Jane Doe", "dateOfBirth": "1990-01-30"}),
            json!({"fullName": "Jeanne Doe", "dateOfBirth": "1990-01-31"}),
            json!({"fullName": "Jane Doe"}),
            json!({"fullName": "Jane Doe", "dateOfBirth": 19900131}),
            json!(["Jane Doe", "1990-01-31"]),
        ] {
            assert!(!kbi_matches(&challenge(v.clone()), &id, &defaults()), "{v}");
        }
        assert!(!kbi_matches("%%%", &id, &defaults()));
        assert!(!kbi_matches(&challenge(json!({})), &id, &[]));
    }

    #[test]
    fn configured_fields() {
        assert_eq!(fields_from_config(Some(" email , individualId,phone ")), ["email", "phone"]);
        assert_eq!(fields_from_config(Some("")), ["fullName", "dateOfBirth"]);
        let id = sample_identity();
        let fields = fields_from_config(Some("email,phone"));
        let ok = challenge(json!({"email": "Jane.Doe@example.com", "phone": "+911234567890"}));
        assert!(kbi_matches(&ok, &id, &fields));
        let unknown = fields_from_config(Some("shoeSize"));
        assert!(!kbi_matches(&challenge(json!({"shoeSize": "42"})), &id, &unknown));
    }
}
