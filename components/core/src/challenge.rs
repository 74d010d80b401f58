//! Authentication challenge validation (reference §3.5), before the challenges go to the identity system.
//!
//! Per challenge, in order: `authFactorType` must be upper-case and configured (`invalid_auth_factor_type`);
//! `format` must equal the configured one (`invalid_challenge_format`); the challenge must not be blank
//! (`invalid_challenge`); its length in characters must be within bounds (`invalid_challenge_length`); its
//! content must fit the kind (`invalid_challenge`): digits for PIN, ASCII letters and digits for OTP, and for
//! the base64url-encoded-json kinds (KBI, IDT) base64url without padding that decodes to a JSON object.
//! Passwords are only length-checked (they may hold any character). The list must hold 1 to 5 challenges
//! (`invalid_no_of_challenges`). A challenge never appears in `Debug` output.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::EsignetError;
use crate::hashing::b64url_decode;

/// Most challenges one request may carry.
pub const MAX_CHALLENGES: usize = 5;

/// One submitted challenge.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthChallenge {
    /// Factor type, e.g. `OTP`.
    pub auth_factor_type: String,
    /// The secret or proof. Never logged.
    pub challenge: String,
    /// Declared format, e.g. `alpha-numeric`.
    pub format: String,
}

impl fmt::Debug for AuthChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthChallenge")
            .field("auth_factor_type", &self.auth_factor_type)
            .field("challenge", &"[redacted]")
            .field("format", &self.format)
            .finish()
    }
}

/// What the challenge text must consist of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChallengeContent {
    /// Any characters.
    Any,
    /// ASCII digits.
    Digits,
    /// ASCII letters and digits.
    Alphanumeric,
    /// base64url (no padding) of a JSON object.
    Base64UrlJsonObject,
}

/// The rule for one factor type (`mosip.esignet.auth-challenge.<TYPE>.*`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeRule {
    /// The required `format` value.
    pub format: String,
    /// Minimum length in characters.
    pub min_length: usize,
    /// Maximum length in characters.
    pub max_length: usize,
    /// Content check.
    pub content: ChallengeContent,
}

/// Rules per factor type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChallengeRules(pub BTreeMap<String, ChallengeRule>);

impl Default for ChallengeRules {
    /// eSignet 1.8's defaults.
    fn default() -> Self {
        use ChallengeContent::*;
        let rule = |format: &str, min, max, content| ChallengeRule {
            format: format.to_owned(),
            min_length: min,
            max_length: max,
            content,
        };
        ChallengeRules(BTreeMap::from([
            ("OTP".to_owned(), rule("alpha-numeric", 6, 6, Alphanumeric)),
            ("PWD".to_owned(), rule("alpha-numeric", 8, 30, Any)),
            ("PIN".to_owned(), rule("number", 6, 6, Digits)),
            ("BIO".to_owned(), rule("encoded-json", 500, 500_000, Any)),
            ("WLA".to_owned(), rule("jwt", 500, 1000, Any)),
            (
                "KBI".to_owned(),
                rule("base64url-encoded-json", 50, 500, Base64UrlJsonObject),
            ),
            (
                "IDT".to_owned(),
                rule("base64url-encoded-json", 20, 2000, Base64UrlJsonObject),
            ),
        ]))
    }
}

/// Validates a challenge list. See the module docs.
pub fn validate_challenges(
    list: &[AuthChallenge],
    rules: &ChallengeRules,
) -> Result<(), EsignetError> {
    if list.is_empty() || list.len() > MAX_CHALLENGES {
        return Err(EsignetError::InvalidNoOfChallenges);
    }
    list.iter().try_for_each(|c| validate_challenge(c, rules))
}

/// Validates one challenge. See the module docs.
pub fn validate_challenge(c: &AuthChallenge, rules: &ChallengeRules) -> Result<(), EsignetError> {
    let t = c.auth_factor_type.as_str();
    if t.is_empty() || t.chars().any(|ch| ch.is_lowercase()) {
        return Err(EsignetError::InvalidAuthFactorType);
    }
    let rule = rules.0.get(t).ok_or(EsignetError::InvalidAuthFactorType)?;
    if c.format != rule.format {
        return Err(EsignetError::InvalidChallengeFormat);
    }
    if c.challenge.trim().is_empty() {
        return Err(EsignetError::InvalidChallenge);
    }
    let len = c.challenge.chars().count();
    if len < rule.min_length || len > rule.max_length {
        return Err(EsignetError::InvalidChallengeLength);
    }
    let ok = match rule.content {
        ChallengeContent::Any => true,
        ChallengeContent::Digits => c.challenge.bytes().all(|b| b.is_ascii_digit()),
        ChallengeContent::Alphanumeric => c.challenge.bytes().all(|b| b.is_ascii_alphanumeric()),
        ChallengeContent::Base64UrlJsonObject => b64url_decode(&c.challenge)
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .is_some_and(|v| v.is_object()),
    };
    if ok {
        Ok(())
    } else {
        Err(EsignetError::InvalidChallenge)
    }
}

/// The distinct factor types of a list, in order (input to `auth_factors_satisfied`).
pub fn provided_types(list: &[AuthChallenge]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in list {
        if !out.contains(&c.auth_factor_type) {
            out.push(c.auth_factor_type.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hashing::b64url;

    fn ch(t: &str, challenge: &str, format: &str) -> AuthChallenge {
        AuthChallenge {
            auth_factor_type: t.into(),
            challenge: challenge.into(),
            format: format.into(),
        }
    }

    fn check(c: AuthChallenge) -> Result<(), EsignetError> {
        validate_challenges(&[c], &ChallengeRules::default())
    }

    #[test]
    fn otp_pin_pwd() {
        assert_eq!(check(ch("OTP", "111111", "alpha-numeric")), Ok(()));
        assert_eq!(check(ch("OTP", "a1B2c3", "alpha-numeric")), Ok(()));
        assert_eq!(
            check(ch("OTP", "11111", "alpha-numeric")),
            Err(EsignetError::InvalidChallengeLength)
        );
        assert_eq!(
            check(ch("OTP", "11111!", "alpha-numeric")),
            Err(EsignetError::InvalidChallenge)
        );
        assert_eq!(
            check(ch("OTP", "111111", "number")),
            Err(EsignetError::InvalidChallengeFormat)
        );
        assert_eq!(check(ch("PIN", "123456", "number")), Ok(()));
        assert_eq!(
            check(ch("PIN", "12345a", "number")),
            Err(EsignetError::InvalidChallenge)
        );
        assert_eq!(
            check(ch("PIN", "1234567", "number")),
            Err(EsignetError::InvalidChallengeLength)
        );
        assert_eq!(check(ch("PWD", "Mosip@123", "alpha-numeric")), Ok(()));
        assert_eq!(
            check(ch("PWD", "short", "alpha-numeric")),
            Err(EsignetError::InvalidChallengeLength)
        );
        assert_eq!(
            check(ch("PWD", &"x".repeat(31), "alpha-numeric")),
            Err(EsignetError::InvalidChallengeLength)
        );
        assert_eq!(
            check(ch("PWD", "        ", "alpha-numeric")),
            Err(EsignetError::InvalidChallenge)
        );
    }

    #[test]
    fn factor_type_must_be_known_uppercase() {
        assert_eq!(
            check(ch("otp", "111111", "alpha-numeric")),
            Err(EsignetError::InvalidAuthFactorType)
        );
        assert_eq!(
            check(ch("FACE", "111111", "alpha-numeric")),
            Err(EsignetError::InvalidAuthFactorType)
        );
        assert_eq!(
            check(ch("", "111111", "alpha-numeric")),
            Err(EsignetError::InvalidAuthFactorType)
        );
    }

    #[test]
    fn kbi_is_base64url_json_object() {
        let good = b64url(
            br#"{"individualId":"8267411571","fullName":"Siddharth K Mansour","dob":"1987-11-25"}"#,
        );
        assert!((50..=500).contains(&good.len()));
        assert_eq!(check(ch("KBI", &good, "base64url-encoded-json")), Ok(()));
        let array = b64url(format!("[{}]", "1,".repeat(30) + "1").as_bytes());
        assert_eq!(
            check(ch("KBI", &array, "base64url-encoded-json")),
            Err(EsignetError::InvalidChallenge)
        );
        let padded = format!("{good}=");
        assert_eq!(
            check(ch("KBI", &padded, "base64url-encoded-json")),
            Err(EsignetError::InvalidChallenge)
        );
        assert_eq!(
            check(ch("KBI", "abc", "base64url-encoded-json")),
            Err(EsignetError::InvalidChallengeLength)
        );
        let long = b64url(format!("{{\"a\":\"{}\"}}", "x".repeat(400)).as_bytes());
        assert_eq!(
            check(ch("KBI", &long, "base64url-encoded-json")),
            Err(EsignetError::InvalidChallengeLength)
        );
    }

    #[test]
    fn list_bounds_and_types() {
        let otp = ch("OTP", "111111", "alpha-numeric");
        assert_eq!(
            validate_challenges(&[], &ChallengeRules::default()),
            Err(EsignetError::InvalidNoOfChallenges)
        );
        let six = vec![otp.clone(); 6];
        assert_eq!(
            validate_challenges(&six, &ChallengeRules::default()),
            Err(EsignetError::InvalidNoOfChallenges)
        );
        assert_eq!(
            validate_challenges(&six[..5], &ChallengeRules::default()),
            Ok(())
        );
        let pin = ch("PIN", "123456", "number");
        assert_eq!(
            provided_types(&[otp.clone(), pin, otp.clone()]),
            vec!["OTP", "PIN"]
        );
        assert!(!format!("{otp:?}").contains("111111"));
    }
}
