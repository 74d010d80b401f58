//! Who may call the client-management API (reference §1.6): the claims of an admin bearer token, after the
//! component has verified its signature (with the host's `client-mgmt-admin` key or a trusted issuer's JWKS).
//!
//! The token must be a JSON object with `iss` equal to the expected issuer, an `aud` (string or array)
//! containing [`ADMIN_AUDIENCE`], a numeric `exp` not passed and a numeric `iat` not in the future (each with
//! [`LEEWAY_SECS`] of leeway), and a `nbf`, if present, already reached. Failing any of that is
//! `unauthorized` (401). A valid token whose space-separated `scope` lacks the operation's scope
//! (`add_oidc_client` for POST, `update_oidc_client` for PUT and PATCH) is `forbidden` (403).

use serde_json::Value;

use super::Operation;
use crate::error::EsignetError;

/// The audience an admin token must name.
pub const ADMIN_AUDIENCE: &str = "esignet-client-mgmt";
/// Clock leeway for `exp`, `iat` and `nbf`, in seconds.
pub const LEEWAY_SECS: i64 = 5;

/// The scope an operation needs.
pub fn required_scope(op: Operation) -> &'static str {
    match op {
        Operation::Create => "add_oidc_client",
        Operation::Update | Operation::Patch => "update_oidc_client",
    }
}

fn number(claims: &Value, name: &str) -> Option<i64> {
    let v = claims.get(name)?;
    v.as_i64().or_else(|| {
        v.as_f64()
            .filter(|f| f.is_finite())
            .map(|f| f.floor() as i64)
    })
}

/// Checks a verified token payload for `op` at `now` (epoch seconds). See the module docs.
pub fn check_admin_claims(
    payload: &[u8],
    expected_issuer: &str,
    op: Operation,
    now: i64,
) -> Result<(), EsignetError> {
    let unauthorized = EsignetError::Unauthorized;
    let claims: Value = serde_json::from_slice(payload).map_err(|_| unauthorized)?;
    if !claims.is_object() || expected_issuer.is_empty() {
        return Err(unauthorized);
    }
    if claims.get("iss").and_then(Value::as_str) != Some(expected_issuer) {
        return Err(unauthorized);
    }
    let audience_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == ADMIN_AUDIENCE,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(ADMIN_AUDIENCE)),
        _ => false,
    };
    let exp = number(&claims, "exp").ok_or(unauthorized)?;
    let iat = number(&claims, "iat").ok_or(unauthorized)?;
    let nbf_ok = match claims.get("nbf") {
        None => true,
        Some(_) => number(&claims, "nbf").is_some_and(|nbf| nbf <= now.saturating_add(LEEWAY_SECS)),
    };
    let time_ok =
        now < exp.saturating_add(LEEWAY_SECS) && iat <= now.saturating_add(LEEWAY_SECS) && nbf_ok;
    if !audience_ok || !time_ok {
        return Err(unauthorized);
    }
    let scope = claims.get("scope").and_then(Value::as_str).unwrap_or("");
    if scope
        .split_ascii_whitespace()
        .any(|s| s == required_scope(op))
    {
        Ok(())
    } else {
        Err(EsignetError::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_700_000_000;
    const ISS: &str = "http://127.0.0.1:8088/v1/esignet/admin";

    fn token(overrides: Value) -> Vec<u8> {
        let mut t = json!({"iss": ISS, "aud": ["esignet-client-mgmt", "other"], "iat": NOW - 10, "exp": NOW + 300,
                           "scope": "openid add_oidc_client update_oidc_client"});
        for (k, v) in overrides.as_object().unwrap() {
            if v.is_null() {
                t.as_object_mut().unwrap().remove(k);
            } else {
                t[k] = v.clone();
            }
        }
        serde_json::to_vec(&t).unwrap()
    }

    #[test]
    fn accepts_a_valid_token_for_each_operation() {
        for op in [Operation::Create, Operation::Update, Operation::Patch] {
            assert_eq!(check_admin_claims(&token(json!({})), ISS, op, NOW), Ok(()));
        }
        let single_aud = token(json!({"aud": "esignet-client-mgmt"}));
        assert_eq!(
            check_admin_claims(&single_aud, ISS, Operation::Create, NOW),
            Ok(())
        );
        // Leeway: expired 4 s ago, issued 4 s in the future.
        let edge = token(json!({"exp": NOW - 4, "iat": NOW + 4}));
        assert_eq!(
            check_admin_claims(&edge, ISS, Operation::Create, NOW),
            Ok(())
        );
    }

    #[test]
    fn refuses_bad_tokens_as_unauthorized() {
        for o in [
            json!({"iss": "https://evil/admin"}),
            json!({"iss": null}),
            json!({"aud": "esignet"}),
            json!({"aud": null}),
            json!({"exp": NOW - 5}),
            json!({"exp": null}),
            json!({"exp": "soon"}),
            json!({"iat": NOW + 6}),
            json!({"iat": null}),
            json!({"nbf": NOW + 60}),
            json!({"nbf": "x"}),
        ] {
            let t = token(o.clone());
            assert_eq!(
                check_admin_claims(&t, ISS, Operation::Create, NOW),
                Err(EsignetError::Unauthorized),
                "{o}"
            );
        }
        assert_eq!(
            check_admin_claims(b"[1]", ISS, Operation::Create, NOW),
            Err(EsignetError::Unauthorized)
        );
        assert_eq!(
            check_admin_claims(b"nope", ISS, Operation::Create, NOW),
            Err(EsignetError::Unauthorized)
        );
        assert_eq!(
            check_admin_claims(&token(json!({})), "", Operation::Create, NOW),
            Err(EsignetError::Unauthorized)
        );
    }

    #[test]
    fn wrong_scope_is_forbidden() {
        let add_only = token(json!({"scope": "add_oidc_client"}));
        assert_eq!(
            check_admin_claims(&add_only, ISS, Operation::Create, NOW),
            Ok(())
        );
        assert_eq!(
            check_admin_claims(&add_only, ISS, Operation::Patch, NOW),
            Err(EsignetError::Forbidden)
        );
        let prefix = token(json!({"scope": "add_oidc_client_x update"}));
        assert_eq!(
            check_admin_claims(&prefix, ISS, Operation::Create, NOW),
            Err(EsignetError::Forbidden)
        );
        let none = token(json!({"scope": null}));
        assert_eq!(
            check_admin_claims(&none, ISS, Operation::Update, NOW),
            Err(EsignetError::Forbidden)
        );
    }
}
