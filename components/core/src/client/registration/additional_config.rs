//! `additionalConfig`: the per-client switches of eSignet 1.8 (its `additional_config_request_schema.json`).
//!
//! An object whose keys are all optional and all known: `userinfo_response_type` (`JWS` | `JWE`), `purpose`
//! (`{type: none|verify|link|login, title?: lang map, subTitle?: lang map}`), the booleans
//! `signup_banner_required`, `forgot_pwd_link_required`, `require_pushed_authorization_requests`,
//! `dpop_bound_access_tokens`, `require_pkce`, and `consent_expire_in_mins` (an integer from 10 to 525600, one
//! year; eSignet sets no upper bound, but a larger value overflows nothing useful and only keeps consents forever).
//! `JWE` also needs an encryption key on the stored client (checked on the resulting row, [`super::check_record`]). Anything else,
//! including an unknown key, is `invalid_additional_config`.

use serde_json::Value;

use super::fields::display_lang_map;
use crate::error::EsignetError;

/// The smallest consent lifetime eSignet accepts, in minutes.
const MIN_CONSENT_MINUTES: u64 = 10;
/// The longest consent lifetime accepted, in minutes (one year).
const MAX_CONSENT_MINUTES: u64 = 525_600;
/// Longest purpose title or subtitle.
const MAX_PURPOSE_TEXT: usize = 256;

const BOOLEAN_KEYS: [&str; 5] = [
    "signup_banner_required",
    "forgot_pwd_link_required",
    "require_pushed_authorization_requests",
    "dpop_bound_access_tokens",
    "require_pkce",
];

fn purpose_ok(v: &Value) -> bool {
    let Some(obj) = v.as_object() else {
        return false;
    };
    obj.iter().all(|(k, v)| match k.as_str() {
        "type" => matches!(v.as_str(), Some("none" | "verify" | "link" | "login")),
        "title" | "subTitle" => display_lang_map(v, MAX_PURPOSE_TEXT),
        _ => false,
    }) && obj.contains_key("type")
}

fn entry_ok(key: &str, v: &Value) -> bool {
    match key {
        "userinfo_response_type" => matches!(v.as_str(), Some("JWS" | "JWE")),
        "purpose" => purpose_ok(v),
        "consent_expire_in_mins" => v
            .as_u64()
            .is_some_and(|m| (MIN_CONSENT_MINUTES..=MAX_CONSENT_MINUTES).contains(&m)),
        k if BOOLEAN_KEYS.contains(&k) => v.is_boolean(),
        _ => false,
    }
}

/// The validated object, unchanged; `invalid_additional_config` on any unknown key or bad value.
pub fn additional_config(v: &Value) -> Result<Value, EsignetError> {
    let obj = v.as_object().ok_or(EsignetError::InvalidAdditionalConfig)?;
    if obj.iter().all(|(k, v)| entry_ok(k, v)) {
        Ok(v.clone())
    } else {
        Err(EsignetError::InvalidAdditionalConfig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_every_known_key() {
        let full = json!({
            "userinfo_response_type": "JWE",
            "purpose": {"type": "verify", "title": {"@none": "Verify", "fra": "Vérifier"}, "subTitle": {"eng": "x"}},
            "signup_banner_required": true,
            "forgot_pwd_link_required": false,
            "consent_expire_in_mins": 10,
            "require_pushed_authorization_requests": false,
            "dpop_bound_access_tokens": true,
            "require_pkce": true
        });
        assert_eq!(additional_config(&full), Ok(full.clone()));
        assert!(additional_config(&json!({})).is_ok());
        assert!(additional_config(&json!({"consent_expire_in_mins": 525_600})).is_ok());
    }

    #[test]
    fn refuses_unknown_keys_and_bad_values() {
        for bad in [
            json!({"unknown": true}),
            json!({"userinfo_response_type": "JWT"}),
            json!({"consent_expire_in_mins": 9}),
            json!({"consent_expire_in_mins": 525_601}),
            json!({"consent_expire_in_mins": u64::MAX}),
            json!({"consent_expire_in_mins": -20}),
            json!({"consent_expire_in_mins": 10.5}),
            json!({"consent_expire_in_mins": "60"}),
            json!({"require_pkce": "true"}),
            json!({"purpose": {"type": "other"}}),
            json!({"purpose": {"title": {"@none": "x"}}}),
            json!({"purpose": {"type": "login", "title": {"xx": "x"}}}),
            json!({"purpose": {"type": "login", "title": {"@none": "<script>alert(1)</script>"}}}),
            json!({"purpose": {"type": "login", "extra": 1}}),
            json!([]),
            json!("JWS"),
        ] {
            assert_eq!(
                additional_config(&bad),
                Err(EsignetError::InvalidAdditionalConfig),
                "{bad}"
            );
        }
    }
}
