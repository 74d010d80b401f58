//! JWE decryption with the token: josekit parses the compact JWE and decrypts the content (AES-GCM or
//! AES-CBC-HMAC) in the host, while the one step that needs the private key, unwrapping the content encryption
//! key (RSA-OAEP-256), is a [`JweDecrypter`] that asks the token. josekit never holds the private key.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jwe::{JweAlgorithm, JweContentEncryption, JweDecrypter, JweHeader, RSA_OAEP_256};
use josekit::JoseError;
use parking_lot::Mutex;
use serde_json::Value;

use super::token::{Token, TokenKey};
use crate::backends::KeyError;

/// Decrypts a compact RSA-OAEP-256 JWE addressed to `key`.
pub fn decrypt(token: &Arc<Token>, key: Arc<TokenKey>, jwe: &str) -> Result<Vec<u8>, KeyError> {
    let decrypter = TokenDecrypter { token: token.clone(), key, failure: Arc::new(Mutex::new(None)) };
    match josekit::jwe::deserialize_compact(jwe, &decrypter) {
        Ok((plaintext, _)) => Ok(plaintext),
        Err(e) => Err(match decrypter.failure.lock().take() {
            Some(unavailable) => unavailable,
            None => KeyError::Verification(e.to_string()),
        }),
    }
}

/// The `kid` of a compact JWE's protected header, if any.
pub fn kid(jwe: &str) -> Result<Option<String>, KeyError> {
    let first = jwe.split('.').next().unwrap_or_default();
    let bytes = URL_SAFE_NO_PAD.decode(first).map_err(|e| KeyError::Invalid(format!("JWE header: {e}")))?;
    let header: Value = serde_json::from_slice(&bytes).map_err(|e| KeyError::Invalid(format!("JWE header: {e}")))?;
    Ok(header.get("kid").and_then(Value::as_str).map(str::to_string))
}

/// A josekit decrypter whose "private key" step is the token's RSA-OAEP decryption of the encrypted CEK.
#[derive(Clone)]
struct TokenDecrypter {
    token: Arc<Token>,
    key: Arc<TokenKey>,
    /// The token's own failure (as opposed to a bad JWE), reported as `Unavailable` rather than `Verification`.
    failure: Arc<Mutex<Option<KeyError>>>,
}

impl std::fmt::Debug for TokenDecrypter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenDecrypter").field("kid", &self.key.kid()).finish()
    }
}

impl JweDecrypter for TokenDecrypter {
    fn algorithm(&self) -> &dyn JweAlgorithm {
        &RSA_OAEP_256
    }

    fn key_id(&self) -> Option<&str> {
        None
    }

    fn decrypt(
        &self,
        encrypted_key: Option<&[u8]>,
        cencryption: &dyn JweContentEncryption,
        _header: &JweHeader,
    ) -> Result<std::borrow::Cow<'_, [u8]>, JoseError> {
        let encrypted = encrypted_key.ok_or_else(|| JoseError::InvalidJweFormat(anyhow::anyhow!("no encrypted key")))?;
        match self.token.decrypt_oaep(&self.key, encrypted) {
            Ok(Some(cek)) if cek.len() == cencryption.key_len() => Ok(cek.into()),
            // RFC 7516 §11.5: a CEK that fails to decrypt is replaced by a random one, so that the caller sees
            // the same failure (at the tag check) whatever went wrong, and learns nothing about the padding.
            Ok(_) => {
                let mut random = vec![0u8; cencryption.key_len()];
                rand::Rng::fill(&mut rand::thread_rng(), random.as_mut_slice());
                Ok(random.into())
            }
            Err(e) => {
                *self.failure.lock() = Some(e);
                Err(JoseError::InvalidJweFormat(anyhow::anyhow!("key backend unavailable")))
            }
        }
    }

    fn box_clone(&self) -> Box<dyn JweDecrypter> {
        Box::new(self.clone())
    }
}
