//! PKCE (RFC 7636), S256 only: the stored challenge and its verification at the token endpoint.
//!
//! Verification rules (all failures `invalid_grant`, RFC 7636 §4.6):
//! - a challenge was stored and no `code_verifier` is sent;
//! - the verifier is not 43–128 characters of the unreserved set `[A-Za-z0-9-._~]` (§4.1);
//! - BASE64URL(SHA-256(verifier)) differs from the challenge (compared in constant time);
//! - no challenge was stored but a verifier is sent (RFC 9700 §2.1.1: prevents a PKCE downgrade).
//!
//! Burn policy (ES-05): the token endpoint must take the code out of the store atomically *before* calling
//! [`verify_pkce`], so a failed check consumes the code and a later correct verifier also gets `invalid_grant`.

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::error::EsignetError;
use crate::hashing::sha256_b64url;

/// The only supported method.
pub const S256: &str = "S256";

/// A stored PKCE challenge (method is always S256; kept for eSignet's transaction shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PkceChallenge {
    /// BASE64URL(SHA-256(code_verifier)).
    pub code_challenge: String,
    /// `S256`.
    pub code_challenge_method: String,
}

/// Whether `s` is 43–128 characters of RFC 3986 unreserved characters (RFC 7636 §4.1, §4.2).
pub fn is_pkce_string(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~'))
}

/// BASE64URL(SHA-256(verifier)).
pub fn s256_challenge(verifier: &str) -> String {
    sha256_b64url(verifier.as_bytes())
}

/// Checks the token request's `code_verifier` against the stored challenge. See the module docs.
pub fn verify_pkce(
    stored: Option<&PkceChallenge>,
    verifier: Option<&str>,
) -> Result<(), EsignetError> {
    let verifier = verifier.filter(|v| !v.is_empty());
    match (stored, verifier) {
        (None, None) => Ok(()),
        (None, Some(_)) | (Some(_), None) => Err(EsignetError::InvalidGrant),
        (Some(challenge), Some(v)) => {
            if challenge.code_challenge_method != S256 || !is_pkce_string(v) {
                return Err(EsignetError::InvalidGrant);
            }
            let computed = s256_challenge(v);
            if bool::from(
                computed
                    .as_bytes()
                    .ct_eq(challenge.code_challenge.as_bytes()),
            ) {
                Ok(())
            } else {
                Err(EsignetError::InvalidGrant)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CV: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CC: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn stored() -> PkceChallenge {
        PkceChallenge {
            code_challenge: CC.into(),
            code_challenge_method: S256.into(),
        }
    }

    #[test]
    fn rfc7636_example_verifies() {
        assert_eq!(s256_challenge(CV), CC);
        assert_eq!(verify_pkce(Some(&stored()), Some(CV)), Ok(()));
        assert_eq!(verify_pkce(None, None), Ok(()));
    }

    #[test]
    fn es05_missing_wrong_or_malformed_verifier_is_invalid_grant() {
        // (a) omitted
        assert_eq!(
            verify_pkce(Some(&stored()), None),
            Err(EsignetError::InvalidGrant)
        );
        assert_eq!(
            verify_pkce(Some(&stored()), Some("")),
            Err(EsignetError::InvalidGrant)
        );
        // (b) well-formed but different
        let other = "a".repeat(43);
        assert_eq!(
            verify_pkce(Some(&stored()), Some(&other)),
            Err(EsignetError::InvalidGrant)
        );
        // (d) too short / bad charset
        assert_eq!(
            verify_pkce(Some(&stored()), Some("abc")),
            Err(EsignetError::InvalidGrant)
        );
        let bad_chars = format!("{}+", &CV[..42]);
        assert_eq!(
            verify_pkce(Some(&stored()), Some(&bad_chars)),
            Err(EsignetError::InvalidGrant)
        );
        assert_eq!(
            verify_pkce(Some(&stored()), Some(&"a".repeat(129))),
            Err(EsignetError::InvalidGrant)
        );
    }

    #[test]
    fn verifier_without_stored_challenge_is_rejected() {
        assert_eq!(verify_pkce(None, Some(CV)), Err(EsignetError::InvalidGrant));
    }

    #[test]
    fn pkce_string_bounds() {
        assert!(is_pkce_string(&"~".repeat(43)));
        assert!(is_pkce_string(&"a".repeat(128)));
        assert!(!is_pkce_string(&"a".repeat(42)));
        assert!(!is_pkce_string(&"a".repeat(129)));
        assert!(!is_pkce_string(&format!("{}=", "a".repeat(43))));
    }
}
