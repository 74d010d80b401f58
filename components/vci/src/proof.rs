//! The `jwt` proof of possession (OpenID4VCI 1.0 App. F.1, F.4), checked in two halves around the signature,
//! which the host verifies with the key the header names ([`crate::holder_key`]).
//!
//! Header ([`read_header`]): a compact JWS whose `typ` is `openid4vci-proof+jwt`; `alg` asymmetric and among
//! the configuration's `proof_signing_alg_values_supported` (so `none` and MACs never); exactly one of `kid`,
//! `jwk`, `x5c`; no `crit`. Claims ([`check_claims`]): `aud` is the credential issuer identifier (a string or
//! an array holding it); `iat` a number within −300 s … +60 s of now; `iss`, when present, the token's
//! client; `exp`, when present, in the future; `nonce` a non-empty string (the issuer has a nonce endpoint,
//! so it is required). Every failure is `invalid_proof`; whether the nonce was issued is decided afterwards
//! by taking it from the cache (`invalid_nonce`), so a proof that fails here never burns a nonce.

use esignet_core::hashing::b64url_decode;
use serde_json::{Map, Value};

use crate::holder_key::HolderKey;
use crate::reply::VciError;

/// The proof JWT's `typ`.
pub const PROOF_TYP: &str = "openid4vci-proof+jwt";
/// How old a proof's `iat` may be.
pub const IAT_MAX_AGE_SECS: i64 = 300;
/// How far ahead of our clock a proof's `iat` may be.
pub const IAT_MAX_SKEW_SECS: i64 = 60;

/// A proof's header, read but not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofHeader {
    /// The signing algorithm.
    pub alg: String,
    /// The key it claims to be signed with.
    pub key: HolderKey,
}

/// What the claims must match.
#[derive(Debug, Clone, Copy)]
pub struct ProofPolicy<'a> {
    /// The credential issuer identifier.
    pub audience: &'a str,
    /// The access token's client.
    pub client_id: &'a str,
    /// Now, epoch seconds.
    pub now: i64,
}

fn invalid(reason: &'static str) -> VciError {
    VciError::InvalidProof(reason)
}

fn decode_object(segment: &str, what: &'static str) -> Result<Map<String, Value>, VciError> {
    let bytes = b64url_decode(segment).ok_or(invalid(what))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(invalid(what)),
    }
}

/// Checks a proof's header (module docs) and finds its key.
pub fn read_header(jwt: &str, algs: &[String]) -> Result<ProofHeader, VciError> {
    let parts: Vec<&str> = jwt.split('.').collect();
    let [header, payload, signature] = parts.as_slice() else {
        return Err(invalid("the proof is not a compact JWS"));
    };
    if payload.is_empty() || signature.is_empty() {
        return Err(invalid("the proof is not a compact JWS"));
    }
    let header = decode_object(header, "the proof header is not a JSON object")?;
    if header.get("typ").and_then(Value::as_str) != Some(PROOF_TYP) {
        return Err(invalid("proof typ must be openid4vci-proof+jwt"));
    }
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    if alg == "none" || alg.starts_with("HS") || !algs.iter().any(|a| a == alg) {
        return Err(invalid("proof alg is not supported"));
    }
    if header.contains_key("crit") {
        return Err(invalid("proof header has unsupported critical parameters"));
    }
    let named: Vec<&str> = ["kid", "jwk", "x5c"]
        .into_iter()
        .filter(|k| header.contains_key(*k))
        .collect();
    let key = match named.as_slice() {
        ["kid"] => {
            let kid = header
                .get("kid")
                .and_then(Value::as_str)
                .ok_or(invalid("proof kid is not a string"))?;
            HolderKey::from_kid(kid)
        }
        ["jwk"] => HolderKey::from_jwk(header.get("jwk").unwrap_or(&Value::Null)),
        ["x5c"] => HolderKey::from_x5c(header.get("x5c").unwrap_or(&Value::Null)),
        _ => Err("the proof header must name its key by exactly one of kid, jwk, x5c"),
    }
    .map_err(invalid)?;
    Ok(ProofHeader {
        alg: alg.to_owned(),
        key,
    })
}

fn number(claims: &Map<String, Value>, name: &str) -> Option<i64> {
    let v = claims.get(name)?;
    v.as_i64()
        .or_else(|| v.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
}

/// Checks a verified proof's claims (module docs); returns its `nonce`.
pub fn check_claims(payload: &[u8], policy: &ProofPolicy<'_>) -> Result<String, VciError> {
    let claims = match serde_json::from_slice(payload) {
        Ok(Value::Object(m)) => m,
        _ => return Err(invalid("the proof payload is not a JSON object")),
    };
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == policy.audience,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(policy.audience)),
        _ => false,
    };
    if !aud_ok {
        return Err(invalid(
            "proof aud must be the credential issuer identifier",
        ));
    }
    let iat = number(&claims, "iat").ok_or(invalid("proof iat is missing"))?;
    if iat < policy.now - IAT_MAX_AGE_SECS || iat > policy.now + IAT_MAX_SKEW_SECS {
        return Err(invalid("proof iat is outside the accepted window"));
    }
    if let Some(iss) = claims.get("iss") {
        if iss.as_str() != Some(policy.client_id) {
            return Err(invalid("proof iss must be the client_id"));
        }
    }
    if let Some(exp) = claims.get("exp") {
        if number(&claims, "exp").is_none_or(|e| e <= policy.now) || !exp.is_number() {
            return Err(invalid("the proof has expired"));
        }
    }
    match claims.get("nonce") {
        Some(Value::String(n)) if !n.is_empty() => Ok(n.clone()),
        _ => Err(invalid("proof nonce (c_nonce) is missing")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use esignet_core::hashing::b64url;
    use serde_json::json;

    fn jwt(header: Value) -> String {
        format!(
            "{}.{}.sig",
            b64url(header.to_string().as_bytes()),
            b64url(b"{}")
        )
    }

    fn algs() -> Vec<String> {
        vec!["ES256".into(), "EdDSA".into()]
    }

    fn jwk() -> Value {
        json!({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "BBBB"})
    }

    fn code(r: Result<impl std::fmt::Debug, VciError>) -> &'static str {
        r.map(|_| "ok").unwrap_or_else(|e| e.code())
    }

    #[test]
    fn header_rules() {
        let ok = read_header(
            &jwt(json!({"typ": PROOF_TYP, "alg": "ES256", "jwk": jwk()})),
            &algs(),
        )
        .unwrap();
        assert_eq!(ok.alg, "ES256");
        let bad = [
            json!({"typ": "JWT", "alg": "ES256", "jwk": jwk()}),
            json!({"alg": "ES256", "jwk": jwk()}),
            json!({"typ": PROOF_TYP, "alg": "none", "jwk": jwk()}),
            json!({"typ": PROOF_TYP, "alg": "HS256", "jwk": jwk()}),
            json!({"typ": PROOF_TYP, "alg": "RS256", "jwk": jwk()}),
            json!({"typ": PROOF_TYP, "alg": "ES256"}),
            json!({"typ": PROOF_TYP, "alg": "ES256", "jwk": jwk(), "kid": "did:jwk:x"}),
            json!({"typ": PROOF_TYP, "alg": "ES256", "kid": "did:web:example.com#1"}),
            json!({"typ": PROOF_TYP, "alg": "ES256", "jwk": jwk(), "crit": ["b64"]}),
        ];
        for h in bad {
            assert_eq!(
                code(read_header(&jwt(h.clone()), &algs())),
                "invalid_proof",
                "{h}"
            );
        }
        assert_eq!(code(read_header("a.b", &algs())), "invalid_proof");
        assert_eq!(code(read_header("!.b.c", &algs())), "invalid_proof");
    }

    #[test]
    fn claim_rules() {
        let p = ProofPolicy {
            audience: "https://i",
            client_id: "c",
            now: 1000,
        };
        let check = |v: Value| check_claims(v.to_string().as_bytes(), &p);
        assert_eq!(
            check(json!({"aud": "https://i", "iat": 1000, "nonce": "n"})).unwrap(),
            "n"
        );
        assert!(
            check(json!({"aud": ["x", "https://i"], "iat": 1060, "nonce": "n", "iss": "c"}))
                .is_ok()
        );
        assert!(
            check(json!({"aud": "https://i", "iat": 700.5, "nonce": "n", "exp": 1001})).is_ok()
        );
        for bad in [
            json!({"iat": 1000, "nonce": "n"}),
            json!({"aud": "https://other", "iat": 1000, "nonce": "n"}),
            json!({"aud": "https://i", "nonce": "n"}),
            json!({"aud": "https://i", "iat": 699, "nonce": "n"}),
            json!({"aud": "https://i", "iat": 1061, "nonce": "n"}),
            json!({"aud": "https://i", "iat": "1000", "nonce": "n"}),
            json!({"aud": "https://i", "iat": 1000, "nonce": "n", "iss": "other"}),
            json!({"aud": "https://i", "iat": 1000, "nonce": "n", "exp": 1000}),
            json!({"aud": "https://i", "iat": 1000}),
            json!({"aud": "https://i", "iat": 1000, "nonce": ""}),
        ] {
            assert_eq!(code(check(bad.clone())), "invalid_proof", "{bad}");
        }
        assert_eq!(code(check_claims(b"[1]", &p)), "invalid_proof");
    }
}
