//! Newtypes for the identifiers that travel through a flow, and their generators.
//!
//! Each identifier is a string on the wire (`#[serde(transparent)]`). Secrets ([`AuthCode`]) print as
//! `[redacted]` in `Debug` so they never reach a log by accident; they are stored only as [`CodeHash`].
//!
//! - Transaction ids: 32 random bytes, base64url → 43 characters (same length as eSignet's).
//! - Auth codes: 32 random bytes, base64url → 43 characters; stored by their SHA-256 hash.
//! - The auth transaction id sent to the identity system is derived from the transaction id as eSignet does:
//!   drop `-` and `_`, then read characters from the end backwards, wrapping around, until the length is reached.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::EsignetError;
use crate::hashing::{b64url, sha256_b64url};
use crate::random::{random_bytes, RandomSource};

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a string.
            pub fn new(s: impl Into<String>) -> Self {
                Self(s.into())
            }
            /// The string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
            /// Unwraps the string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

macro_rules! public_display {
    ($name:ident) => {
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// An OAuth client id.
    ClientId
);
public_display!(ClientId);

string_id!(
    /// An OIDC transaction id (`oauth-details-key`).
    TransactionId
);
public_display!(TransactionId);

string_id!(
    /// The transaction id handed to the identity system (`transactionId` of `kyc-auth`).
    AuthTransactionId
);
public_display!(AuthTransactionId);

string_id!(
    /// The hash an auth code is stored under.
    CodeHash
);
public_display!(CodeHash);

string_id!(
    /// An authorization code. Secret: `Debug` shows `[redacted]`, and there is no `Display`.
    AuthCode
);

impl fmt::Debug for AuthCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthCode([redacted])")
    }
}

impl AuthCode {
    /// The hash the code is stored under: base64url(SHA-256(code)).
    pub fn hash(&self) -> CodeHash {
        code_hash(&self.0)
    }
}

string_id!(
    /// A secret value held in a record (the identity system's KYC token). `Debug` shows `[redacted]`.
    Secret
);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// base64url(SHA-256(code)), for a code presented at the token endpoint.
pub fn code_hash(code: &str) -> CodeHash {
    CodeHash(sha256_b64url(code.as_bytes()))
}

/// A fresh transaction id: 43 base64url characters from 32 random bytes.
pub fn new_transaction_id(rng: &mut dyn RandomSource) -> Result<TransactionId, EsignetError> {
    Ok(TransactionId(b64url(&random_bytes::<32>(rng)?)))
}

/// A fresh authorization code: 43 base64url characters from 32 random bytes.
pub fn new_auth_code(rng: &mut dyn RandomSource) -> Result<AuthCode, EsignetError> {
    Ok(AuthCode(b64url(&random_bytes::<32>(rng)?)))
}

/// A fresh random token id (`jti`): 22 base64url characters from 16 random bytes.
pub fn new_jti(rng: &mut dyn RandomSource) -> Result<String, EsignetError> {
    Ok(b64url(&random_bytes::<16>(rng)?))
}

/// eSignet's auth transaction id (default `length` 10): `-`/`_` removed, then characters taken from the end
/// backwards, wrapping to the end again, until `length` are taken. `invalid_transaction_id` if nothing is left
/// after the removal or `length` is 0.
pub fn auth_transaction_id(
    id: &TransactionId,
    length: usize,
) -> Result<AuthTransactionId, EsignetError> {
    let chars: Vec<char> = id.0.chars().filter(|c| *c != '-' && *c != '_').collect();
    if chars.is_empty() || length == 0 {
        return Err(EsignetError::InvalidTransactionId);
    }
    let out: String = chars.iter().rev().cycle().take(length).collect();
    Ok(AuthTransactionId(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::test_support::CountingRandom;

    #[test]
    fn transaction_id_is_43_base64url_chars() {
        let id = new_transaction_id(&mut CountingRandom::default()).unwrap();
        assert_eq!(id.as_str().len(), 43);
        assert_eq!(id.as_str(), "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8");
        let other = new_transaction_id(&mut crate::random::OsRandom).unwrap();
        assert!(other
            .as_str()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }

    #[test]
    fn auth_code_is_redacted_and_hashed() {
        let code = new_auth_code(&mut CountingRandom::default()).unwrap();
        assert_eq!(format!("{code:?}"), "AuthCode([redacted])");
        assert_eq!(code.as_str().len(), 43);
        assert_eq!(code.hash(), code_hash(code.as_str()));
        assert_eq!(
            code_hash("abc").as_str(),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
    }

    #[test]
    fn auth_transaction_id_reverses_and_cycles() {
        let t = TransactionId::new("ab-c_d");
        assert_eq!(auth_transaction_id(&t, 10).unwrap(), "dcbadcbadc");
        let long = TransactionId::new("0123456789ABCDEF");
        assert_eq!(auth_transaction_id(&long, 10).unwrap(), "FEDCBA9876");
        assert_eq!(
            auth_transaction_id(&TransactionId::new("-_"), 10),
            Err(EsignetError::InvalidTransactionId)
        );
    }

    #[test]
    fn jti_is_random() {
        let mut rng = CountingRandom::default();
        assert_ne!(new_jti(&mut rng).unwrap(), new_jti(&mut rng).unwrap());
    }
}
