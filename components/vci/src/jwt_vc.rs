//! `jwt_vc_json`: a W3C Verifiable Credential (data model 1.1) encoded as a JWT (VCDM 1.1 §6.3.1), without the
//! signature, which the host makes with the `vci-issuer` key (`kid` = the key's thumbprint = the fragment of
//! its verification method in the issuer's did:web document).
//!
//! Registered claims: `iss` = the issuer's `did:web`, `sub` = the holder's DID (`did:jwk` of the proof key,
//! or the `did:jwk`/`did:key` the proof named), `nbf` = `iat` = now, `exp` = now + validity, `jti` =
//! `urn:uuid:<random v4>`. `vc` repeats them as `issuer`, `credentialSubject.id`, `issuanceDate`,
//! `expirationDate` and `id`, with `@context` (credentials v1), the configuration's `type`, and the claims
//! as `credentialSubject` members.

use esignet_core::credential::config::{ClaimConfig, CredentialConfig};
use esignet_core::random::RandomSource;
use esignet_core::timestamp::format_utc_ms;
use serde_json::{json, Map, Value};

use crate::holder_key::HolderKey;
use crate::reply::VciError;

/// The JWT header's `typ`.
pub const HEADER_TYP: &str = "JWT";
/// The VCDM 1.1 context.
pub const CREDENTIALS_V1: &str = "https://www.w3.org/2018/credentials/v1";

/// `urn:uuid:` with a random (version 4) UUID.
pub fn new_urn_uuid(rng: &mut dyn RandomSource) -> Result<String, VciError> {
    let mut b = [0u8; 16];
    rng.fill(&mut b).map_err(|_| VciError::Fault)?;
    b[6] = (b[6] & 0x0F) | 0x40;
    b[8] = (b[8] & 0x3F) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

/// An XML Schema dateTime in UTC, whole seconds.
fn date_time(epoch_secs: i64) -> String {
    let full = format_utc_ms(epoch_secs.saturating_mul(1000));
    match full.split_once('.') {
        Some((seconds, _)) => format!("{seconds}Z"),
        None => full,
    }
}

/// Builds the JWT payload for `claims` (already selected from the holder's data).
pub fn build(
    config: &CredentialConfig,
    issuer_did: &str,
    claims: &[(&ClaimConfig, Value)],
    holder: &HolderKey,
    now: i64,
    rng: &mut dyn RandomSource,
) -> Result<Map<String, Value>, VciError> {
    let exp = now.saturating_add(config.validity_secs());
    let jti = new_urn_uuid(rng)?;
    let holder_did = holder.holder_did();
    let mut subject = Map::new();
    subject.insert("id".into(), json!(holder_did));
    for (claim, value) in claims {
        subject.insert(claim.name.clone(), value.clone());
    }
    let types = config
        .credential_definition
        .as_ref()
        .map(|d| d.types.clone())
        .unwrap_or_default();
    let vc = json!({
        "@context": [CREDENTIALS_V1],
        "id": jti,
        "type": types,
        "issuer": issuer_did,
        "issuanceDate": date_time(now),
        "expirationDate": date_time(exp),
        "credentialSubject": subject,
    });
    let mut payload = Map::new();
    payload.insert("iss".into(), json!(issuer_did));
    payload.insert("sub".into(), json!(holder_did));
    payload.insert("nbf".into(), json!(now));
    payload.insert("iat".into(), json!(now));
    payload.insert("exp".into(), json!(exp));
    payload.insert("jti".into(), json!(jti));
    payload.insert("vc".into(), vc);
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use esignet_core::credential::CredentialConfigs;
    use esignet_core::random::OsRandom;

    #[test]
    fn registered_claims_agree_with_the_vc() {
        let configs = CredentialConfigs::embedded().unwrap();
        let config = configs.get("MosipIdentityJwtVc").unwrap();
        let email = config.claims.iter().find(|c| c.name == "email").unwrap();
        let holder =
            HolderKey::from_jwk(&json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"})).unwrap();
        let p = build(
            config,
            "did:web:i",
            &[(email, json!("j@x"))],
            &holder,
            0,
            &mut OsRandom,
        )
        .unwrap();
        assert_eq!(p["iss"], p["vc"]["issuer"]);
        assert_eq!(p["sub"], p["vc"]["credentialSubject"]["id"]);
        assert_eq!(p["jti"], p["vc"]["id"]);
        assert_eq!(p["vc"]["credentialSubject"]["email"], "j@x");
        assert_eq!(p["vc"]["issuanceDate"], "1970-01-01T00:00:00Z");
        assert_eq!(p["vc"]["type"][0], "VerifiableCredential");
        assert!(p["sub"].as_str().unwrap().starts_with("did:jwk:"));
    }

    #[test]
    fn uuids_are_version_4() {
        let u = new_urn_uuid(&mut OsRandom).unwrap();
        assert_eq!(u.len(), "urn:uuid:".len() + 36);
        assert_eq!(&u[23..24], "4");
        assert!(matches!(&u[28..29], "8" | "9" | "a" | "b"));
    }
}
