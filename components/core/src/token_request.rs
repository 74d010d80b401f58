//! The token request (RFC 6749 §4.1.3, RFC 7523 §2.2, RFC 7636 §4.5) as read from the form body, and the
//! request-level checks that come before the code is looked at.
//!
//! Pinned policy:
//! - Parameters with an empty value count as omitted; unknown parameters are ignored (RFC 6749 §3.2).
//! - A known parameter sent twice is `invalid_request` (RFC 6749 §3.2: parameters MUST NOT repeat).
//! - Order of checks at the endpoint: client authentication first (so an unauthenticated caller learns nothing
//!   about the code), then `grant_type` (missing → `invalid_request`, other than `authorization_code` →
//!   `unsupported_grant_type`), then `code` and `redirect_uri` present (`invalid_request`), then the code.

use crate::error::EsignetError;

/// The only supported grant type.
pub const AUTHORIZATION_CODE: &str = "authorization_code";

const KNOWN: [&str; 7] = [
    "grant_type",
    "code",
    "redirect_uri",
    "client_id",
    "client_assertion_type",
    "client_assertion",
    "code_verifier",
];

/// A token request's parameters. `Debug` leaves out the code, the assertion and the verifier.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TokenRequest {
    /// `grant_type`.
    pub grant_type: Option<String>,
    /// `code`.
    pub code: Option<String>,
    /// `redirect_uri`.
    pub redirect_uri: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `client_assertion_type`.
    pub client_assertion_type: Option<String>,
    /// `client_assertion`.
    pub client_assertion: Option<String>,
    /// `code_verifier`.
    pub code_verifier: Option<String>,
}

impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRequest")
            .field("grant_type", &self.grant_type)
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

impl TokenRequest {
    /// Reads decoded form pairs; `invalid_request` if a known parameter repeats.
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<Self, EsignetError> {
        for (i, (name, _)) in pairs.iter().enumerate() {
            if KNOWN.contains(&name.as_str()) && pairs[..i].iter().any(|(n, _)| n == name) {
                return Err(EsignetError::InvalidRequest);
            }
        }
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(n, v)| n == name && !v.is_empty())
                .map(|(_, v)| v.clone())
        };
        Ok(TokenRequest {
            grant_type: get("grant_type"),
            code: get("code"),
            redirect_uri: get("redirect_uri"),
            client_id: get("client_id"),
            client_assertion_type: get("client_assertion_type"),
            client_assertion: get("client_assertion"),
            code_verifier: get("code_verifier"),
        })
    }

    /// `grant_type` missing → `invalid_request`; not `authorization_code` → `unsupported_grant_type`.
    pub fn check_grant_type(&self) -> Result<(), EsignetError> {
        match self.grant_type.as_deref() {
            None => Err(EsignetError::InvalidRequest),
            Some(AUTHORIZATION_CODE) => Ok(()),
            Some(_) => Err(EsignetError::UnsupportedGrantType),
        }
    }

    /// The `code` and `redirect_uri`, or `invalid_request` if either is missing.
    pub fn code_and_redirect_uri(&self) -> Result<(&str, &str), EsignetError> {
        match (self.code.as_deref(), self.redirect_uri.as_deref()) {
            (Some(c), Some(r)) => Ok((c, r)),
            _ => Err(EsignetError::InvalidRequest),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(s: &str) -> Vec<(String, String)> {
        form_urlencoded::parse(s.as_bytes()).into_owned().collect()
    }

    #[test]
    fn reads_parameters_and_ignores_unknown_and_empty() {
        let r = TokenRequest::from_pairs(&pairs(
            "grant_type=authorization_code&code=c&redirect_uri=https%3A%2F%2Frp.test%2Fcb&client_id=&x=1&x=2",
        ))
        .unwrap();
        assert_eq!(r.code.as_deref(), Some("c"));
        assert_eq!(r.redirect_uri.as_deref(), Some("https://rp.test/cb"));
        assert_eq!(r.client_id, None);
        assert_eq!(r.check_grant_type(), Ok(()));
        assert_eq!(r.code_and_redirect_uri(), Ok(("c", "https://rp.test/cb")));
        assert!(!format!("{r:?}").contains("code: "));
    }

    #[test]
    fn repeats_and_grant_types() {
        assert_eq!(
            TokenRequest::from_pairs(&pairs("code=a&code=b")),
            Err(EsignetError::InvalidRequest)
        );
        let missing = TokenRequest::from_pairs(&pairs("code=a")).unwrap();
        assert_eq!(
            missing.check_grant_type(),
            Err(EsignetError::InvalidRequest)
        );
        assert_eq!(
            missing.code_and_redirect_uri(),
            Err(EsignetError::InvalidRequest)
        );
        let refresh = TokenRequest::from_pairs(&pairs("grant_type=refresh_token")).unwrap();
        assert_eq!(
            refresh.check_grant_type(),
            Err(EsignetError::UnsupportedGrantType)
        );
        assert_eq!(
            EsignetError::UnsupportedGrantType.oauth_error(),
            "unsupported_grant_type"
        );
    }
}
