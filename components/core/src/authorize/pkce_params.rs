//! The PKCE parameters of an authorization request (RFC 7636 §4.3, ES-06).
//!
//! Both or neither of `code_challenge` and `code_challenge_method` must be sent: a challenge without a method
//! would mean `plain` (RFC 7636 §4.3), which is not supported, so it is `invalid_pkce_challenge`, as is a method
//! without a challenge. A method other than `S256` is `unsupported_pkce_challenge_method`. The challenge must
//! be 43–128 unreserved characters (`invalid_pkce_challenge`). Whether PKCE is *required* is decided by the
//! caller (`use_pkce`). At `/oauth/**` and in the authorization redirect all of these become `invalid_request`.

use crate::error::EsignetError;
use crate::pkce::{is_pkce_string, PkceChallenge, S256};

/// Validates the pair; `Ok(None)` when neither was sent (empty values count as not sent).
pub fn parse_pkce_params(
    challenge: Option<&str>,
    method: Option<&str>,
) -> Result<Option<PkceChallenge>, EsignetError> {
    let challenge = challenge.filter(|s| !s.is_empty());
    let method = method.filter(|s| !s.is_empty());
    match (challenge, method) {
        (None, None) => Ok(None),
        (Some(_), None) | (None, Some(_)) => Err(EsignetError::InvalidPkceChallenge),
        (Some(c), Some(m)) => {
            if m != S256 {
                return Err(EsignetError::UnsupportedPkceChallengeMethod);
            }
            if !is_pkce_string(c) {
                return Err(EsignetError::InvalidPkceChallenge);
            }
            Ok(Some(PkceChallenge {
                code_challenge: c.to_owned(),
                code_challenge_method: S256.to_owned(),
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CC: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn es06_variants() {
        assert_eq!(parse_pkce_params(None, None), Ok(None));
        assert_eq!(
            parse_pkce_params(Some(CC), Some("plain")),
            Err(EsignetError::UnsupportedPkceChallengeMethod)
        );
        assert_eq!(
            parse_pkce_params(Some(CC), None),
            Err(EsignetError::InvalidPkceChallenge)
        );
        assert_eq!(
            parse_pkce_params(None, Some("S256")),
            Err(EsignetError::InvalidPkceChallenge)
        );
        assert_eq!(
            parse_pkce_params(Some(&"a".repeat(20)), Some("S256")),
            Err(EsignetError::InvalidPkceChallenge)
        );
        assert_eq!(
            parse_pkce_params(Some(CC), Some("s256")),
            Err(EsignetError::UnsupportedPkceChallengeMethod)
        );
        let ok = parse_pkce_params(Some(CC), Some("S256")).unwrap().unwrap();
        assert_eq!(ok.code_challenge, CC);
        assert_eq!(ok.code_challenge_method, "S256");
    }
}
