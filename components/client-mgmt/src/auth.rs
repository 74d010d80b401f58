//! Who may manage clients (reference §1.6). A request carrying `x-esignet-internal: 1` comes from the host
//! itself (the host strips that header from every outside request). Anyone else presents
//! `Authorization: Bearer <JWT>`: a token signed by this host's `client-mgmt-admin` key with issuer
//! `<issuer>/admin`, or — when the variables `trusted_issuer` and `trusted_jwks` are set — a token of that
//! issuer signed by a key of that JWK set (chosen by `kid`). Signatures are checked by the host's `keys`
//! capability; the claims (audience, time, scope) by `esignet_core::client::registration::access`.

use esignet_core::bearer::bearer_token;
use esignet_core::client::registration::access::check_admin_claims;
use esignet_core::client::registration::Operation;
use esignet_core::hashing::b64url_decode;
use esignet_core::EsignetError;
use esignet_sdk::keys::{self, KeyError};
use esignet_sdk::{config, Request};
use serde_json::Value;

use crate::reply::{Caller, Failure};

/// The key purpose the host signs admin tokens with.
const ADMIN_KEY_PURPOSE: &str = "client-mgmt-admin";
/// Algorithms accepted from a trusted issuer when its key names none.
const RSA_ALGS: [&str; 2] = ["RS256", "PS256"];

fn unauthorized() -> Failure {
    Failure::one(EsignetError::Unauthorized)
}

fn variable(name: &str) -> Option<String> {
    config::get(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn subject(payload: &[u8]) -> Option<String> {
    let claims: Value = serde_json::from_slice(payload).ok()?;
    let sub = claims.get("sub")?.as_str()?;
    (sub.len() <= 100 && !sub.chars().any(char::is_control)).then(|| sub.to_owned())
}

/// Checks the caller may run `op`; `now` in epoch seconds.
pub fn authorize(req: &Request, op: Operation, now: i64) -> Result<Caller, Failure> {
    if req.header("x-esignet-internal") == Some("1") {
        return Ok(Caller {
            kind: "internal",
            subject: None,
        });
    }
    let values: Vec<&str> = req.header_values("authorization").collect();
    let token = bearer_token(&values).map_err(|_| unauthorized())?;

    match keys::verify_own_jws(ADMIN_KEY_PURPOSE, token) {
        Ok((_, payload)) => {
            let issuer =
                variable("issuer").ok_or_else(|| Failure::internal("issuer variable missing"))?;
            let expected = format!("{}/admin", issuer.trim_end_matches('/'));
            check_admin_claims(&payload, &expected, op, now).map_err(Failure::one)?;
            return Ok(Caller {
                kind: "own",
                subject: subject(&payload),
            });
        }
        Err(KeyError::BackendUnavailable) => return Err(Failure::unavailable("keys")),
        Err(_) => {}
    }

    let (Some(issuer), Some(jwks)) = (variable("trusted_issuer"), variable("trusted_jwks")) else {
        return Err(unauthorized());
    };
    let key = trusted_key(&jwks, token).ok_or_else(unauthorized)?;
    let algs = allowed_algs(&key);
    match keys::verify_jws(token, &key.to_string(), &algs) {
        Ok((_, payload)) => {
            check_admin_claims(&payload, &issuer, op, now).map_err(Failure::one)?;
            Ok(Caller {
                kind: "trusted",
                subject: subject(&payload),
            })
        }
        Err(KeyError::BackendUnavailable) => Err(Failure::unavailable("keys")),
        Err(_) => Err(unauthorized()),
    }
}

/// The key of `jwks` (a JSON JWK set) the token names by `kid`; without a `kid`, the set's only key.
fn trusted_key(jwks: &str, token: &str) -> Option<Value> {
    let set: Value = serde_json::from_str(jwks).ok()?;
    let keys = set.get("keys")?.as_array()?;
    let header_b64 = token.split('.').next()?;
    let header: Value = serde_json::from_slice(&b64url_decode(header_b64)?).ok()?;
    match header.get("kid").and_then(Value::as_str) {
        Some(kid) => keys
            .iter()
            .find(|k| k.get("kid").and_then(Value::as_str) == Some(kid))
            .cloned(),
        None if keys.len() == 1 => keys.first().cloned(),
        None => None,
    }
}

/// The algorithms a trusted key may verify: its own `alg`, else the usual ones for its type.
fn allowed_algs(key: &Value) -> Vec<String> {
    if let Some(alg) = key.get("alg").and_then(Value::as_str) {
        return vec![alg.to_owned()];
    }
    match (
        key.get("kty").and_then(Value::as_str),
        key.get("crv").and_then(Value::as_str),
    ) {
        (Some("RSA"), _) => RSA_ALGS.iter().map(|a| (*a).to_owned()).collect(),
        (Some("EC"), Some("P-256")) => vec!["ES256".to_owned()],
        (Some("EC"), Some("P-384")) => vec!["ES384".to_owned()],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use esignet_core::hashing::b64url;

    fn token_with(header: &str) -> String {
        format!("{}.e30.sig", b64url(header.as_bytes()))
    }

    #[test]
    fn picks_the_trusted_key_by_kid() {
        let set = r#"{"keys":[{"kid":"a","kty":"EC","crv":"P-256"},{"kid":"b","kty":"RSA"}]}"#;
        let k = trusted_key(set, &token_with(r#"{"alg":"RS256","kid":"b"}"#)).unwrap();
        assert_eq!(k["kty"], "RSA");
        assert_eq!(allowed_algs(&k), vec!["RS256", "PS256"]);
        assert!(trusted_key(set, &token_with(r#"{"alg":"RS256","kid":"c"}"#)).is_none());
        assert!(trusted_key(set, &token_with(r#"{"alg":"RS256"}"#)).is_none());
        let one = r#"{"keys":[{"kty":"EC","crv":"P-256","alg":"ES256"}]}"#;
        let k = trusted_key(one, &token_with(r#"{"alg":"ES256"}"#)).unwrap();
        assert_eq!(allowed_algs(&k), vec!["ES256"]);
        assert!(trusted_key("not json", "x.y.z").is_none());
        assert!(trusted_key(set, "%%%.y.z").is_none());
    }
}
