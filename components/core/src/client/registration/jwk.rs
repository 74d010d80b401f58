//! Client public keys: the `publicKey` (for `private_key_jwt`) and `encPublicKey` (for userinfo JWE) JWKs.
//!
//! Accepted: RSA (2048 to 4096-bit modulus, odd exponent ≥ 3) for both uses, and EC on P-256, P-384 or P-521 for
//! signatures. Any private member (`d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`) or a symmetric `k` is refused, as is
//! an `alg` or `use` that is blank or does not fit the key. The key is stored normalised: only `kty`, the key
//! material (`n`/`e` re-encoded minimally, or `crv`/`x`/`y`) and `kid`, `alg`, `use` when given. Its hash, the
//! uniqueness key of `client_detail.public_key_hash`, is the hex SHA-256 of the RFC 7638 thumbprint input
//! computed from the normalised members, so the same key written with padding or leading zeros is still a
//! duplicate. Whether the numbers form a usable key is checked by the host (`keys`) in the component.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::EsignetError;
use crate::hashing::{b64url, b64url_decode};

/// What the key is registered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUse {
    /// Verifying the client's assertions (`publicKey`).
    Signature,
    /// Encrypting userinfo to the client (`encPublicKey`).
    Encryption,
}

/// A validated, normalised public JWK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedKey {
    /// The normalised JWK as JSON text (what is stored).
    pub json: String,
    /// Hex SHA-256 of the RFC 7638 thumbprint input.
    pub hash: String,
    /// The algorithm to exercise the key with on the host (its `alg`, or the default for its type).
    pub probe_alg: String,
}

/// Members that only a private or symmetric key has.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// Longest stored JWK (`client_detail.public_key` is 1024 characters in eSignet's schema).
const MAX_JWK_LEN: usize = 1024;

const RSA_SIG_ALGS: [&str; 6] = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"];
const RSA_ENC_ALGS: [&str; 2] = ["RSA-OAEP-256", "RSA-OAEP"];

fn bad() -> EsignetError {
    EsignetError::InvalidPublicKey
}

fn str_member<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, EsignetError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s)),
        Some(_) => Err(bad()),
    }
}

fn required<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<&'a str, EsignetError> {
    str_member(obj, name)?.ok_or_else(bad)
}

fn decode(s: &str) -> Result<Vec<u8>, EsignetError> {
    b64url_decode(s).ok_or_else(bad)
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// Validates `value` as a public JWK for `key_use` and normalises it. Every failure is `invalid_public_key`.
pub fn validate_public_jwk(value: &Value, key_use: KeyUse) -> Result<ValidatedKey, EsignetError> {
    let obj = value.as_object().ok_or_else(bad)?;
    if PRIVATE_MEMBERS.iter().any(|m| obj.contains_key(*m)) {
        return Err(bad());
    }
    let kty = required(obj, "kty")?;
    let alg = str_member(obj, "alg")?;
    let key_use_member = str_member(obj, "use")?;
    let expected_use = match key_use {
        KeyUse::Signature => "sig",
        KeyUse::Encryption => "enc",
    };
    if key_use_member.is_some_and(|u| u != expected_use) {
        return Err(bad());
    }
    let kid = str_member(obj, "kid")?;
    if kid.is_some_and(|k| k.len() > 256 || k.chars().any(char::is_control)) {
        return Err(bad());
    }

    let mut out = Map::new();
    let (canonical, default_alg, allowed): (String, &str, Vec<&str>) = match (kty, key_use) {
        ("RSA", _) => {
            let n = decode(required(obj, "n")?)?;
            let n = strip_leading_zeros(&n);
            let e = decode(required(obj, "e")?)?;
            let e = strip_leading_zeros(&e);
            let n_bits_ok = n.len() <= 512 && (n.len() > 256 || (n.len() == 256 && n[0] >= 0x80));
            let e_value = e.iter().try_fold(0u64, |acc, b| {
                acc.checked_mul(256).map(|a| a + u64::from(*b))
            });
            let e_ok = e.len() <= 8 && e_value.is_some_and(|v| v >= 3 && v % 2 == 1);
            if !n_bits_ok || !e_ok {
                return Err(bad());
            }
            let (n, e) = (b64url(n), b64url(e));
            out.insert("kty".into(), "RSA".into());
            out.insert("n".into(), n.clone().into());
            out.insert("e".into(), e.clone().into());
            let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
            match key_use {
                KeyUse::Signature => (canonical, "RS256", RSA_SIG_ALGS.to_vec()),
                KeyUse::Encryption => (canonical, "RSA-OAEP-256", RSA_ENC_ALGS.to_vec()),
            }
        }
        ("EC", KeyUse::Signature) => {
            let crv = required(obj, "crv")?;
            let (size, ec_alg) = match crv {
                "P-256" => (32, "ES256"),
                "P-384" => (48, "ES384"),
                "P-521" => (66, "ES512"),
                _ => return Err(bad()),
            };
            let x = decode(required(obj, "x")?)?;
            let y = decode(required(obj, "y")?)?;
            if x.len() != size || y.len() != size {
                return Err(bad());
            }
            let (x, y) = (b64url(&x), b64url(&y));
            out.insert("kty".into(), "EC".into());
            out.insert("crv".into(), crv.into());
            out.insert("x".into(), x.clone().into());
            out.insert("y".into(), y.clone().into());
            let canonical = format!(r#"{{"crv":"{crv}","kty":"EC","x":"{x}","y":"{y}"}}"#);
            (canonical, ec_alg, vec![ec_alg])
        }
        _ => return Err(bad()),
    };
    if alg.is_some_and(|a| !allowed.contains(&a)) {
        return Err(bad());
    }
    for (name, member) in [("kid", kid), ("alg", alg), ("use", key_use_member)] {
        if let Some(v) = member {
            out.insert(name.into(), v.into());
        }
    }
    let json = Value::Object(out).to_string();
    if json.len() > MAX_JWK_LEN {
        return Err(bad());
    }
    Ok(ValidatedKey {
        json,
        hash: hex(&Sha256::digest(canonical.as_bytes())),
        probe_alg: alg.unwrap_or(default_alg).to_owned(),
    })
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rsa_n() -> String {
        let mut n = vec![0xc1u8; 256];
        n[255] = 0x01;
        b64url(&n)
    }

    pub(crate) fn ec_key() -> Value {
        json!({"kty": "EC", "crv": "P-256", "x": b64url(&[1u8; 32]), "y": b64url(&[2u8; 32])})
    }

    #[test]
    fn accepts_rsa_and_ec_and_normalises() {
        let k = json!({"kty": "RSA", "n": rsa_n(), "e": "AQAB", "alg": "RS256", "use": "sig", "kid": "k1",
                       "x5c": ["ignored"]});
        let v = validate_public_jwk(&k, KeyUse::Signature).unwrap();
        assert_eq!(v.probe_alg, "RS256");
        assert_eq!(v.hash.len(), 64);
        let stored: Value = serde_json::from_str(&v.json).unwrap();
        assert_eq!(stored.as_object().unwrap().len(), 6);
        assert!(stored.get("x5c").is_none());

        let e = validate_public_jwk(&ec_key(), KeyUse::Signature).unwrap();
        assert_eq!(e.probe_alg, "ES256");
        let enc = validate_public_jwk(
            &json!({"kty": "RSA", "n": rsa_n(), "e": "AQAB", "use": "enc"}),
            KeyUse::Encryption,
        )
        .unwrap();
        assert_eq!(enc.probe_alg, "RSA-OAEP-256");
    }

    #[test]
    fn hash_is_the_rfc7638_thumbprint_and_ignores_padding() {
        // RFC 7638 §3.1 example key: thumbprint NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP\
                 ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368Q\
                 QMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2Nc\
                 Rwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let k = json!({"kty": "RSA", "n": n, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"});
        let v = validate_public_jwk(&k, KeyUse::Signature).unwrap();
        let expected = b64url_decode("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs").unwrap();
        assert_eq!(v.hash, hex(&expected));
        let padded_n = b64url(&[&[0u8][..], &b64url_decode(n).unwrap()].concat());
        let k2 = json!({"kty": "RSA", "n": padded_n, "e": "AAEAAQ"});
        assert_eq!(
            validate_public_jwk(&k2, KeyUse::Signature).unwrap().hash,
            v.hash
        );
    }

    #[test]
    fn refuses_private_symmetric_weak_and_mismatched_keys() {
        let mut with_d = ec_key();
        with_d["d"] = json!(b64url(&[3u8; 32]));
        let short_n = b64url(&[0xc1u8; 128]);
        let cases = [
            with_d,
            json!({"kty": "oct", "k": "c2VjcmV0"}),
            json!({"kty": "RSA", "n": short_n, "e": "AQAB"}),
            json!({"kty": "RSA", "n": rsa_n(), "e": "AQAA"}),
            json!({"kty": "RSA", "n": rsa_n(), "e": "AQ"}),
            json!({"kty": "RSA", "n": rsa_n(), "e": "AQAB", "alg": "ES256"}),
            json!({"kty": "RSA", "n": rsa_n(), "e": "AQAB", "alg": " "}),
            json!({"kty": "RSA", "n": rsa_n(), "e": "AQAB", "use": "enc"}),
            json!({"kty": "RSA", "n": rsa_n(), "e": "AQAB", "use": ""}),
            json!({"kty": "RSA", "n": "not+base64", "e": "AQAB"}),
            json!({"kty": "RSA", "e": "AQAB"}),
            json!({"kty": "EC", "crv": "P-256", "x": b64url(&[1u8; 31]), "y": b64url(&[2u8; 32])}),
            json!({"kty": "EC", "crv": "secp256k1", "x": b64url(&[1u8; 32]), "y": b64url(&[2u8; 32])}),
            json!({"kty": "OKP", "crv": "Ed25519", "x": b64url(&[1u8; 32])}),
            json!("a string"),
            json!({"kty": "RSA", "n": rsa_n(), "e": "AQAB", "kid": "x".repeat(300)}),
        ];
        for c in cases {
            assert_eq!(
                validate_public_jwk(&c, KeyUse::Signature),
                Err(EsignetError::InvalidPublicKey),
                "{c}"
            );
        }
        assert!(validate_public_jwk(&ec_key(), KeyUse::Encryption).is_err());
        let rsa = json!({"kty": "RSA", "n": rsa_n(), "e": "AQAB", "alg": "RS256"});
        assert!(validate_public_jwk(&rsa, KeyUse::Encryption).is_err());
    }
}
