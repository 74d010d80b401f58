//! Whether a structurally valid JWK is a usable key, asked of the host's `keys` capability (the guest has no
//! big-number or curve arithmetic): a signature key must load as a verifier — a probe JWS with an all-zero
//! signature then fails verification, which is the expected answer, while a key that cannot load (e.g. an EC
//! point off its curve) is refused as input; an encryption key must encrypt a probe with `RSA-OAEP-256`.

use esignet_core::client::registration::ValidatedKey;
use esignet_core::hashing::b64url;
use esignet_core::EsignetError;
use esignet_sdk::keys::{self, KeyError};

use crate::reply::Failure;

fn signature_len(alg: &str) -> usize {
    match alg {
        "ES256" => 64,
        "ES384" => 96,
        "ES512" => 132,
        _ => 256,
    }
}

fn verdict(result: Result<(), KeyError>) -> Result<(), Failure> {
    match result {
        Ok(()) => Ok(()),
        Err(KeyError::BackendUnavailable) => Err(Failure::unavailable("keys")),
        Err(_) => Err(Failure::one(EsignetError::InvalidPublicKey)),
    }
}

/// `invalid_public_key` unless the host can load `key` as a verifier of its algorithm.
pub fn signature_key(key: &ValidatedKey) -> Result<(), Failure> {
    let header = b64url(format!("{{\"alg\":\"{}\"}}", key.probe_alg).as_bytes());
    let probe = format!(
        "{header}.e30.{}",
        b64url(&vec![0u8; signature_len(&key.probe_alg)])
    );
    let algs = [key.probe_alg.clone()];
    let result = match keys::verify_jws(&probe, &key.json, &algs) {
        Err(KeyError::VerificationFailed(_)) => Ok(()),
        Ok(_) => Err(KeyError::InvalidInput("probe verified".into())),
        Err(e) => Err(e),
    };
    verdict(result)
}

/// `invalid_public_key` unless the host can encrypt to `key`.
pub fn encryption_key(key: &ValidatedKey) -> Result<(), Failure> {
    verdict(keys::jwe_encrypt(&key.json, &key.probe_alg, "A256GCM", b"probe", None).map(|_| ()))
}
