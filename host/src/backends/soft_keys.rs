//! The embedded `keys` backend: a software keystore. Keys are generated on first use of a purpose and kept in a
//! JSON file that only the owner can read (mode 0600), written atomically. Fine for one machine and for
//! development; production uses an HSM through PKCS#11, which the start-up log makes plain.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use async_trait::async_trait;
use josekit::jwk::Jwk;
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::jose;
use super::{KeyError, KeyInfo, KeyStore};

#[derive(Serialize, Deserialize, Default)]
struct KeyFile {
    keys: Vec<StoredKey>,
}

#[derive(Serialize, Deserialize, Clone)]
struct StoredKey {
    purpose: String,
    alg: String,
    created_at: i64,
    jwk: Map<String, Value>,
}

struct LiveKey {
    stored: StoredKey,
    jwk: Jwk,
}

pub struct SoftKeyStore {
    path: PathBuf,
    rotate_after_secs: i64,
    retain_secs: i64,
    keys: RwLock<HashMap<(String, String), Vec<LiveKey>>>,
    write_lock: Mutex<()>,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

impl SoftKeyStore {
    pub fn open(path: PathBuf, rotate_after_days: u64, retain_days: u64) -> anyhow::Result<SoftKeyStore> {
        let file: KeyFile = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => KeyFile::default(),
            Err(e) => return Err(e.into()),
        };
        let mut keys: HashMap<(String, String), Vec<LiveKey>> = HashMap::new();
        for stored in file.keys {
            let jwk = Jwk::from_map(stored.jwk.clone())?;
            keys.entry((stored.purpose.clone(), stored.alg.clone())).or_default().push(LiveKey { stored, jwk });
        }
        for list in keys.values_mut() {
            list.sort_by_key(|k| k.stored.created_at);
        }
        Ok(SoftKeyStore {
            path,
            rotate_after_secs: (rotate_after_days * 86_400) as i64,
            retain_secs: (retain_days * 86_400) as i64,
            keys: RwLock::new(keys),
            write_lock: Mutex::new(()),
        })
    }

    fn is_current(&self, key: &LiveKey, now: i64) -> bool {
        key.stored.created_at + self.rotate_after_secs > now
    }

    fn is_published(&self, key: &LiveKey, now: i64) -> bool {
        key.stored.created_at + self.rotate_after_secs + self.retain_secs > now
    }

    /// The current key of (purpose, alg): generated and persisted when missing or due for rotation.
    fn current(&self, purpose: &str, alg: &str) -> Result<(Jwk, KeyInfo), KeyError> {
        let id = (purpose.to_string(), alg.to_string());
        let now = now();
        if let Some(k) = self.keys.read().get(&id).and_then(|l| l.last()).filter(|k| self.is_current(k, now)) {
            return Ok((k.jwk.clone(), info(k)));
        }
        let _guard = self.write_lock.lock();
        if let Some(k) = self.keys.read().get(&id).and_then(|l| l.last()).filter(|k| self.is_current(k, now)) {
            return Ok((k.jwk.clone(), info(k)));
        }
        let jwk = jose::generate_key(alg)?;
        let live = LiveKey {
            stored: StoredKey {
                purpose: purpose.to_string(),
                alg: alg.to_string(),
                created_at: now,
                jwk: jwk.as_ref().clone(),
            },
            jwk: jwk.clone(),
        };
        let result = (jwk, info(&live));
        {
            let mut keys = self.keys.write();
            let list = keys.entry(id).or_default();
            list.push(live);
            list.retain(|k| self.is_published(k, now));
        }
        self.persist().map_err(|e| KeyError::Unavailable(format!("writing keystore: {e}")))?;
        tracing::info!(purpose, alg, kid = %result.1.kid, "generated a new key");
        Ok(result)
    }

    fn persist(&self) -> std::io::Result<()> {
        let file = KeyFile {
            keys: self.keys.read().values().flat_map(|l| l.iter().map(|k| k.stored.clone())).collect(),
        };
        let bytes = serde_json::to_vec(&file).map_err(std::io::Error::other)?;
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = self.path.with_extension("tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut f = options.open(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &self.path)
    }

    fn find_by_kid(&self, purpose: &str, kid: &str) -> Option<(Jwk, String)> {
        let now = now();
        self.keys
            .read()
            .iter()
            .filter(|((p, _), _)| p == purpose)
            .flat_map(|(_, list)| list.iter())
            .find(|k| k.jwk.key_id() == Some(kid) && self.is_published(k, now))
            .map(|k| (k.jwk.clone(), k.stored.alg.clone()))
    }
}

fn info(k: &LiveKey) -> KeyInfo {
    KeyInfo { kid: k.jwk.key_id().unwrap_or_default().to_string(), alg: k.stored.alg.clone() }
}

#[async_trait]
impl KeyStore for SoftKeyStore {
    async fn current_key(&self, purpose: &str, alg: &str) -> Result<KeyInfo, KeyError> {
        Ok(self.current(purpose, alg)?.1)
    }

    async fn sign_jws(
        &self,
        purpose: &str,
        alg: &str,
        header: Map<String, Value>,
        payload: &[u8],
    ) -> Result<String, KeyError> {
        let (jwk, _) = self.current(purpose, alg)?;
        jose::sign(alg, &jwk, header, payload)
    }

    async fn verify_own(&self, purpose: &str, jws: &str) -> Result<(String, Vec<u8>), KeyError> {
        let header = jose::jws_header(jws)?;
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .ok_or_else(|| KeyError::Verification("JWS has no kid".into()))?;
        let (jwk, alg) = self
            .find_by_kid(purpose, kid)
            .ok_or_else(|| KeyError::Verification("unknown or expired kid".into()))?;
        jose::verify(jws, &jwk, &[alg])
    }

    async fn public_jwks(&self, purposes: &[(String, String)]) -> Result<Vec<Value>, KeyError> {
        for (purpose, alg) in purposes {
            self.current(purpose, alg)?;
        }
        let now = now();
        let keys = self.keys.read();
        let mut out = Vec::new();
        for id in purposes {
            for k in keys.get(id).into_iter().flatten().rev().filter(|k| self.is_published(k, now)) {
                let mut public = jose::public_jwk(&k.jwk)?;
                if let Some(obj) = public.as_object_mut() {
                    obj.insert("exp".into(), (k.stored.created_at + self.rotate_after_secs + self.retain_secs).into());
                }
                out.push(public);
            }
        }
        Ok(out)
    }

    async fn decrypt_jwe(&self, purpose: &str, alg: &str, jwe: &str) -> Result<Vec<u8>, KeyError> {
        let (jwk, _) = self.current(purpose, alg)?;
        jose::decrypt(&jwk, alg, jwe)
    }

    fn describe(&self) -> String {
        format!("soft keystore (software keys, single machine only) at {}", self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keys_persist_with_owner_only_permissions_and_rotate() {
        let dir = std::env::temp_dir().join(format!("esignet-keys-{}", std::process::id()));
        let path = dir.join("keystore.json");
        let store = SoftKeyStore::open(path.clone(), 90, 2).unwrap();
        let k1 = store.current_key("oidc", "ES256").await.unwrap();
        let jws = store.sign_jws("oidc", "ES256", Map::new(), b"hello").await.unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let reopened = SoftKeyStore::open(path.clone(), 90, 2).unwrap();
        assert_eq!(reopened.current_key("oidc", "ES256").await.unwrap(), k1);
        assert_eq!(reopened.verify_own("oidc", &jws).await.unwrap().1, b"hello");
        assert!(reopened.verify_own("other", &jws).await.is_err());

        // Rotation: a store whose keys are due makes a new current key and still publishes and accepts the old.
        let rotating = SoftKeyStore { rotate_after_secs: 0, retain_secs: 3600, ..SoftKeyStore::open(path, 90, 2).unwrap() };
        let k2 = rotating.current_key("oidc", "ES256").await.unwrap();
        assert_ne!(k1.kid, k2.kid);
        let jwks = rotating.public_jwks(&[("oidc".into(), "ES256".into())]).await.unwrap();
        let kids: Vec<_> = jwks.iter().map(|k| k["kid"].as_str().unwrap().to_string()).collect();
        assert!(kids.contains(&k1.kid) && kids.contains(&k2.kid), "{kids:?}");
        assert!(jwks.iter().all(|k| k.get("d").is_none()));
        assert_eq!(rotating.verify_own("oidc", &jws).await.unwrap().1, b"hello");
        let _ = std::fs::remove_dir_all(dir);
    }
}
