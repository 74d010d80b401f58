//! JOSE operations on JWKs through `josekit`: signing and verifying compact JWS, compact JWE, key generation and
//! RFC 7638 thumbprints. Backends that hold keys in software use these; the HSM backend signs raw and only
//! borrows the verification side.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jwk::alg::ec::{EcCurve, EcKeyPair};
use josekit::jwk::alg::rsa::RsaKeyPair;
use josekit::jwk::{Jwk, KeyPair};
use josekit::jws::{JwsHeader, JwsSigner, JwsVerifier};
use parking_lot::Mutex;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use super::KeyError;

fn invalid(e: impl std::fmt::Display) -> KeyError {
    KeyError::Invalid(e.to_string())
}

/// Generates a private JWK for a signing (`RS256`, `PS256`, `ES256`) or encryption (`RSA-OAEP-256`) algorithm.
pub fn generate_key(alg: &str) -> Result<Jwk, KeyError> {
    let mut jwk = match alg {
        "RS256" | "PS256" | "RSA-OAEP-256" => RsaKeyPair::generate(2048).map_err(invalid)?.to_jwk_key_pair(),
        "ES256" => EcKeyPair::generate(EcCurve::P256).map_err(invalid)?.to_jwk_key_pair(),
        other => return Err(KeyError::Invalid(format!("unsupported key algorithm {other}"))),
    };
    let kid = thumbprint(&jwk)?;
    jwk.set_key_id(kid);
    jwk.set_algorithm(alg);
    jwk.set_key_use(if alg.starts_with("RSA-OAEP") { "enc" } else { "sig" });
    Ok(jwk)
}

/// RFC 7638 thumbprint (SHA-256, base64url) of an RSA or EC JWK.
pub fn thumbprint(jwk: &Jwk) -> Result<String, KeyError> {
    let m = jwk.as_ref();
    let get = |k: &str| m.get(k).and_then(Value::as_str).ok_or_else(|| invalid(format!("JWK lacks `{k}`")));
    let canonical = match jwk.key_type() {
        "RSA" => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, get("e")?, get("n")?),
        "EC" => format!(r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#, get("crv")?, get("x")?, get("y")?),
        "OKP" => format!(r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#, get("crv")?, get("x")?),
        other => return Err(invalid(format!("unsupported key type {other}"))),
    };
    Ok(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

/// The public part of a private JWK, keeping `kid`, `alg` and `use`.
pub fn public_jwk(jwk: &Jwk) -> Result<Value, KeyError> {
    let public = jwk.to_public_key().map_err(invalid)?;
    let mut map = public.as_ref().clone();
    for member in ["kid", "alg", "use"] {
        if let Some(v) = jwk.as_ref().get(member) {
            map.insert(member.to_string(), v.clone());
        }
    }
    Ok(Value::Object(map))
}

/// Keys parsed into OpenSSL objects, by SHA-256 of (algorithm, JWK JSON). Parsing a JWK (DER encoding, OpenSSL
/// 3's decoder, RSA blinding set-up) cost more than the RSA signature itself — about 40 % of a login's host CPU in
/// the login benchmark — so each key is parsed once. Bounded: a full cache is emptied and refilled.
const KEY_CACHE_MAX: usize = 512;
static SIGNERS: LazyLock<Mutex<HashMap<[u8; 32], Arc<dyn JwsSigner>>>> = LazyLock::new(|| Mutex::new(HashMap::new()));
static VERIFIERS: LazyLock<Mutex<HashMap<[u8; 32], Arc<dyn JwsVerifier>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn cache_key(alg: &str, jwk: &Map<String, Value>) -> Result<[u8; 32], KeyError> {
    let mut hash = Sha256::new();
    hash.update(alg.as_bytes());
    hash.update([0u8]);
    hash.update(serde_json::to_vec(jwk).map_err(invalid)?);
    let mut key = [0u8; 32];
    key.copy_from_slice(&hash.finalize());
    Ok(key)
}

fn cached<T: ?Sized>(
    cache: &Mutex<HashMap<[u8; 32], Arc<T>>>,
    key: [u8; 32],
    make: impl FnOnce() -> Result<Arc<T>, KeyError>,
) -> Result<Arc<T>, KeyError> {
    if let Some(hit) = cache.lock().get(&key) {
        return Ok(hit.clone());
    }
    let made = make()?;
    let mut cache = cache.lock();
    if cache.len() >= KEY_CACHE_MAX {
        cache.clear();
    }
    cache.insert(key, made.clone());
    Ok(made)
}

fn signer(alg: &str, jwk: &Jwk) -> Result<Arc<dyn JwsSigner>, KeyError> {
    cached(&SIGNERS, cache_key(alg, jwk.as_ref())?, || Ok(Arc::from(parse_signer(alg, jwk)?)))
}

fn parse_signer(alg: &str, jwk: &Jwk) -> Result<Box<dyn JwsSigner>, KeyError> {
    use josekit::jws::*;
    Ok(match alg {
        "RS256" => Box::new(RS256.signer_from_jwk(jwk).map_err(invalid)?),
        "PS256" => Box::new(PS256.signer_from_jwk(jwk).map_err(invalid)?),
        "ES256" => Box::new(ES256.signer_from_jwk(jwk).map_err(invalid)?),
        other => return Err(invalid(format!("unsupported signing algorithm {other}"))),
    })
}

fn verifier(alg: &str, jwk: &Jwk) -> Result<Arc<dyn JwsVerifier>, KeyError> {
    cached(&VERIFIERS, cache_key(alg, jwk.as_ref())?, || Ok(Arc::from(parse_verifier(alg, jwk)?)))
}

fn parse_verifier(alg: &str, jwk: &Jwk) -> Result<Box<dyn JwsVerifier>, KeyError> {
    use josekit::jws::*;
    Ok(match alg {
        "RS256" => Box::new(RS256.verifier_from_jwk(jwk).map_err(invalid)?),
        "RS384" => Box::new(RS384.verifier_from_jwk(jwk).map_err(invalid)?),
        "RS512" => Box::new(RS512.verifier_from_jwk(jwk).map_err(invalid)?),
        "PS256" => Box::new(PS256.verifier_from_jwk(jwk).map_err(invalid)?),
        "PS384" => Box::new(PS384.verifier_from_jwk(jwk).map_err(invalid)?),
        "PS512" => Box::new(PS512.verifier_from_jwk(jwk).map_err(invalid)?),
        "ES256" => Box::new(ES256.verifier_from_jwk(jwk).map_err(invalid)?),
        "ES384" => Box::new(ES384.verifier_from_jwk(jwk).map_err(invalid)?),
        "ES512" => Box::new(ES512.verifier_from_jwk(jwk).map_err(invalid)?),
        "EdDSA" => Box::new(EdDSA.verifier_from_jwk(jwk).map_err(invalid)?),
        other => return Err(invalid(format!("unsupported signature algorithm {other}"))),
    })
}

/// Signs with a private JWK; `header` must not carry `alg` or `kid` (they are set from the key).
pub fn sign(alg: &str, jwk: &Jwk, mut header: Map<String, Value>, payload: &[u8]) -> Result<String, KeyError> {
    header.remove("alg");
    header.remove("kid");
    let mut h = JwsHeader::from_map(header).map_err(invalid)?;
    if let Some(kid) = jwk.key_id() {
        h.set_key_id(kid);
    }
    let signer = signer(alg, jwk)?;
    josekit::jws::serialize_compact(payload, &h, signer.as_ref()).map_err(invalid)
}

/// Decodes the protected header of a compact JWS without verifying anything.
pub fn jws_header(jws: &str) -> Result<Map<String, Value>, KeyError> {
    let first = jws.split('.').next().unwrap_or_default();
    if jws.split('.').count() != 3 {
        return Err(invalid("not a compact JWS"));
    }
    let bytes = URL_SAFE_NO_PAD.decode(first).map_err(invalid)?;
    match serde_json::from_slice(&bytes).map_err(invalid)? {
        Value::Object(m) => Ok(m),
        _ => Err(invalid("JWS header is not an object")),
    }
}

/// Verifies a compact JWS against a public JWK; `alg` must be one of `allowed` (never `none`).
/// Returns the header JSON and the payload.
pub fn verify(jws: &str, jwk: &Jwk, allowed: &[String]) -> Result<(String, Vec<u8>), KeyError> {
    let header = jws_header(jws)?;
    let alg = header.get("alg").and_then(Value::as_str).ok_or_else(|| invalid("JWS header lacks alg"))?;
    if alg == "none" || !allowed.iter().any(|a| a == alg) {
        return Err(invalid(format!("algorithm {alg} is not allowed")));
    }
    if let Some(key_alg) = jwk.algorithm() {
        if key_alg != alg {
            return Err(KeyError::Verification(format!("key is for {key_alg}, JWS uses {alg}")));
        }
    }
    if header.contains_key("crit") {
        return Err(invalid("unsupported critical header"));
    }
    // The caller chose this key; a `kid` in it must not make josekit demand the same `kid` in the header
    // (RFC 7515 makes the header's `kid` optional).
    let mut map = jwk.as_ref().clone();
    map.remove("kid");
    let key = Jwk::from_map(map).map_err(invalid)?;
    let verifier = verifier(alg, &key)?;
    let (payload, header) = josekit::jws::deserialize_compact(jws, verifier.as_ref())
        .map_err(|e| KeyError::Verification(e.to_string()))?;
    Ok((Value::Object(header.claims_set().clone()).to_string(), payload))
}

/// Encrypts to a public JWK as a compact JWE.
pub fn encrypt(
    jwk: &Jwk,
    alg: &str,
    enc: &str,
    plaintext: &[u8],
    content_type: Option<&str>,
) -> Result<String, KeyError> {
    use josekit::jwe::*;
    if !matches!(enc, "A128GCM" | "A192GCM" | "A256GCM" | "A128CBC-HS256" | "A256CBC-HS512") {
        return Err(invalid(format!("unsupported content encryption {enc}")));
    }
    let encrypter: Box<dyn JweEncrypter> = match alg {
        "RSA-OAEP-256" => Box::new(RSA_OAEP_256.encrypter_from_jwk(jwk).map_err(invalid)?),
        "RSA-OAEP" => Box::new(RSA_OAEP.encrypter_from_jwk(jwk).map_err(invalid)?),
        "ECDH-ES" => Box::new(ECDH_ES.encrypter_from_jwk(jwk).map_err(invalid)?),
        "ECDH-ES+A128KW" => Box::new(ECDH_ES_A128KW.encrypter_from_jwk(jwk).map_err(invalid)?),
        "ECDH-ES+A256KW" => Box::new(ECDH_ES_A256KW.encrypter_from_jwk(jwk).map_err(invalid)?),
        other => return Err(invalid(format!("unsupported key management algorithm {other}"))),
    };
    let mut header = JweHeader::new();
    header.set_content_encryption(enc);
    if let Some(kid) = jwk.key_id() {
        header.set_key_id(kid);
    }
    if let Some(cty) = content_type {
        header.set_content_type(cty);
    }
    josekit::jwe::serialize_compact(plaintext, &header, encrypter.as_ref()).map_err(invalid)
}

/// Decrypts a compact JWE with a private JWK.
pub fn decrypt(jwk: &Jwk, alg: &str, jwe: &str) -> Result<Vec<u8>, KeyError> {
    use josekit::jwe::*;
    let decrypter: Box<dyn JweDecrypter> = match alg {
        "RSA-OAEP-256" => Box::new(RSA_OAEP_256.decrypter_from_jwk(jwk).map_err(invalid)?),
        other => return Err(invalid(format!("unsupported key management algorithm {other}"))),
    };
    let (plaintext, _) = josekit::jwe::deserialize_compact(jwe, decrypter.as_ref())
        .map_err(|e| KeyError::Verification(e.to_string()))?;
    Ok(plaintext)
}

/// Parses a JWK from JSON, refusing private keys where only a public one belongs.
pub fn parse_public_jwk(json: &str) -> Result<Jwk, KeyError> {
    let jwk = Jwk::from_bytes(json.as_bytes()).map_err(invalid)?;
    if jwk.parameter("d").is_some() {
        return Err(invalid("a private key was given where a public key belongs"));
    }
    Ok(jwk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_each_alg_and_refuse_tampering() {
        for alg in ["RS256", "PS256", "ES256"] {
            let key = generate_key(alg).unwrap();
            let public = Jwk::from_map(public_jwk(&key).unwrap().as_object().unwrap().clone()).unwrap();
            assert!(public.parameter("d").is_none());
            let mut header = Map::new();
            header.insert("typ".into(), "JWT".into());
            header.insert("alg".into(), "none".into());
            let jws = sign(alg, &key, header, br#"{"a":1}"#).unwrap();
            let allowed = vec![alg.to_string()];
            let (h, payload) = verify(&jws, &public, &allowed).unwrap();
            assert_eq!(payload, br#"{"a":1}"#);
            assert!(h.contains(alg) && h.contains(key.key_id().unwrap()));
            let mut tampered = jws.clone();
            tampered.insert(jws.find('.').unwrap() + 2, 'A');
            assert!(verify(&tampered, &public, &allowed).is_err());
            assert!(verify(&jws, &public, &["HS256".to_string()]).is_err());
        }
    }

    #[test]
    fn a_header_without_kid_verifies_against_a_key_with_one() {
        let key = generate_key("ES256").unwrap();
        let public = Jwk::from_map(public_jwk(&key).unwrap().as_object().unwrap().clone()).unwrap();
        let mut no_kid = key.as_ref().clone();
        no_kid.remove("kid");
        let signer_key = Jwk::from_map(no_kid).unwrap();
        let jws = sign("ES256", &signer_key, Map::new(), b"x").unwrap();
        assert!(!jws_header(&jws).unwrap().contains_key("kid"));
        assert_eq!(verify(&jws, &public, &["ES256".to_string()]).unwrap().1, b"x");
    }

    #[test]
    fn parsed_keys_are_cached_per_key_not_shared_between_keys() {
        let (a, b) = (generate_key("RS256").unwrap(), generate_key("RS256").unwrap());
        let public = |k: &Jwk| Jwk::from_map(public_jwk(k).unwrap().as_object().unwrap().clone()).unwrap();
        let allowed = vec!["RS256".to_string()];
        for _ in 0..2 {
            let jws = sign("RS256", &a, Map::new(), b"x").unwrap();
            assert_eq!(verify(&jws, &public(&a), &allowed).unwrap().1, b"x");
            assert!(verify(&jws, &public(&b), &allowed).is_err());
        }
        assert!(Arc::ptr_eq(&signer("RS256", &a).unwrap(), &signer("RS256", &a).unwrap()));
        assert!(!Arc::ptr_eq(&signer("RS256", &a).unwrap(), &signer("RS256", &b).unwrap()));
    }

    #[test]
    fn alg_none_is_refused() {
        let key = generate_key("ES256").unwrap();
        let unsigned = format!("{}.{}.", URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#), URL_SAFE_NO_PAD.encode(b"{}"));
        assert!(verify(&unsigned, &key, &["none".into(), "ES256".into()]).is_err());
    }

    #[test]
    fn jwe_round_trip() {
        let key = generate_key("RSA-OAEP-256").unwrap();
        let public = Jwk::from_map(public_jwk(&key).unwrap().as_object().unwrap().clone()).unwrap();
        let jwe = encrypt(&public, "RSA-OAEP-256", "A256GCM", b"secret", Some("JWT")).unwrap();
        assert_eq!(jwe.split('.').count(), 5);
        assert_eq!(decrypt(&key, "RSA-OAEP-256", &jwe).unwrap(), b"secret");
    }

    #[test]
    fn rfc7638_thumbprint_example() {
        // RFC 7638 §3.1's example key and thumbprint.
        let jwk = Jwk::from_bytes(br#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#).unwrap();
        assert_eq!(thumbprint(&jwk).unwrap(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }
}
