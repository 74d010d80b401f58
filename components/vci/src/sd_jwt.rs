//! SD-JWT VC (`dc+sd-jwt`, IETF SD-JWT VC; RFC 9901 for the SD-JWT itself) without the signature, which the
//! host makes with the `vci-issuer` key under header `typ: dc+sd-jwt` ([`HEADER_TYP`]).
//!
//! Payload: `iss` (the credential issuer identifier, whose `/.well-known/jwt-vc-issuer` publishes the key),
//! `iat`, `exp` (now + the configuration's validity), `vct`, `cnf.jwk` (the proof's key: holder binding),
//! `_sd_alg: sha-256`, `_sd` (the digests, sorted so their order tells nothing), and the claims configured
//! `sd: never` in the clear. Each `sd: always` claim is a disclosure `base64url(JSON [salt, name, value])`
//! with a fresh 128-bit salt; its digest is `base64url(SHA-256(disclosure))`. The issued form is
//! `<jws>~<disclosure>~…~` (no key-binding JWT).

use esignet_core::credential::config::{ClaimConfig, CredentialConfig};
use esignet_core::hashing::{b64url, sha256_b64url};
use esignet_core::random::RandomSource;
use serde_json::{json, Map, Value};

use crate::holder_key::HolderKey;
use crate::reply::VciError;

/// The issuer-signed JWT's `typ`.
pub const HEADER_TYP: &str = "dc+sd-jwt";

/// An SD-JWT VC before signing.
#[derive(Debug, Clone, PartialEq)]
pub struct Unsigned {
    /// The issuer-signed JWT's payload.
    pub payload: Map<String, Value>,
    /// The encoded disclosures, in claim order.
    pub disclosures: Vec<String>,
}

impl Unsigned {
    /// The issued form around the signed JWS.
    pub fn assemble(&self, jws: &str) -> String {
        let mut out = String::from(jws);
        out.push('~');
        for d in &self.disclosures {
            out.push_str(d);
            out.push('~');
        }
        out
    }
}

/// Builds the payload and disclosures for `claims` (already selected from the holder's data).
pub fn build(
    config: &CredentialConfig,
    issuer: &str,
    claims: &[(&ClaimConfig, Value)],
    holder: &HolderKey,
    now: i64,
    rng: &mut dyn RandomSource,
) -> Result<Unsigned, VciError> {
    let mut payload = Map::new();
    payload.insert("iss".into(), json!(issuer));
    payload.insert("iat".into(), json!(now));
    payload.insert(
        "exp".into(),
        json!(now.saturating_add(config.validity_secs())),
    );
    payload.insert(
        "vct".into(),
        json!(config.vct.as_deref().unwrap_or_default()),
    );
    payload.insert("cnf".into(), json!({ "jwk": holder.jwk }));
    let mut digests = Vec::new();
    let mut disclosures = Vec::new();
    for (claim, value) in claims {
        if !claim.disclosable() {
            payload.insert(claim.name.clone(), value.clone());
            continue;
        }
        let mut salt = [0u8; 16];
        rng.fill(&mut salt).map_err(|_| VciError::Fault)?;
        let array = json!([b64url(&salt), claim.name, value]);
        let disclosure = b64url(array.to_string().as_bytes());
        digests.push(sha256_b64url(disclosure.as_bytes()));
        disclosures.push(disclosure);
    }
    digests.sort();
    payload.insert("_sd_alg".into(), json!("sha-256"));
    payload.insert("_sd".into(), json!(digests));
    Ok(Unsigned {
        payload,
        disclosures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use esignet_core::credential::CredentialConfigs;
    use esignet_core::hashing::b64url_decode;
    use esignet_core::random::OsRandom;

    #[test]
    fn discloses_per_config_with_fresh_salts() {
        let configs = CredentialConfigs::embedded().unwrap();
        let config = configs.get("MosipIdentitySdJwt").unwrap();
        let by_name = |n: &str| config.claims.iter().find(|c| c.name == n).unwrap();
        let claims = vec![
            (by_name("given_name"), json!("Jane")),
            (by_name("locale"), json!("en")),
        ];
        let holder =
            HolderKey::from_jwk(&json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"})).unwrap();
        let a = build(config, "https://i", &claims, &holder, 100, &mut OsRandom).unwrap();
        let b = build(config, "https://i", &claims, &holder, 100, &mut OsRandom).unwrap();
        assert_eq!(a.payload["locale"], "en");
        assert!(a.payload.get("given_name").is_none());
        assert_eq!(a.payload["cnf"]["jwk"]["x"], "AAAA");
        assert_eq!(a.payload["exp"], 100 + 365 * 86_400);
        assert_eq!(a.disclosures.len(), 1);
        assert_ne!(a.disclosures, b.disclosures, "salts must be fresh");
        let decoded: Value =
            serde_json::from_slice(&b64url_decode(&a.disclosures[0]).unwrap()).unwrap();
        assert_eq!(
            (decoded[1].as_str(), decoded[2].as_str()),
            (Some("given_name"), Some("Jane"))
        );
        assert_eq!(decoded[0].as_str().unwrap().len(), 22);
        assert_eq!(
            a.payload["_sd"],
            json!([sha256_b64url(a.disclosures[0].as_bytes())])
        );
        assert_eq!(a.assemble("h.p.s"), format!("h.p.s~{}~", a.disclosures[0]));
    }
}
