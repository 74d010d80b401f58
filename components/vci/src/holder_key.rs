//! The holder's key named by a `jwt` proof's header (OpenID4VCI App. F.1): exactly one of `jwk`, `kid` (a DID
//! URL: `did:jwk`, or `did:key` with an Ed25519 key; resolved here, no network) or `x5c` (the leaf
//! certificate's key, see [`crate::der`]). The key is kept with its public members only (`kty` plus `crv`,
//! `x`, `y` or `n`, `e`); a JWK carrying private or symmetric material is refused. It becomes the credential's
//! binding: `cnf.jwk` of an SD-JWT VC, and as `did:jwk` (unpadded base64url of the public JWK's JSON, members
//! sorted; or the DID the wallet used) the `sub` of a `jwt_vc_json` credential.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use esignet_core::hashing::{b64url, b64url_decode};
use serde_json::{Map, Value};

use crate::der::certificate_jwk;

const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
const BASE58: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// A proof's public key, and the DID it was named by, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolderKey {
    /// Public members only.
    pub jwk: Map<String, Value>,
    /// `did:jwk:…` or `did:key:…` without fragment, when the proof named the key by `kid`.
    pub did: Option<String>,
}

fn member(jwk: &Map<String, Value>, name: &str) -> Result<Value, &'static str> {
    match jwk.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(Value::String(s.clone())),
        _ => Err("the proof key lacks a required member"),
    }
}

impl HolderKey {
    /// A key from a JWK object.
    pub fn from_jwk(value: &Value) -> Result<Self, &'static str> {
        let Value::Object(jwk) = value else {
            return Err("the proof jwk is not an object");
        };
        if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
            return Err("the proof key must be a public key");
        }
        let names: &[&str] = match jwk.get("kty").and_then(Value::as_str) {
            Some("EC") => &["crv", "x", "y"],
            Some("RSA") => &["n", "e"],
            Some("OKP") => &["crv", "x"],
            _ => return Err("unsupported proof key type"),
        };
        let mut public = Map::new();
        public.insert("kty".into(), member(jwk, "kty")?);
        for name in names {
            public.insert((*name).into(), member(jwk, name)?);
        }
        Ok(HolderKey {
            jwk: public,
            did: None,
        })
    }

    /// A key named by a DID URL in `kid`.
    pub fn from_kid(kid: &str) -> Result<Self, &'static str> {
        let did = kid.split('#').next().unwrap_or_default();
        if let Some(encoded) = did.strip_prefix("did:jwk:") {
            let bytes = b64url_decode(encoded).ok_or("the did:jwk is not base64url")?;
            let value: Value =
                serde_json::from_slice(&bytes).map_err(|_| "the did:jwk is not JSON")?;
            let key = HolderKey::from_jwk(&value)?;
            return Ok(HolderKey {
                did: Some(did.to_owned()),
                ..key
            });
        }
        if let Some(multibase) = did.strip_prefix("did:key:z") {
            let bytes = base58_decode(multibase).ok_or("the did:key is not base58btc")?;
            let raw = bytes
                .strip_prefix(&[0xED, 0x01][..])
                .filter(|k| k.len() == 32);
            let raw = raw.ok_or("only Ed25519 did:key proof keys are supported")?;
            let mut jwk = Map::new();
            jwk.insert("kty".into(), "OKP".into());
            jwk.insert("crv".into(), "Ed25519".into());
            jwk.insert("x".into(), b64url(raw).into());
            return Ok(HolderKey {
                jwk,
                did: Some(did.to_owned()),
            });
        }
        Err("the proof kid must be a did:jwk or did:key URL")
    }

    /// The key of the first certificate of an `x5c` header.
    pub fn from_x5c(value: &Value) -> Result<Self, &'static str> {
        let leaf = value
            .as_array()
            .and_then(|chain| chain.first())
            .and_then(Value::as_str)
            .ok_or("x5c must be a non-empty array of certificates")?;
        let der = STANDARD
            .decode(leaf)
            .map_err(|_| "the x5c certificate is not base64")?;
        let jwk =
            certificate_jwk(&der).ok_or("the x5c certificate key is unreadable or unsupported")?;
        HolderKey::from_jwk(&jwk)
    }

    /// The public JWK as JSON (members sorted).
    pub fn jwk_json(&self) -> String {
        Value::Object(self.jwk.clone()).to_string()
    }

    /// The holder's DID: the one the proof used, else `did:jwk` of the key.
    pub fn holder_did(&self) -> String {
        match &self.did {
            Some(did) => did.clone(),
            None => format!("did:jwk:{}", b64url(self.jwk_json().as_bytes())),
        }
    }
}

/// Decodes base58btc (Bitcoin alphabet).
fn base58_decode(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() || s.len() > 200 {
        return None;
    }
    let mut out: Vec<u8> = Vec::new();
    for c in s.bytes() {
        let mut carry = u32::try_from(BASE58.iter().position(|b| *b == c)?).ok()?;
        for byte in out.iter_mut().rev() {
            carry += u32::from(*byte) * 58;
            *byte = (carry & 0xFF) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            out.insert(0, (carry & 0xFF) as u8);
            carry >>= 8;
        }
    }
    let zeros = s.bytes().take_while(|c| *c == b'1').count();
    let mut result = vec![0u8; zeros];
    result.extend(out);
    Some(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ec() -> Value {
        json!({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "BBBB", "kid": "k", "use": "sig"})
    }

    #[test]
    fn keeps_public_members_only() {
        let k = HolderKey::from_jwk(&ec()).unwrap();
        assert_eq!(
            k.jwk_json(),
            r#"{"crv":"P-256","kty":"EC","x":"AAAA","y":"BBBB"}"#
        );
        let did = k.holder_did();
        assert!(did.starts_with("did:jwk:") && !did.contains('='));
        assert_eq!(HolderKey::from_kid(&format!("{did}#0")).unwrap().jwk, k.jwk);
    }

    #[test]
    fn refuses_private_and_unknown_keys() {
        let mut private = ec();
        private["d"] = json!("secret");
        assert!(HolderKey::from_jwk(&private).is_err());
        assert!(HolderKey::from_jwk(&json!({"kty": "oct", "k": "AAAA"})).is_err());
        assert!(HolderKey::from_jwk(&json!({"kty": "EC", "crv": "P-256", "x": "A"})).is_err());
        assert!(HolderKey::from_jwk(&json!("EC")).is_err());
        assert!(HolderKey::from_kid("did:web:example.com#k").is_err());
        assert!(HolderKey::from_kid("did:jwk:!!!").is_err());
        assert!(HolderKey::from_x5c(&json!([])).is_err());
        assert!(HolderKey::from_x5c(&json!(["not base64!"])).is_err());
    }

    #[test]
    fn resolves_an_ed25519_did_key() {
        // The did:key spec's Ed25519 example.
        let did = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";
        let k = HolderKey::from_kid(&format!(
            "{did}#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
        ))
        .unwrap();
        assert_eq!(k.jwk["crv"], "Ed25519");
        assert_eq!(k.jwk["x"], "Lm_M42cB3HkUiODQsXRcweM6TByfzEHGO9ND274JcOY");
        assert_eq!(k.holder_did(), did);
        assert!(HolderKey::from_kid("did:key:z0OIl").is_err());
    }

    #[test]
    fn base58_round_numbers() {
        assert_eq!(base58_decode("1").unwrap(), vec![0]);
        assert_eq!(base58_decode("2").unwrap(), vec![1]);
        assert_eq!(base58_decode("21").unwrap(), vec![58]);
        assert!(base58_decode("0").is_none());
    }
}
