//! The production `keys` backend: private keys live in a PKCS#11 token (an HSM; SoftHSM2 in tests) and never
//! leave it. Key pairs are generated inside the token on first use of a purpose (sensitive, never extractable,
//! labelled `esignet:<purpose>:<alg>:<created epoch>`), the host builds each JWS signing input itself and has the
//! token sign it raw, and public keys are read from the token into JWKs whose `kid` is the RFC 7638 thumbprint.
//! Rotation matches the soft keystore: a key is current for `rotate_after` and stays in the JWKS for `retain`
//! more. Several replicas may share one token and start at the same moment, and PKCS#11 offers no atomic
//! "create if absent": so a replica that finds no current key waits a random moment, looks again, generates one
//! only if there is still none, waits for other racers' keys to appear, lists the token again and uses the
//! *oldest* current key (ties broken by `kid`); and every replica re-lists the token every few seconds. Racing
//! replicas therefore agree on one key at once in the usual case and within that interval in any case, and every
//! key any of them signed with is in every replica's JWKS (the extra keys simply expire). For JWE (RSA-OAEP-256)
//! the token unwraps the content key and `josekit` decrypts the content with it in the host ([`jwe`]); josekit
//! never sees the private key. Keys past their JWKS lifetime are left in the token (deleting key material is the
//! operator's decision).
//! Layout: [`token`] (module, sessions, raw operations), [`objects`] (templates, labels, public keys → JWK),
//! [`oaep`] (OAEP unpadding for tokens without SHA-256 OAEP), [`jwe`].

mod jwe;
mod objects;
mod oaep;
mod token;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use cryptoki::types::AuthPin;
use parking_lot::{Mutex, RwLock};
use serde_json::{Map, Value};

use self::token::{Token, TokenKey};
use super::{jose, KeyError, KeyInfo, KeyStore};
use crate::runtime_config::KeysConfig;

/// How long a listing of the token's keys is trusted before it is read again.
const REFRESH: Duration = Duration::from_secs(5);

/// Upper bound of the random pause before generating a key, and the pause after (see [`Inner::current`]).
const GENERATION_JITTER_MS: u64 = 200;
const GENERATION_SETTLE: Duration = Duration::from_millis(300);

/// Seconds since the Unix epoch; injectable so that rotation can be tested without waiting.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default()
    })
}

/// Everything needed to reach the token. The PIN is held as a secret and never printed.
pub struct Pkcs11Settings {
    pub module: String,
    pub token: String,
    pub pin: AuthPin,
    /// Idle sessions kept open for reuse (more are opened under load, and closed when returned beyond this).
    pub sessions: usize,
    pub rotate_after_secs: i64,
    pub retain_secs: i64,
    pub clock: Clock,
}

impl Pkcs11Settings {
    /// From `[keys]` (after environment overrides): module, token and a PIN (inline or from a file) are required.
    pub fn from_config(keys: &KeysConfig) -> Result<Pkcs11Settings, KeyError> {
        let need = |v: &Option<String>, what: &str| {
            v.clone().filter(|s| !s.is_empty()).ok_or_else(|| {
                KeyError::Unavailable(format!("keys: type = \"pkcs11\" needs {what}"))
            })
        };
        let module = need(&keys.pkcs11_module, "pkcs11_module (or ESIGNET_PKCS11_MODULE)")?;
        let token = need(&keys.pkcs11_token, "pkcs11_token (or ESIGNET_PKCS11_TOKEN), the token label")?;
        let pin = match (&keys.pkcs11_pin, &keys.pkcs11_pin_file) {
            (_, Some(file)) => std::fs::read_to_string(file)
                .map_err(|e| KeyError::Unavailable(format!("reading the PKCS#11 PIN file {file}: {e}")))?
                .lines()
                .next()
                .unwrap_or_default()
                .to_string(),
            (Some(pin), None) => pin.clone(),
            (None, None) => need(&None, "pkcs11_pin or pkcs11_pin_file (or ESIGNET_PKCS11_PIN[_FILE])")?,
        };
        Ok(Pkcs11Settings {
            module,
            token,
            pin: AuthPin::from(pin),
            sessions: keys.pkcs11_sessions,
            rotate_after_secs: (keys.rotate_after_days * 86_400) as i64,
            retain_secs: (keys.retain_days * 86_400) as i64,
            clock: system_clock(),
        })
    }
}

pub struct Pkcs11KeyStore {
    inner: Arc<Inner>,
}

struct Inner {
    token: Arc<Token>,
    rotate_after_secs: i64,
    retain_secs: i64,
    clock: Clock,
    listing: RwLock<Listing>,
    refresh_lock: Mutex<()>,
    generate_lock: Mutex<()>,
}

#[derive(Default)]
struct Listing {
    keys: Vec<Arc<TokenKey>>,
    at: Option<Instant>,
}

fn supported(alg: &str) -> Result<(), KeyError> {
    match alg {
        "ES256" | "RS256" | "PS256" | "RSA-OAEP-256" => Ok(()),
        other => Err(KeyError::Invalid(format!("unsupported key algorithm {other}"))),
    }
}

impl Pkcs11KeyStore {
    /// Loads the module, finds the token and logs in; a missing module, token or a wrong PIN fails here.
    pub async fn open(settings: Pkcs11Settings) -> Result<Pkcs11KeyStore, KeyError> {
        tokio::task::spawn_blocking(move || {
            let token = Token::open(&settings.module, &settings.token, settings.pin, settings.sessions)?;
            let inner = Inner {
                token: Arc::new(token),
                rotate_after_secs: settings.rotate_after_secs,
                retain_secs: settings.retain_secs,
                clock: settings.clock,
                listing: RwLock::new(Listing::default()),
                refresh_lock: Mutex::new(()),
                generate_lock: Mutex::new(()),
            };
            inner.refresh()?;
            Ok(Pkcs11KeyStore { inner: Arc::new(inner) })
        })
        .await
        .map_err(|e| KeyError::Unavailable(format!("opening the PKCS#11 token: {e}")))?
    }

    /// Runs a token operation on the blocking pool: PKCS#11 calls block (an RSA signature takes a millisecond, a
    /// network HSM a round trip), which async workers must not.
    async fn blocking<R: Send + 'static>(
        &self,
        op: impl FnOnce(&Arc<Inner>) -> Result<R, KeyError> + Send + 'static,
    ) -> Result<R, KeyError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || op(&inner))
            .await
            .map_err(|e| KeyError::Unavailable(format!("key operation did not finish: {e}")))?
    }
}

impl Inner {
    fn now(&self) -> i64 {
        (self.clock)()
    }

    fn is_current(&self, k: &TokenKey, now: i64) -> bool {
        k.created + self.rotate_after_secs > now
    }

    fn expires(&self, k: &TokenKey) -> i64 {
        k.created + self.rotate_after_secs + self.retain_secs
    }

    fn refresh(&self) -> Result<(), KeyError> {
        let known: HashMap<Vec<u8>, Arc<TokenKey>> =
            self.listing.read().keys.iter().map(|k| (k.id.clone(), k.clone())).collect();
        let keys = self.token.list(&known)?;
        *self.listing.write() = Listing { keys, at: Some(Instant::now()) };
        Ok(())
    }

    /// Re-lists the token when the listing is older than [`REFRESH`]; one thread does it while others go on
    /// with the listing they have.
    fn refresh_if_stale(&self) -> Result<(), KeyError> {
        let stale = self.listing.read().at.is_none_or(|at| at.elapsed() >= REFRESH);
        if stale {
            if let Some(_guard) = self.refresh_lock.try_lock() {
                return self.refresh();
            }
        }
        Ok(())
    }

    /// The oldest current key of (purpose, alg): the one every replica picks from the same listing.
    fn pick(&self, purpose: &str, alg: &str, now: i64) -> Option<Arc<TokenKey>> {
        self.listing
            .read()
            .keys
            .iter()
            .filter(|k| k.purpose == purpose && k.alg == alg && self.is_current(k, now))
            .min_by(|a, b| (a.created, a.kid()).cmp(&(b.created, b.kid())))
            .cloned()
    }

    /// The current key of (purpose, alg), generated in the token when there is none.
    fn current(&self, purpose: &str, alg: &str) -> Result<Arc<TokenKey>, KeyError> {
        supported(alg)?;
        self.refresh_if_stale()?;
        let now = self.now();
        if let Some(k) = self.pick(purpose, alg, now) {
            return Ok(k);
        }
        let _guard = self.generate_lock.lock();
        // Another thread, or another replica, may have made one meanwhile.
        self.refresh()?;
        if let Some(k) = self.pick(purpose, alg, now) {
            return Ok(k);
        }
        // Replicas starting together: a random pause before generating lets one of them go first and the others
        // find its key; a pause after lets every racer's key appear before picking the oldest.
        std::thread::sleep(Duration::from_millis(rand::random::<u64>() % GENERATION_JITTER_MS));
        self.refresh()?;
        if let Some(k) = self.pick(purpose, alg, now) {
            return Ok(k);
        }
        self.token.generate(purpose, alg, now)?;
        std::thread::sleep(GENERATION_SETTLE);
        self.refresh()?;
        self.pick(purpose, alg, now)
            .ok_or_else(|| KeyError::Unavailable("the key pair just generated is not in the token".into()))
    }

    /// Keys of `purpose` (and `alg`, when given) still published, newest first.
    fn published(&self, purpose: &str, alg: Option<&str>) -> Vec<Arc<TokenKey>> {
        let now = self.now();
        let mut keys: Vec<_> = self
            .listing
            .read()
            .keys
            .iter()
            .filter(|k| k.purpose == purpose && alg.is_none_or(|a| k.alg == a) && self.expires(k) > now)
            .cloned()
            .collect();
        keys.sort_by(|a, b| (b.created, b.kid()).cmp(&(a.created, a.kid())));
        keys
    }

    /// A published key of `purpose` by `kid`; an unknown `kid` makes one fresh listing (another replica may
    /// have just made that key).
    fn by_kid(&self, purpose: &str, alg: Option<&str>, kid: &str) -> Result<Option<Arc<TokenKey>>, KeyError> {
        let find = || self.published(purpose, alg).into_iter().find(|k| k.kid() == kid);
        if let Some(k) = find() {
            return Ok(Some(k));
        }
        {
            let _guard = self.refresh_lock.lock();
            self.refresh()?;
        }
        Ok(find())
    }

    fn sign_jws(&self, purpose: &str, alg: &str, header: Map<String, Value>, payload: &[u8]) -> Result<String, KeyError> {
        if alg.starts_with("RSA-OAEP") {
            return Err(KeyError::Invalid(format!("{alg} is an encryption algorithm")));
        }
        if header.contains_key("crit") || header.contains_key("b64") {
            return Err(KeyError::Invalid("unsupported JWS header parameter".into()));
        }
        let key = self.current(purpose, alg)?;
        let mut protected = header;
        protected.insert("alg".into(), alg.into());
        protected.insert("kid".into(), key.kid().into());
        let header_json =
            serde_json::to_vec(&protected).map_err(|e| KeyError::Invalid(format!("JWS header: {e}")))?;
        let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header_json), URL_SAFE_NO_PAD.encode(payload));
        let signature = self.token.sign(&key, input.as_bytes())?;
        Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }

    fn verify_own(&self, purpose: &str, jws: &str) -> Result<(String, Vec<u8>), KeyError> {
        let header = jose::jws_header(jws)?;
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .ok_or_else(|| KeyError::Verification("JWS has no kid".into()))?;
        let key = self
            .by_kid(purpose, None, kid)?
            .ok_or_else(|| KeyError::Verification("unknown or expired kid".into()))?;
        jose::verify(jws, &key.jwk, std::slice::from_ref(&key.alg))
    }

    fn public_jwks(&self, purposes: &[(String, String)]) -> Result<Vec<Value>, KeyError> {
        for (purpose, alg) in purposes {
            self.current(purpose, alg)?;
        }
        let mut out = Vec::new();
        for (purpose, alg) in purposes {
            for k in self.published(purpose, Some(alg)) {
                let mut jwk = k.jwk.as_ref().clone();
                jwk.insert("exp".into(), self.expires(&k).into());
                out.push(Value::Object(jwk));
            }
        }
        Ok(out)
    }

    fn decrypt_jwe(&self, purpose: &str, alg: &str, jwe: &str) -> Result<Vec<u8>, KeyError> {
        if alg != "RSA-OAEP-256" {
            return Err(KeyError::Invalid(format!("unsupported key management algorithm {alg}")));
        }
        let current = self.current(purpose, alg)?;
        // A JWE naming a retained key (encrypted before a rotation) is still decrypted with that key.
        let key = match jwe::kid(jwe)? {
            Some(kid) => self
                .by_kid(purpose, Some(alg), &kid)?
                .ok_or_else(|| KeyError::Verification("JWE for an unknown or expired key".into()))?,
            None => current,
        };
        jwe::decrypt(&self.token, key, jwe)
    }
}

#[async_trait]
impl KeyStore for Pkcs11KeyStore {
    async fn current_key(&self, purpose: &str, alg: &str) -> Result<KeyInfo, KeyError> {
        let (purpose, alg) = (purpose.to_string(), alg.to_string());
        self.blocking(move |inner| {
            let k = inner.current(&purpose, &alg)?;
            Ok(KeyInfo { kid: k.kid().to_string(), alg: k.alg.clone() })
        })
        .await
    }

    async fn sign_jws(
        &self,
        purpose: &str,
        alg: &str,
        header: Map<String, Value>,
        payload: &[u8],
    ) -> Result<String, KeyError> {
        let (purpose, alg, payload) = (purpose.to_string(), alg.to_string(), payload.to_vec());
        self.blocking(move |inner| inner.sign_jws(&purpose, &alg, header, &payload)).await
    }

    async fn verify_own(&self, purpose: &str, jws: &str) -> Result<(String, Vec<u8>), KeyError> {
        let (purpose, jws) = (purpose.to_string(), jws.to_string());
        self.blocking(move |inner| inner.verify_own(&purpose, &jws)).await
    }

    async fn public_jwks(&self, purposes: &[(String, String)]) -> Result<Vec<Value>, KeyError> {
        let purposes = purposes.to_vec();
        self.blocking(move |inner| inner.public_jwks(&purposes)).await
    }

    async fn decrypt_jwe(&self, purpose: &str, alg: &str, jwe: &str) -> Result<Vec<u8>, KeyError> {
        let (purpose, alg, jwe) = (purpose.to_string(), alg.to_string(), jwe.to_string());
        self.blocking(move |inner| inner.decrypt_jwe(&purpose, &alg, &jwe)).await
    }

    fn describe(&self) -> String {
        format!("pkcs11 {} token {}", self.inner.token.module, self.inner.token.label)
    }
}
