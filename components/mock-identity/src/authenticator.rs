//! The exported `esignet:plugin/authenticator`: eSignet's Authenticator SPI (reference §5.1) over the identity
//! store, with the mock identity system's factor rules (§6.3) made stricter where the mock was a stub.
//!
//! - send-otp: the identity must exist (`invalid_individual_id`) and have each requested contact
//!   (`send_otp_failed`); channels are `email` and `phone` (`invalid_otp_channel` otherwise). The OTP is the
//!   configured `fixed_otp` or six random digits; only its hash is cached ([`crate::otp`]).
//! - kyc-auth: every challenge must pass — OTP (the record of this transaction and identity, taken on success),
//!   PIN and PWD (Argon2id), KBI ([`crate::kbi`]); BIO, WLA and anything else fail. Any failure, including an
//!   unknown identity, is `auth_failed` and costs the same hashing work. Success caches a single-use KYC token.
//! - kyc-exchange: takes the KYC token (`invalid_transaction` when absent or expired, `data_exchange_failed` for
//!   another client or identity), builds the accepted claims ([`crate::claims`]) and returns them as a JWT signed
//!   with key purpose `mock-identity-kyc`. A JWE response type also gets the JWS: this plugin keeps no relying-party
//!   keys, so encrypting to the client is left to the caller.
//! - signing-keys: the public JWKs of `mock-identity-kyc`, `issued-at`/`expires-at` from the JWK's `iat`/`exp`
//!   members (0 when absent).
//!
//! Backend outages give `unknown_error`. Logs and audit events carry transaction and client ids, never
//! individual ids, OTPs, PINs, passwords or claims.

use esignet_core::clock::{Clock, SystemClock};
use esignet_core::random::OsRandom;
use esignet_plugin_sdk::authenticator::{
    KycAuthRequest, KycAuthResult, KycExchangeRequest, KycExchangeResult, PluginError, SendOtpRequest,
    SendOtpResult, SigningKey,
};
use esignet_plugin_sdk::{audit, keys};
use serde_json::Value;

use crate::claims::build_claims;
use crate::kbi::kbi_matches;
use crate::kyc::{kyc_payload, new_kyc_token, psut, KycRecord, KYC_TTL_SECS};
use crate::otp::{
    mask_email, mask_phone, new_otp, otp_failures_key, otp_key, outbox_key, OtpRecord, OutboxEntry,
    MAX_OTP_FAILURES, OTP_TTL_SECS, OUTBOX_TTL_SECS,
};
use crate::schema::{check, Rule};
use crate::secrets::{burn, verify_secret};
use crate::settings::Settings;
use crate::store::{self, StoreError, StoredIdentity};

/// The key purpose of KYC signatures.
pub const KYC_KEY_PURPOSE: &str = "mock-identity-kyc";
/// The OTP channels this identity system can serve.
pub const OTP_CHANNELS: [&str; 2] = ["email", "phone"];

fn unavailable(e: StoreError) -> PluginError {
    audit::log(audit::Level::Error, &format!("mock identity backend failed: {e:?}"));
    PluginError::new("unknown_error")
}

fn find(individual_id: &str) -> Result<Option<StoredIdentity>, PluginError> {
    if !check(Rule::IndividualId, &Value::String(individual_id.into())) {
        return Ok(None);
    }
    store::find(individual_id).map_err(unavailable)
}

fn event(action: &str, transaction_id: &str, client_id: &str, error: Option<&str>) {
    let status = if error.is_some() { audit::Status::Error } else { audit::Status::Success };
    audit::record(&audit::Event {
        action: action.into(),
        status,
        transaction_id: Some(transaction_id.into()),
        client_id: Some(client_id.into()),
        details: error.map(|e| vec![("errorCode".to_string(), e.to_string())]).unwrap_or_default(),
    });
}

fn fail<T>(action: &str, transaction_id: &str, client_id: &str, code: &str) -> Result<T, PluginError> {
    event(action, transaction_id, client_id, Some(code));
    Err(PluginError::new(code))
}

pub fn send_otp(_rp: &str, client: &str, req: SendOtpRequest) -> Result<SendOtpResult, PluginError> {
    const ACTION: &str = "MOCK_SEND_OTP";
    let txn = req.transaction_id.as_str();
    if txn.trim().is_empty() {
        return fail(ACTION, txn, client, "invalid_transaction_id");
    }
    if req.otp_channels.is_empty() || req.otp_channels.iter().any(|c| !OTP_CHANNELS.contains(&c.as_str())) {
        return fail(ACTION, txn, client, "invalid_otp_channel");
    }
    let Some(stored) = find(&req.individual_id)? else {
        return fail(ACTION, txn, client, "invalid_individual_id");
    };
    let identity = &stored.identity;
    let wants = |c: &str| req.otp_channels.iter().any(|x| x == c);
    if (wants("email") && identity.email.is_empty()) || (wants("phone") && identity.phone.is_empty()) {
        return fail(ACTION, txn, client, "send_otp_failed");
    }
    let settings = Settings::load();
    let Some(otp) = new_otp(settings.fixed_otp.as_deref(), &mut OsRandom) else {
        return fail(ACTION, txn, client, "send_otp_failed");
    };
    let now = SystemClock.now();
    let record = OtpRecord::new(txn, &req.individual_id, &otp, now);
    store::cache_put(&otp_key(txn), &record, OTP_TTL_SECS).map_err(unavailable)?;
    store::cache_delete(&otp_failures_key(txn)).map_err(unavailable)?;
    if settings.outbox_enabled {
        let entry =
            OutboxEntry { otp, transaction_id: txn.into(), channels: req.otp_channels.clone(), sent_at: now };
        store::cache_put(&outbox_key(&req.individual_id), &entry, OUTBOX_TTL_SECS).map_err(unavailable)?;
    }
    event(ACTION, txn, client, None);
    Ok(SendOtpResult {
        transaction_id: req.transaction_id.clone(),
        masked_email: wants("email").then(|| mask_email(&identity.email)),
        masked_mobile: wants("phone").then(|| mask_phone(&identity.phone)),
    })
}

pub fn kyc_auth(rp: &str, client: &str, req: KycAuthRequest) -> Result<KycAuthResult, PluginError> {
    const ACTION: &str = "MOCK_KYC_AUTH";
    let txn = req.transaction_id.as_str();
    let settings = Settings::load();
    let stored = find(&req.individual_id)?;
    let mut ok = stored.is_some() && !req.challenges.is_empty() && !txn.is_empty();
    let mut otps = Vec::new();
    for c in &req.challenges {
        let passed = match c.auth_factor_type.as_str() {
            "PIN" => secret_ok(stored.as_ref().map(|s| s.pin_hash.as_str()), &c.challenge),
            "PWD" => secret_ok(stored.as_ref().and_then(|s| s.password_hash.as_deref()), &c.challenge),
            "KBI" => stored.as_ref().is_some_and(|s| kbi_matches(&c.challenge, &s.identity, &settings.kbi_fields)),
            "OTP" => {
                otps.push(c.challenge.as_str());
                true
            }
            _ => false,
        };
        ok &= passed;
    }
    let now = SystemClock.now();
    if !otps.is_empty() {
        ok = otp_ok(txn, &req.individual_id, &otps, ok, now)?;
    }
    let Some(stored) = stored.filter(|_| ok) else {
        return fail(ACTION, txn, client, "auth_failed");
    };
    let Some(token) = new_kyc_token(&mut OsRandom) else {
        return fail(ACTION, txn, client, "auth_failed");
    };
    let record = KycRecord {
        individual_id: stored.identity.individual_id.clone(),
        relying_party_id: rp.into(),
        client_id: client.into(),
        psut: psut(&stored.identity.individual_id, rp),
        expires: now + KYC_TTL_SECS,
    };
    store::cache_put(&format!("kyc:{token}"), &record, KYC_TTL_SECS).map_err(unavailable)?;
    event(ACTION, txn, client, None);
    Ok(KycAuthResult { kyc_token: token, partner_specific_user_token: record.psut, claims_metadata: Vec::new() })
}

/// Checks a PIN or password against its hash; without a hash, spends the same time and fails.
fn secret_ok(hash: Option<&str>, secret: &str) -> bool {
    match hash {
        Some(h) => verify_secret(secret, h),
        None => {
            burn(secret);
            false
        }
    }
}

/// The OTP factor: every OTP given must match this transaction's record; a wrong one counts towards
/// [`MAX_OTP_FAILURES`]. The record is taken (single use) only when the other factors passed too, and only the
/// caller whose take returns it succeeds.
fn otp_ok(txn: &str, individual_id: &str, otps: &[&str], others_ok: bool, now: i64) -> Result<bool, PluginError> {
    let key = otp_key(txn);
    let Some(record) = store::cache_get::<OtpRecord>(&key).map_err(unavailable)? else {
        return Ok(false);
    };
    if !otps.iter().all(|otp| record.matches(txn, individual_id, otp, now)) {
        let failures = store::cache_count(&otp_failures_key(txn), OTP_TTL_SECS).map_err(unavailable)?;
        if failures >= MAX_OTP_FAILURES {
            store::cache_delete(&key).map_err(unavailable)?;
        }
        return Ok(false);
    }
    if !others_ok {
        return Ok(false);
    }
    let taken = store::cache_take::<OtpRecord>(&key).map_err(unavailable)?;
    Ok(taken.is_some_and(|r| r == record))
}

pub fn kyc_exchange(_rp: &str, client: &str, req: KycExchangeRequest) -> Result<KycExchangeResult, PluginError> {
    const ACTION: &str = "MOCK_KYC_EXCHANGE";
    let txn = req.transaction_id.as_str();
    let now = SystemClock.now();
    let record: Option<KycRecord> = if req.kyc_token.is_empty() {
        None
    } else {
        store::cache_take(&format!("kyc:{}", req.kyc_token)).map_err(unavailable)?
    };
    let Some(record) = record.filter(|r| now < r.expires) else {
        return fail(ACTION, txn, client, "invalid_transaction");
    };
    if !record.usable_by(client, &req.individual_id, now) {
        return fail(ACTION, txn, client, "data_exchange_failed");
    }
    let Some(stored) = store::find(&record.individual_id).map_err(unavailable)? else {
        return fail(ACTION, txn, client, "data_exchange_failed");
    };
    let settings = Settings::load();
    let claims = build_claims(&stored.identity, &req.accepted_claims, &req.claims_locales);
    let payload = kyc_payload(&record.psut, &settings.issuer, client, now, claims);
    let Ok(payload) = serde_json::to_vec(&payload) else {
        return fail(ACTION, txn, client, "data_exchange_failed");
    };
    match keys::sign_jws(KYC_KEY_PURPOSE, r#"{"typ":"JWT"}"#, &payload) {
        Ok(jws) => {
            event(ACTION, txn, client, None);
            Ok(KycExchangeResult { encrypted_kyc: jws })
        }
        Err(e) => {
            audit::log(audit::Level::Error, &format!("signing the KYC failed: {e:?}"));
            fail(ACTION, txn, client, "data_exchange_failed")
        }
    }
}

pub fn signing_keys() -> Result<Vec<SigningKey>, PluginError> {
    let jwks = keys::public_jwks(&[KYC_KEY_PURPOSE.to_string()]).map_err(|e| {
        audit::log(audit::Level::Error, &format!("reading the KYC signing keys failed: {e:?}"));
        PluginError::new("kyc_signing_certificate_failed")
    })?;
    signing_keys_from_jwks(&jwks).ok_or_else(|| PluginError::new("kyc_signing_certificate_failed"))
}

/// The keys of a JWKS document (`{"keys": [...]}`), each with a `kid`.
pub fn signing_keys_from_jwks(jwks: &str) -> Option<Vec<SigningKey>> {
    let doc: Value = serde_json::from_str(jwks).ok()?;
    let keys = doc.get("keys")?.as_array()?;
    keys.iter()
        .map(|k| {
            Some(SigningKey {
                key_id: k.get("kid")?.as_str()?.to_string(),
                jwk: k.to_string(),
                issued_at: k.get("iat").and_then(Value::as_i64).unwrap_or(0),
                expires_at: k.get("exp").and_then(Value::as_i64).unwrap_or(0),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwks_become_signing_keys() {
        let jwks = r#"{"keys":[{"kty":"RSA","kid":"k1","n":"AQAB","e":"AQAB","exp":1900000000},
                               {"kty":"RSA","kid":"k0","n":"AQAB","e":"AQAB","iat":1700000000}]}"#;
        let keys = signing_keys_from_jwks(jwks).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!((keys[0].key_id.as_str(), keys[0].issued_at, keys[0].expires_at), ("k1", 0, 1_900_000_000));
        assert_eq!((keys[1].key_id.as_str(), keys[1].issued_at, keys[1].expires_at), ("k0", 1_700_000_000, 0));
        assert!(keys[0].jwk.contains("\"kid\":\"k1\""));
        assert!(signing_keys_from_jwks(r#"{"keys":[{"kty":"RSA"}]}"#).is_none());
        assert!(signing_keys_from_jwks("[]").is_none());
    }
}
