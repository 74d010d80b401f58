//! Hashing and checking of the identity's PIN and password, and constant-time comparison of other secrets.
//!
//! Both the PIN and the password are stored as Argon2id PHC strings (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`)
//! with a random 16-byte salt. A PIN has little entropy, so a fast salted SHA-256 would fall to a brute force of
//! its 10^4–10^16 values in moments once the table leaks; the same slow KDF as the password costs one hash per
//! kyc-auth, which is affordable. Parameters: m = [`M_COST_KIB`] KiB, t = [`T_COST`], p = 1 — one verification
//! costs a few tens of milliseconds inside wasmtime (the crate README has the measurement); they are written into
//! each PHC string, so raising them later leaves old hashes verifiable.
//!
//! Verification of an identity that does not exist still runs one hash ([`burn`]), so a caller cannot tell an
//! unknown individual id from a wrong secret by timing.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use esignet_core::random::RandomSource;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Argon2 memory cost in KiB.
pub const M_COST_KIB: u32 = 8 * 1024;
/// Argon2 passes.
pub const T_COST: u32 = 2;

/// A fixed salt used only by [`burn`].
const BURN_SALT: &str = "bW9jay1pZGVudGl0eS1idXJu";

/// Hashing failed (randomness unavailable or bad parameters); never carries the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashError;

fn argon2() -> Result<Argon2<'static>, HashError> {
    let params = Params::new(M_COST_KIB, T_COST, 1, None).map_err(|_| HashError)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a secret with a fresh random salt into a PHC string.
pub fn hash_secret(secret: &str, rng: &mut dyn RandomSource) -> Result<String, HashError> {
    let mut salt = [0u8; 16];
    rng.fill(&mut salt).map_err(|_| HashError)?;
    let salt = SaltString::encode_b64(&salt).map_err(|_| HashError)?;
    let hash = argon2()?.hash_password(secret.as_bytes(), &salt).map_err(|_| HashError)?;
    Ok(hash.to_string())
}

/// True when `secret` matches the PHC string (compared in constant time by the argon2 crate).
pub fn verify_secret(secret: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => Argon2::default().verify_password(secret.as_bytes(), &hash).is_ok(),
        Err(_) => false,
    }
}

/// Spends the time of one verification without a stored hash to compare with.
pub fn burn(secret: &str) {
    if let (Ok(a), Ok(salt)) = (argon2(), SaltString::from_b64(BURN_SALT)) {
        let _ = a.hash_password(secret.as_bytes(), &salt);
    }
}

/// Compares two secrets in constant time (over their SHA-256 digests, so the length does not leak either).
pub fn ct_eq(a: &str, b: &str) -> bool {
    let (da, db) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    bool::from(da.as_slice().ct_eq(db.as_slice()))
}

#[cfg(test)]
mod tests {
    use esignet_core::random::OsRandom;

    use super::*;

    #[test]
    fn hash_then_verify() {
        let phc = hash_secret("Correct-Horse-9", &mut OsRandom).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=8192,t=2,p=1$"), "{phc}");
        assert!(!phc.contains("Correct-Horse"));
        assert!(verify_secret("Correct-Horse-9", &phc));
        assert!(!verify_secret("correct-horse-9", &phc));
        assert!(!verify_secret("Correct-Horse-9", "not a phc string"));
    }

    #[test]
    fn salts_differ() {
        let a = hash_secret("545411", &mut OsRandom).unwrap();
        let b = hash_secret("545411", &mut OsRandom).unwrap();
        assert_ne!(a, b);
        assert!(verify_secret("545411", &a) && verify_secret("545411", &b));
    }

    #[test]
    fn verification_cost_is_modest() {
        let phc = hash_secret("545411", &mut OsRandom).unwrap();
        let start = std::time::Instant::now();
        assert!(verify_secret("545411", &phc));
        burn("545411");
        // Two hashes; generous bound for a debug build on a busy machine.
        assert!(start.elapsed().as_millis() < 5_000);
    }

    /// `cargo test --release -p mock-identity -- --ignored --nocapture` prints the native cost of one verification.
    #[test]
    #[ignore]
    fn print_verification_cost() {
        let phc = hash_secret("545411", &mut OsRandom).unwrap();
        let start = std::time::Instant::now();
        for _ in 0..20 {
            assert!(verify_secret("545411", &phc));
        }
        eprintln!("one verification: {:.1} ms", start.elapsed().as_secs_f64() * 1000.0 / 20.0);
    }

    #[test]
    fn constant_time_equality() {
        assert!(ct_eq("token", "token"));
        assert!(!ct_eq("token", "token2"));
        assert!(!ct_eq("", "x"));
    }
}
