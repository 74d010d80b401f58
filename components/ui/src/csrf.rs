//! CSRF protection by double submit (reference §1.4): `GET /csrf/token` hands out a random token and sets it as
//! the `XSRF-TOKEN` cookie; every state-changing call (each POST under `/authorization/`, and `GET
//! claim-details`) must echo the cookie's value in the `X-XSRF-TOKEN` header. A cross-site page can make the
//! browser send the cookie but cannot read it, so it cannot forge the header.
//!
//! The token is 32 random bytes, base64url (43 characters). A request that already carries a well-formed token
//! cookie gets that token back (tabs of one browser keep working); anything else gets a fresh one. The cookie is
//! `Path=/; SameSite=Strict` and readable by script (the UI copies it into the header), like Spring's
//! `CookieCsrfTokenRepository.withHttpOnlyFalse()`. Comparison is constant-time; failure is HTTP 403.

use esignet_core::hashing::b64url;
use esignet_core::random::{OsRandom, RandomSource};
use esignet_sdk::{Request, Response};
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::reply::{Failure, INVALID_CSRF_TOKEN};

/// The cookie holding the token.
pub const COOKIE_NAME: &str = "XSRF-TOKEN";
/// The header the UI echoes the token in (as announced in `headerName`).
pub const HEADER_NAME: &str = "X-XSRF-TOKEN";
/// Spring's form parameter name, announced for completeness (only the header is accepted).
pub const PARAMETER_NAME: &str = "_csrf";

/// `GET /csrf/token`: `{headerName, parameterName, token}` plus the cookie.
pub fn token(req: &Request) -> Result<Response, Failure> {
    let existing = cookie_values(req, COOKIE_NAME)
        .into_iter()
        .find(|v| is_token(v))
        .map(str::to_owned);
    let token = match existing {
        Some(t) => t,
        None => new_token(&mut OsRandom).map_err(Failure::Code)?,
    };
    let body =
        json!({ "headerName": HEADER_NAME, "parameterName": PARAMETER_NAME, "token": token });
    Ok(Response::json(&body)
        .with_header("cache-control", "no-store")
        .with_header(
            "set-cookie",
            &format!("{COOKIE_NAME}={token}; Path=/; SameSite=Strict"),
        ))
}

/// Checks the double submit: the header must equal (constant time) a non-empty `XSRF-TOKEN` cookie value.
pub fn check(req: &Request) -> Result<(), Failure> {
    let header = req.header(HEADER_NAME).map(str::trim).unwrap_or("");
    let matched = !header.is_empty()
        && cookie_values(req, COOKIE_NAME)
            .iter()
            .any(|c| !c.is_empty() && bool::from(c.as_bytes().ct_eq(header.as_bytes())));
    if matched {
        Ok(())
    } else {
        Err(Failure::Status(403, INVALID_CSRF_TOKEN))
    }
}

/// A fresh token: 32 random bytes, base64url.
fn new_token(rng: &mut dyn RandomSource) -> Result<String, esignet_core::EsignetError> {
    let mut bytes = [0u8; 32];
    rng.fill(&mut bytes)?;
    Ok(b64url(&bytes))
}

/// Whether `v` has the shape of a token this module issues.
fn is_token(v: &str) -> bool {
    v.len() == 43
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Every value of cookie `name` across all `Cookie` headers (RFC 6265 §5.4 `name=value; name=value`).
pub fn cookie_values<'a>(req: &'a Request, name: &str) -> Vec<&'a str> {
    req.header_values("cookie")
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(n, _)| n.trim() == name)
        .map(|(_, v)| v.trim().trim_matches('"'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)]) -> Request {
        Request {
            method: "POST".into(),
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            ..Request::default()
        }
    }

    const T: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

    #[test]
    fn double_submit_must_match() {
        let cookie = format!("a=1; XSRF-TOKEN={T}; b=2");
        assert_eq!(
            check(&req(&[("cookie", &cookie), ("x-xsrf-token", T)])),
            Ok(())
        );
        let fail = Err(Failure::Status(403, INVALID_CSRF_TOKEN));
        assert_eq!(
            check(&req(&[("cookie", &cookie), ("x-xsrf-token", "other")])),
            fail
        );
        assert_eq!(check(&req(&[("cookie", &cookie)])), fail);
        assert_eq!(check(&req(&[("x-xsrf-token", T)])), fail);
        assert_eq!(
            check(&req(&[("cookie", "XSRF-TOKEN="), ("x-xsrf-token", "")])),
            fail
        );
        // Any of several cookies of that name (different paths) may match; cookies may span headers.
        let two = [
            ("cookie", "XSRF-TOKEN=old"),
            ("cookie", "XSRF-TOKEN=new"),
            ("x-xsrf-token", "new"),
        ];
        assert_eq!(check(&req(&two)), Ok(()));
    }

    #[test]
    fn token_endpoint_reuses_or_issues() {
        let cookie = format!("XSRF-TOKEN={T}");
        let r = token(&req(&[("cookie", &cookie)])).unwrap();
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["token"], T);
        assert_eq!(body["headerName"], "X-XSRF-TOKEN");
        assert_eq!(body["parameterName"], "_csrf");
        assert_eq!(
            r.header("set-cookie"),
            Some(format!("XSRF-TOKEN={T}; Path=/; SameSite=Strict").as_str())
        );

        let r = token(&req(&[("cookie", "XSRF-TOKEN=short")])).unwrap();
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        let fresh = body["token"].as_str().unwrap();
        assert!(is_token(fresh) && fresh != T);
    }

    #[test]
    fn cookie_parsing() {
        let r = req(&[("cookie", " x = 1 ;XSRF-TOKEN=\"q\";novalue; XSRF-TOKEN=z")]);
        assert_eq!(cookie_values(&r, "XSRF-TOKEN"), vec!["q", "z"]);
        assert_eq!(cookie_values(&r, "x"), vec!["1"]);
        assert!(cookie_values(&r, "novalue").is_empty());
    }
}
