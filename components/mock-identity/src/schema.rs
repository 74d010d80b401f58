//! The field rules of the mock identity schema (reference §6.2, `additionalProperties: false`), one small
//! predicate per kind of field, and the table that says which field has which rule and whether it is required.
//!
//! Pinned choices (the reference schema leaves them open):
//! - `individualId`: 5–19 ASCII digits.
//! - language lists: a non-empty array of `{"language", "value"}` objects and nothing else; `language` is an
//!   ISO 639-2/3 three-letter lower-case code (`eng`, `fra`, `ara`, ...), `value` non-blank, ≤ 256 characters.
//! - `dateOfBirth`: `yyyy/MM/dd` (the mock identity system's own format) or `yyyy-MM-dd`, a real calendar day;
//!   stored as `yyyy/MM/dd`, released as the OIDC `birthdate` claim in `yyyy-MM-dd`.
//! - `pin`: 4–16 digits. `password`: 8–128 characters. Both are write-only (hashed, never returned).
//! - `preferredLang`: a three-letter code like the language lists.
//! - `email`: `local@domain.tld` with the usual ASCII characters, ≤ 254 characters.
//! - `phone`: an optional `+` then 7–15 digits.
//! - `postalCode`: 1–16 of letters, digits, space and `-`. `encodedPhoto`: any non-blank string.
//! - `zoneInfo`, `locale`: non-blank, ≤ 64 characters.

use serde_json::Value;

/// What a field must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    IndividualId,
    LangList,
    Pin,
    Password,
    LanguageCode,
    Date,
    PostalCode,
    Email,
    Phone,
    NonBlank,
    Short,
}

/// Every field of the schema: name, rule, required on create.
pub const FIELDS: &[(&str, Rule, bool)] = &[
    ("individualId", Rule::IndividualId, true),
    ("fullName", Rule::LangList, true),
    ("givenName", Rule::LangList, true),
    ("familyName", Rule::LangList, true),
    ("middleName", Rule::LangList, false),
    ("nickName", Rule::LangList, false),
    ("preferredUsername", Rule::LangList, false),
    ("gender", Rule::LangList, true),
    ("streetAddress", Rule::LangList, false),
    ("locality", Rule::LangList, true),
    ("region", Rule::LangList, true),
    ("country", Rule::LangList, true),
    ("pin", Rule::Pin, true),
    ("password", Rule::Password, false),
    ("preferredLang", Rule::LanguageCode, true),
    ("dateOfBirth", Rule::Date, true),
    ("postalCode", Rule::PostalCode, true),
    ("encodedPhoto", Rule::NonBlank, true),
    ("email", Rule::Email, true),
    ("phone", Rule::Phone, true),
    ("zoneInfo", Rule::Short, false),
    ("locale", Rule::Short, false),
];

/// The rule of a known field.
pub fn rule_of(field: &str) -> Option<Rule> {
    FIELDS.iter().find(|(name, _, _)| *name == field).map(|(_, rule, _)| *rule)
}

/// True when `value` satisfies `rule`.
pub fn check(rule: Rule, value: &Value) -> bool {
    match (rule, value) {
        (Rule::LangList, Value::Array(items)) => !items.is_empty() && items.iter().all(is_lang_value),
        (Rule::LangList, _) => false,
        (_, Value::String(s)) => check_text(rule, s),
        _ => false,
    }
}

fn check_text(rule: Rule, s: &str) -> bool {
    match rule {
        Rule::IndividualId => digits(s, 5, 19),
        Rule::Pin => digits(s, 4, 16),
        Rule::Password => (8..=128).contains(&s.chars().count()),
        Rule::LanguageCode => is_language_code(s),
        Rule::Date => parse_date(s).is_some(),
        Rule::PostalCode => {
            (1..=16).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-')
        }
        Rule::Email => is_email(s),
        Rule::Phone => is_phone(s),
        Rule::NonBlank => !s.trim().is_empty(),
        Rule::Short => !s.trim().is_empty() && s.chars().count() <= 64,
        Rule::LangList => false,
    }
}

fn digits(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// A three-letter lower-case language code.
pub fn is_language_code(s: &str) -> bool {
    s.len() == 3 && s.bytes().all(|b| b.is_ascii_lowercase())
}

fn is_lang_value(item: &Value) -> bool {
    let Some(obj) = item.as_object() else { return false };
    let language = obj.get("language").and_then(Value::as_str);
    let value = obj.get("value").and_then(Value::as_str);
    obj.len() == 2
        && language.is_some_and(is_language_code)
        && value.is_some_and(|v| !v.trim().is_empty() && v.chars().count() <= 256)
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    let local_ok = (1..=64).contains(&local.len())
        && local.chars().all(|c| c.is_ascii_alphanumeric() || "._%+-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let labels_ok = labels.len() >= 2
        && labels.iter().all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    let tld_ok = labels.last().is_some_and(|t| t.len() >= 2 && t.chars().all(|c| c.is_ascii_alphabetic()));
    s.len() <= 254 && local_ok && labels_ok && tld_ok
}

fn is_phone(s: &str) -> bool {
    digits(s.strip_prefix('+').unwrap_or(s), 7, 15)
}

/// Parses `yyyy/MM/dd` or `yyyy-MM-dd` (one separator throughout) into a real calendar day.
pub fn parse_date(s: &str) -> Option<(u32, u32, u32)> {
    let b = s.as_bytes();
    if b.len() != 10 || !(b[4] == b'/' || b[4] == b'-') || b[7] != b[4] {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |acc, &c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
    };
    let (y, m, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    (y >= 1000 && (1..=days).contains(&d)).then_some((y, m, d))
}

/// A date in the stored form `yyyy/MM/dd`.
pub fn stored_date(s: &str) -> Option<String> {
    parse_date(s).map(|(y, m, d)| format!("{y:04}/{m:02}/{d:02}"))
}

/// A date in the OIDC `birthdate` form `yyyy-MM-dd`.
pub fn oidc_date(s: &str) -> Option<String> {
    parse_date(s).map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn individual_ids_are_5_to_19_digits() {
        assert!(check(Rule::IndividualId, &json!("12345")));
        assert!(check(Rule::IndividualId, &json!("1234567890123456789")));
        for bad in [json!("1234"), json!("12345678901234567890"), json!("12a45"), json!(12345), json!(null)] {
            assert!(!check(Rule::IndividualId, &bad), "{bad}");
        }
    }

    #[test]
    fn language_lists() {
        assert!(check(Rule::LangList, &json!([{"language": "eng", "value": "A"}, {"language": "ara", "value": "ب"}])));
        for bad in [
            json!([]),
            json!("eng"),
            json!([{"language": "en", "value": "A"}]),
            json!([{"language": "eng", "value": "  "}]),
            json!([{"language": "eng", "value": "A", "extra": 1}]),
            json!([{"language": "eng"}]),
        ] {
            assert!(!check(Rule::LangList, &bad), "{bad}");
        }
    }

    #[test]
    fn contacts() {
        assert!(check(Rule::Email, &json!("jane.doe+x@mail.example.com")));
        for bad in ["jane", "@example.com", "a@b", "a@b.c", "a b@example.com", "a@exa_mple.com", "a@.com"] {
            assert!(!check(Rule::Email, &json!(bad)), "{bad}");
        }
        assert!(check(Rule::Phone, &json!("+911234567890")));
        assert!(check(Rule::Phone, &json!("9876543210")));
        for bad in ["123456", "+91 12345678", "++9112345678", "1234567890123456"] {
            assert!(!check(Rule::Phone, &json!(bad)), "{bad}");
        }
    }

    #[test]
    fn dates_in_both_forms() {
        assert_eq!(parse_date("1987/11/25"), Some((1987, 11, 25)));
        assert_eq!(parse_date("2000-02-29"), Some((2000, 2, 29)));
        for bad in ["1900-02-29", "1987/11-25", "1987-13-01", "1987-00-10", "87-11-25", "1987-11-31", "0999-01-01"] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert_eq!(stored_date("1987-11-25").as_deref(), Some("1987/11/25"));
        assert_eq!(oidc_date("1987/11/25").as_deref(), Some("1987-11-25"));
    }

    #[test]
    fn secrets_and_short_fields() {
        assert!(check(Rule::Pin, &json!("545411")));
        assert!(!check(Rule::Pin, &json!("54a411")) && !check(Rule::Pin, &json!("123")));
        assert!(check(Rule::Password, &json!("Correct-Horse-9")));
        assert!(!check(Rule::Password, &json!("short")));
        assert!(check(Rule::PostalCode, &json!("SW1A 1AA")) && !check(Rule::PostalCode, &json!("")));
        assert!(check(Rule::LanguageCode, &json!("fra")) && !check(Rule::LanguageCode, &json!("FRA")));
        assert!(!check(Rule::NonBlank, &json!(" ")) && !check(Rule::Short, &json!("x".repeat(65))));
        assert_eq!(rule_of("email"), Some(Rule::Email));
        assert_eq!(rule_of("unknown"), None);
    }
}
