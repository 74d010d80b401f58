//! One-time passwords: generation, the cached record that lets kyc-auth check an OTP without keeping it in
//! clear, and the masked contacts that send-otp reports.
//!
//! The record under `otp:<transaction-id>` holds base64url(SHA-256(transaction-id ‖ 0 ‖ individual-id ‖ 0 ‖ otp)),
//! so an OTP only matches the transaction and identity it was sent for; the zero bytes keep the parts apart.
//! It lives [`OTP_TTL_SECS`] and is taken (single use) by the kyc-auth that succeeds with it; after
//! [`MAX_OTP_FAILURES`] wrong OTPs for a transaction the record is deleted, so an OTP cannot be guessed
//! within its lifetime even by a caller that skips eSignet's own rate limit.
//!
//! Masking keeps the first character of an email's local part (`j***@example.com`) and the last four
//! characters of a phone number, every other character becoming `*` (`******7890`).

use esignet_core::hashing::{individual_id_hash, sha256_b64url};
use esignet_core::random::RandomSource;
use serde::{Deserialize, Serialize};

use crate::secrets::ct_eq;

/// How long a sent OTP is valid.
pub const OTP_TTL_SECS: i64 = 180;
/// How long an outbox entry is kept (tests read the OTP from there).
pub const OUTBOX_TTL_SECS: i64 = 300;
/// Wrong OTPs tolerated per transaction before the OTP is dropped.
pub const MAX_OTP_FAILURES: i64 = 3;

/// The cached proof of a sent OTP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtpRecord {
    pub hash: String,
    /// Epoch seconds.
    pub expires: i64,
}

impl OtpRecord {
    /// The record for an OTP sent now.
    pub fn new(transaction_id: &str, individual_id: &str, otp: &str, now: i64) -> Self {
        OtpRecord { hash: otp_hash(transaction_id, individual_id, otp), expires: now + OTP_TTL_SECS }
    }

    /// True when `otp` is the one sent for this transaction and identity and has not expired.
    pub fn matches(&self, transaction_id: &str, individual_id: &str, otp: &str, now: i64) -> bool {
        let same = ct_eq(&self.hash, &otp_hash(transaction_id, individual_id, otp));
        same && now < self.expires
    }
}

fn otp_hash(transaction_id: &str, individual_id: &str, otp: &str) -> String {
    let mut input = Vec::with_capacity(transaction_id.len() + individual_id.len() + otp.len() + 2);
    for (i, part) in [transaction_id, individual_id, otp].iter().enumerate() {
        if i > 0 {
            input.push(0);
        }
        input.extend_from_slice(part.as_bytes());
    }
    sha256_b64url(&input)
}

/// The last OTP sent to an identity, kept only when the outbox is enabled (tests without a fixed OTP).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxEntry {
    pub otp: String,
    pub transaction_id: String,
    pub channels: Vec<String>,
    /// Epoch seconds.
    pub sent_at: i64,
}

/// The cache key of an identity's outbox: the individual id only as its hash.
pub fn outbox_key(individual_id: &str) -> String {
    format!("outbox:{}", individual_id_hash(individual_id))
}

/// The cache key of a transaction's OTP record.
pub fn otp_key(transaction_id: &str) -> String {
    format!("otp:{transaction_id}")
}

/// The cache key of a transaction's wrong-OTP counter.
pub fn otp_failures_key(transaction_id: &str) -> String {
    format!("otp-fail:{transaction_id}")
}

/// The OTP to send: `fixed` when it is configured, else six uniformly random digits.
pub fn new_otp(fixed: Option<&str>, rng: &mut dyn RandomSource) -> Option<String> {
    if let Some(f) = fixed.filter(|f| !f.is_empty()) {
        return Some(f.to_string());
    }
    // 4_294_000_000 is the largest multiple of 10^6 below 2^32: rejecting above it keeps the digits uniform.
    for _ in 0..16 {
        let mut b = [0u8; 4];
        rng.fill(&mut b).ok()?;
        let n = u32::from_le_bytes(b);
        if n < 4_294_000_000 {
            return Some(format!("{:06}", n % 1_000_000));
        }
    }
    None
}

/// `j***@example.com`; a value without `@` is masked whole.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

/// `******7890`: every character but the last four becomes `*`.
pub fn mask_phone(phone: &str) -> String {
    let n = phone.chars().count();
    phone.chars().enumerate().map(|(i, c)| if i + 4 < n { '*' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use esignet_core::error::EsignetError;

    use super::*;

    struct Seq(Vec<u8>);
    impl RandomSource for Seq {
        fn fill(&mut self, buf: &mut [u8]) -> Result<(), EsignetError> {
            for b in buf {
                *b = if self.0.is_empty() { 0 } else { self.0.remove(0) };
            }
            Ok(())
        }
    }

    #[test]
    fn record_binds_transaction_identity_and_time() {
        let r = OtpRecord::new("txn1", "8267411571", "111111", 1_000);
        assert_eq!(r.expires, 1_180);
        assert!(r.matches("txn1", "8267411571", "111111", 1_179));
        assert!(!r.matches("txn1", "8267411571", "111111", 1_180));
        assert!(!r.matches("txn2", "8267411571", "111111", 1_000));
        assert!(!r.matches("txn1", "8267411572", "111111", 1_000));
        assert!(!r.matches("txn1", "8267411571", "111112", 1_000));
        assert!(!r.hash.contains("111111"));
        // The separators keep ("ab", "c") and ("a", "bc") apart.
        assert_ne!(otp_hash("ab", "c", "1"), otp_hash("a", "bc", "1"));
    }

    #[test]
    fn fixed_or_random_digits() {
        assert_eq!(new_otp(Some("111111"), &mut Seq(vec![])).as_deref(), Some("111111"));
        // 0xFFFFFFFF is rejected, then 1_000_042 little-endian gives 000042.
        let mut seq = [0xFF, 0xFF, 0xFF, 0xFF].to_vec();
        seq.extend_from_slice(&1_000_042u32.to_le_bytes());
        assert_eq!(new_otp(Some(""), &mut Seq(seq)).as_deref(), Some("000042"));
        let otp = new_otp(None, &mut esignet_core::random::OsRandom).unwrap();
        assert!(otp.len() == 6 && otp.bytes().all(|b| b.is_ascii_digit()));
    }

    #[test]
    fn keys_hide_the_individual_id() {
        assert!(!outbox_key("8267411571").contains("8267411571"));
        assert_eq!(outbox_key("8267411571"), outbox_key("8267411571"));
        assert_eq!(otp_key("t"), "otp:t");
        assert_eq!(otp_failures_key("t"), "otp-fail:t");
    }

    #[test]
    fn masks() {
        assert_eq!(mask_email("jane.doe@example.com"), "j***@example.com");
        assert_eq!(mask_email("not-an-email"), "***");
        assert_eq!(mask_phone("9876547890"), "******7890");
        assert_eq!(mask_phone("+911234567890"), "*********7890");
        assert_eq!(mask_phone("123"), "123");
    }
}
