//! `keys`: signing, verification and JWE through the keystore backend. A component may use only the key purposes
//! its grant names (with the algorithm named there) and read public keys of those plus `public_key_purposes`.

use serde_json::{Map, Value};

use crate::backends::{jose, KeyError as BackendError};
use crate::bindings::endpoint::esignet::platform::keys::{Host, KeyError, KeyInfo};
use crate::state::HostState;

fn map(component: &str, e: BackendError) -> KeyError {
    match e {
        BackendError::UnknownPurpose(p) => KeyError::UnknownPurpose(p),
        BackendError::Invalid(m) => KeyError::InvalidInput(m),
        BackendError::Verification(m) => KeyError::VerificationFailed(m),
        BackendError::Unavailable(m) => {
            tracing::error!(component, error = %m, "key backend unavailable");
            KeyError::BackendUnavailable
        }
    }
}

impl HostState {
    /// The algorithm granted for `purpose`, or the guest-facing error.
    fn granted_alg(&self, purpose: &str) -> Result<&'static str, KeyError> {
        self.env
            .spec
            .grants
            .key_purposes
            .get(purpose)
            .map(|a| a.name())
            .ok_or_else(|| KeyError::UnknownPurpose(purpose.to_string()))
    }

    /// Public keys readable by this component: its own purposes, plus `public_key_purposes` (their algorithm is
    /// taken from whichever component of the manifest owns them).
    fn readable_alg(&self, purpose: &str) -> Result<String, KeyError> {
        if let Ok(alg) = self.granted_alg(purpose) {
            return Ok(alg.to_string());
        }
        if self.env.spec.grants.public_key_purposes.iter().any(|p| p == purpose) {
            if let Some(alg) = self.env.public_key_algs.get(purpose) {
                return Ok(alg.clone());
            }
        }
        Err(KeyError::UnknownPurpose(purpose.to_string()))
    }
}

impl Host for HostState {
    async fn current_key(&mut self, purpose: String) -> wasmtime::Result<Result<KeyInfo, KeyError>> {
        let alg = match self.granted_alg(&purpose) {
            Ok(a) => a,
            Err(e) => return Ok(Err(e)),
        };
        let keys = self.env.platform.keys.clone();
        Ok(keys
            .current_key(&purpose, alg)
            .await
            .map(|k| KeyInfo { kid: k.kid, alg: k.alg })
            .map_err(|e| map(&self.env.spec.id, e)))
    }

    async fn sign_jws(
        &mut self,
        purpose: String,
        header_json: String,
        payload: Vec<u8>,
    ) -> wasmtime::Result<Result<String, KeyError>> {
        let alg = match self.granted_alg(&purpose) {
            Ok(a) if !a.starts_with("RSA-OAEP") => a,
            Ok(_) => return Ok(Err(KeyError::InvalidInput(format!("{purpose} is an encryption key")))),
            Err(e) => return Ok(Err(e)),
        };
        let header: Map<String, Value> = match serde_json::from_str(if header_json.is_empty() { "{}" } else { &header_json }) {
            Ok(Value::Object(m)) => m,
            _ => return Ok(Err(KeyError::InvalidInput("header is not a JSON object".into()))),
        };
        let keys = self.env.platform.keys.clone();
        Ok(keys.sign_jws(&purpose, alg, header, &payload).await.map_err(|e| map(&self.env.spec.id, e)))
    }

    async fn verify_jws(
        &mut self,
        jws: String,
        jwk_json: String,
        allowed_algs: Vec<String>,
    ) -> wasmtime::Result<Result<(String, Vec<u8>), KeyError>> {
        let result = jose::parse_public_jwk(&jwk_json).and_then(|jwk| jose::verify(&jws, &jwk, &allowed_algs));
        Ok(result.map_err(|e| map(&self.env.spec.id, e)))
    }

    async fn verify_own_jws(
        &mut self,
        purpose: String,
        jws: String,
    ) -> wasmtime::Result<Result<(String, Vec<u8>), KeyError>> {
        if let Err(e) = self.readable_alg(&purpose) {
            return Ok(Err(e));
        }
        let keys = self.env.platform.keys.clone();
        Ok(keys.verify_own(&purpose, &jws).await.map_err(|e| map(&self.env.spec.id, e)))
    }

    async fn public_jwks(&mut self, purposes: Vec<String>) -> wasmtime::Result<Result<String, KeyError>> {
        let mut wanted = Vec::new();
        for p in purposes {
            match self.readable_alg(&p) {
                Ok(alg) => wanted.push((p, alg)),
                Err(e) => return Ok(Err(e)),
            }
        }
        let keys = self.env.platform.keys.clone();
        Ok(keys
            .public_jwks(&wanted)
            .await
            .map(|list| serde_json::json!({ "keys": list }).to_string())
            .map_err(|e| map(&self.env.spec.id, e)))
    }

    async fn jwe_encrypt(
        &mut self,
        jwk_json: String,
        alg: String,
        enc: String,
        plaintext: Vec<u8>,
        content_type: Option<String>,
    ) -> wasmtime::Result<Result<String, KeyError>> {
        let result = jose::parse_public_jwk(&jwk_json)
            .and_then(|jwk| jose::encrypt(&jwk, &alg, &enc, &plaintext, content_type.as_deref()));
        Ok(result.map_err(|e| map(&self.env.spec.id, e)))
    }

    async fn jwe_decrypt(&mut self, purpose: String, jwe: String) -> wasmtime::Result<Result<Vec<u8>, KeyError>> {
        let alg = match self.granted_alg(&purpose) {
            Ok(a) if a.starts_with("RSA-OAEP") => a,
            Ok(_) => return Ok(Err(KeyError::InvalidInput(format!("{purpose} is a signing key")))),
            Err(e) => return Ok(Err(e)),
        };
        let keys = self.env.platform.keys.clone();
        Ok(keys.decrypt_jwe(&purpose, alg, &jwe).await.map_err(|e| map(&self.env.spec.id, e)))
    }
}
