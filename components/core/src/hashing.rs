//! Base64url and digest helpers shared by the modules (all base64url here is without padding).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use sha3::Sha3_256;

/// base64url without padding.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding; `None` if malformed (padding is rejected too).
pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

/// base64url(SHA-256(bytes)).
pub fn sha256_b64url(bytes: &[u8]) -> String {
    b64url(&Sha256::digest(bytes))
}

/// base64url(SHA3-256(bytes)).
pub fn sha3_256_b64url(bytes: &[u8]) -> String {
    b64url(&Sha3_256::digest(bytes))
}

/// The hash eSignet keys an individual id by (`blocked` cache, key-binding registry): base64url(SHA3-256(id)).
pub fn individual_id_hash(individual_id: &str) -> String {
    sha3_256_b64url(individual_id.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        // RFC 7636 Appendix B.
        assert_eq!(
            sha256_b64url(b"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        // SHA3-256("") = a7ffc6f8bf1ed766... (checked with Python hashlib)
        assert_eq!(
            sha3_256_b64url(b""),
            "p__G-L8e12ZRwUdWoGHWYvWA_03kO0n6gtgKS4D4Q0o"
        );
        assert_eq!(b64url_decode("AQI"), Some(vec![1, 2]));
        assert_eq!(b64url_decode("AQI="), None);
        assert_eq!(b64url_decode("A+I"), None);
    }
}
