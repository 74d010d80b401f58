//! What kyc-auth hands to kyc-exchange: the partner-specific user token, the single-use KYC token and its cached
//! record, and the payload of the signed KYC JWT.
//!
//! - PSUT = base64url(SHA3-256(individualId ‖ relyingPartyId)) (the mock identity system's default): stable
//!   per user and relying party, unlinkable across relying parties.
//! - KYC token = base64url of 32 random bytes; cached under `kyc:<token>` for [`KYC_TTL_SECS`] with the record
//!   below and taken (single use) by kyc-exchange, which also checks the client.
//! - KYC JWT payload = `{sub: PSUT, iss, aud: client id, iat, ...claims}`; the claims never overwrite the
//!   four registered members.

use esignet_core::hashing::{b64url, sha3_256_b64url};
use esignet_core::random::RandomSource;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// How long a KYC token may wait for its exchange.
pub const KYC_TTL_SECS: i64 = 180;

/// The partner-specific user token.
pub fn psut(individual_id: &str, relying_party_id: &str) -> String {
    sha3_256_b64url(format!("{individual_id}{relying_party_id}").as_bytes())
}

/// A fresh KYC token.
pub fn new_kyc_token(rng: &mut dyn RandomSource) -> Option<String> {
    let mut b = [0u8; 32];
    rng.fill(&mut b).ok()?;
    Some(b64url(&b))
}

/// The cached state behind a KYC token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KycRecord {
    pub individual_id: String,
    pub relying_party_id: String,
    pub client_id: String,
    pub psut: String,
    /// Epoch seconds.
    pub expires: i64,
}

impl std::fmt::Debug for KycRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KycRecord(client {}, expires {})", self.client_id, self.expires)
    }
}

impl KycRecord {
    /// True when the record may be exchanged by `client_id` for `individual_id` (empty = not checked) now.
    pub fn usable_by(&self, client_id: &str, individual_id: &str, now: i64) -> bool {
        self.client_id == client_id
            && (individual_id.is_empty() || self.individual_id == individual_id)
            && now < self.expires
    }
}

/// The KYC JWT payload.
pub fn kyc_payload(psut: &str, issuer: &str, client_id: &str, iat: i64, claims: Map<String, Value>) -> Value {
    let mut payload = claims;
    payload.insert("sub".into(), psut.into());
    payload.insert("iss".into(), issuer.into());
    payload.insert("aud".into(), client_id.into());
    payload.insert("iat".into(), iat.into());
    Value::Object(payload)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn psut_is_stable_per_user_and_relying_party() {
        let a = psut("8267411571", "rp-1");
        assert_eq!(a, psut("8267411571", "rp-1"));
        assert_ne!(a, psut("8267411571", "rp-2"));
        assert_ne!(a, psut("8267411572", "rp-1"));
        assert_eq!(a, sha3_256_b64url(b"8267411571rp-1"));
        assert_eq!(a.len(), 43);
    }

    #[test]
    fn tokens_are_43_characters_and_differ() {
        let mut rng = esignet_core::random::OsRandom;
        let (a, b) = (new_kyc_token(&mut rng).unwrap(), new_kyc_token(&mut rng).unwrap());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }

    #[test]
    fn record_checks_client_identity_and_expiry() {
        let r = KycRecord {
            individual_id: "8267411571".into(),
            relying_party_id: "rp".into(),
            client_id: "c1".into(),
            psut: "p".into(),
            expires: 100,
        };
        assert!(r.usable_by("c1", "8267411571", 99));
        assert!(r.usable_by("c1", "", 99));
        assert!(!r.usable_by("c2", "8267411571", 99));
        assert!(!r.usable_by("c1", "8267411572", 99));
        assert!(!r.usable_by("c1", "8267411571", 100));
        assert!(!format!("{r:?}").contains("8267411571"));
    }

    #[test]
    fn payload_keeps_registered_members() {
        let mut claims = Map::new();
        claims.insert("name".into(), json!("Jane"));
        claims.insert("sub".into(), json!("spoofed"));
        let p = kyc_payload("psut", "https://issuer", "c1", 1_700_000_000, claims);
        assert_eq!(p, json!({"sub": "psut", "iss": "https://issuer", "aud": "c1", "iat": 1_700_000_000, "name": "Jane"}));
    }
}
