//! The relying party's JOSE work: `private_key_jwt` client assertions (RFC 7523) and verification of the
//! provider's JWS (ID token, signed userinfo) against its JWKS, with keys parsed once and picked by `kid`.

use std::collections::HashMap;

use anyhow::{anyhow, bail, Context, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jwk::Jwk;
use josekit::jws::{JwsSigner, JwsVerifier, ES256, ES384, PS256, RS256};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

pub fn b64(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

pub fn b64_decode(text: &str) -> Result<Vec<u8>> {
    Ok(URL_SAFE_NO_PAD.decode(text.trim_end_matches('='))?)
}

pub fn sha256_b64(data: &[u8]) -> String {
    b64(&Sha256::digest(data))
}

pub fn random_b64(bytes: usize) -> String {
    let buf: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    b64(&buf)
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// The client's assertion signer (ES256 private JWK).
pub struct ClientKey {
    pub client_id: String,
    kid: Option<String>,
    signer: Box<dyn JwsSigner>,
}

impl ClientKey {
    pub fn from_jwk(client_id: &str, jwk: &Value) -> Result<ClientKey> {
        let map = jwk.as_object().ok_or_else(|| anyhow!("client key is not a JSON object"))?.clone();
        let jwk = Jwk::from_map(map)?;
        let signer: Box<dyn JwsSigner> = Box::new(ES256.signer_from_jwk(&jwk).context("client key: ES256 P-256 expected")?);
        Ok(ClientKey { client_id: client_id.to_string(), kid: jwk.key_id().map(str::to_string), signer })
    }

    /// A fresh assertion for `aud` (the token endpoint).
    pub fn assertion(&self, aud: &str) -> Result<String> {
        let now = now_secs();
        let mut header = json!({ "alg": "ES256", "typ": "JWT" });
        if let (Some(kid), Some(h)) = (&self.kid, header.as_object_mut()) {
            h.insert("kid".into(), kid.clone().into());
        }
        let payload = json!({
            "iss": self.client_id, "sub": self.client_id, "aud": aud,
            "iat": now, "exp": now + 60, "jti": random_b64(16),
        });
        let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(payload.to_string().as_bytes()));
        let sig = self.signer.sign(input.as_bytes())?;
        Ok(format!("{input}.{}", b64(&sig)))
    }
}

/// An ES256 key pair for a client registration: (private JWK, public JWK), both with kid, alg and use.
pub fn new_client_key() -> Result<(Value, Value)> {
    let pair = ES256.generate_key_pair()?;
    let kid = random_b64(16);
    let mut private = pair.to_jwk_private_key();
    let mut public = pair.to_jwk_public_key();
    for k in [&mut private, &mut public] {
        k.set_key_id(kid.clone());
        k.set_algorithm("ES256");
        k.set_key_use("sig");
    }
    Ok((Value::Object(private.as_ref().clone()), Value::Object(public.as_ref().clone())))
}

/// The provider's public keys, by kid.
pub struct Jwks {
    keys: HashMap<String, (String, Box<dyn JwsVerifier>)>,
}

impl Jwks {
    pub fn parse(doc: &Value) -> Result<Jwks> {
        let mut keys = HashMap::new();
        for k in doc.get("keys").and_then(Value::as_array).ok_or_else(|| anyhow!("JWKS without keys"))? {
            let Some(map) = k.as_object() else { continue };
            let (Some(kid), Some(kty)) = (map.get("kid").and_then(Value::as_str), map.get("kty").and_then(Value::as_str))
            else {
                continue;
            };
            if map.get("use").and_then(Value::as_str).is_some_and(|u| u != "sig") {
                continue;
            }
            let jwk = Jwk::from_map(public_only(map))?;
            let alg = map.get("alg").and_then(Value::as_str).unwrap_or(if kty == "EC" { "ES256" } else { "RS256" });
            let verifier: Box<dyn JwsVerifier> = match alg {
                "RS256" => Box::new(RS256.verifier_from_jwk(&jwk)?),
                "PS256" => Box::new(PS256.verifier_from_jwk(&jwk)?),
                "ES256" => Box::new(ES256.verifier_from_jwk(&jwk)?),
                "ES384" => Box::new(ES384.verifier_from_jwk(&jwk)?),
                _ => continue,
            };
            keys.insert(kid.to_string(), (alg.to_string(), verifier));
        }
        if keys.is_empty() {
            bail!("JWKS has no usable signing key");
        }
        Ok(Jwks { keys })
    }

    /// Verifies a compact JWS (header `kid` and `alg` must match a published key) and returns its claims.
    pub fn verify(&self, jws: &str) -> Result<(Map<String, Value>, Map<String, Value>)> {
        let mut parts = jws.trim().splitn(3, '.');
        let (Some(h), Some(p), Some(s)) = (parts.next(), parts.next(), parts.next()) else {
            bail!("not a compact JWS");
        };
        let header: Map<String, Value> = serde_json::from_slice(&b64_decode(h)?)?;
        let kid = header.get("kid").and_then(Value::as_str).ok_or_else(|| anyhow!("JWS without kid"))?;
        let (alg, verifier) = self.keys.get(kid).ok_or_else(|| anyhow!("kid {kid} not in the JWKS"))?;
        if header.get("alg").and_then(Value::as_str) != Some(alg.as_str()) {
            bail!("JWS alg {:?} is not the key's {alg}", header.get("alg"));
        }
        let input_len = h.len() + 1 + p.len();
        verifier
            .verify(&jws.trim().as_bytes()[..input_len], &b64_decode(s)?)
            .map_err(|e| anyhow!("signature does not verify: {e}"))?;
        let claims: Map<String, Value> = serde_json::from_slice(&b64_decode(p)?)?;
        Ok((header, claims))
    }
}

fn public_only(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .filter(|(k, _)| !matches!(k.as_str(), "d" | "p" | "q" | "dp" | "dq" | "qi" | "exp"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// `at_hash` of an access token for an RS256/PS256/ES256 ID token.
pub fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    b64(&digest[..16])
}
