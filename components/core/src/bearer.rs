//! Reading a bearer access token from a protected-resource request (RFC 6750 §2.1) and the answer when that
//! fails (RFC 6750 §3, §3.1), for the userinfo endpoint.
//!
//! Pinned policy: only the `Authorization` header carries the token (no form or query token). No header at
//! all is a request without credentials: 401 with a bare `Bearer` challenge and no error code (§3.1). More
//! than one `Authorization` header, another scheme, or a malformed value is `invalid_request`: 400 with
//! `Bearer error="invalid_request"`. Any problem with the token itself (signature, expiry, issuer, revoked or
//! unknown) is 401 `Bearer error="invalid_token"`. The scheme name is case-insensitive (RFC 9110 §11.1).

/// Why no usable bearer token was presented, or why it was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerProblem {
    /// No `Authorization` header.
    Missing,
    /// Repeated header, other scheme, or malformed token.
    InvalidRequest,
    /// The token is not valid here.
    InvalidToken,
}

impl BearerProblem {
    /// HTTP status and `WWW-Authenticate` value.
    pub fn challenge(self) -> (u16, &'static str) {
        match self {
            BearerProblem::Missing => (401, "Bearer"),
            BearerProblem::InvalidRequest => (400, "Bearer error=\"invalid_request\""),
            BearerProblem::InvalidToken => (401, "Bearer error=\"invalid_token\""),
        }
    }

    /// The short name used in audit details.
    pub fn code(self) -> &'static str {
        match self {
            BearerProblem::Missing => "missing_header",
            BearerProblem::InvalidRequest => "invalid_request",
            BearerProblem::InvalidToken => "invalid_token",
        }
    }
}

/// RFC 6750 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(t: &str) -> bool {
    let body = t.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

/// The token of the only `Authorization` header, given every value of that header in order.
pub fn bearer_token<'a>(authorization: &[&'a str]) -> Result<&'a str, BearerProblem> {
    let value = match authorization {
        [] => return Err(BearerProblem::Missing),
        [one] => one.trim(),
        _ => return Err(BearerProblem::InvalidRequest),
    };
    let (scheme, token) = value.split_once(' ').ok_or(BearerProblem::InvalidRequest)?;
    let token = token.trim_start_matches(' ');
    if !scheme.eq_ignore_ascii_case("bearer") || !is_b64token(token) {
        return Err(BearerProblem::InvalidRequest);
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_bearer_header() {
        assert_eq!(bearer_token(&["Bearer abc.def.ghi"]), Ok("abc.def.ghi"));
        assert_eq!(bearer_token(&["bearer   a-b_c~d+/=="]), Ok("a-b_c~d+/=="));
    }

    #[test]
    fn problems_and_challenges() {
        assert_eq!(bearer_token(&[]), Err(BearerProblem::Missing));
        assert_eq!(
            bearer_token(&["Bearer a", "Bearer b"]),
            Err(BearerProblem::InvalidRequest)
        );
        for bad in [
            "Basic YWxhZGRpbjpvcGVuc2VzYW1l",
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "DPoP a.b.c",
            "Bearer ===",
        ] {
            assert_eq!(
                bearer_token(&[bad]),
                Err(BearerProblem::InvalidRequest),
                "{bad}"
            );
        }
        assert_eq!(BearerProblem::Missing.challenge(), (401, "Bearer"));
        assert_eq!(BearerProblem::InvalidRequest.challenge().0, 400);
        assert_eq!(
            BearerProblem::InvalidToken.challenge(),
            (401, "Bearer error=\"invalid_token\"")
        );
    }
}
