//! The PKCS#11 token itself, through `cryptoki`: loading and initializing the module once per process, finding
//! the slot by token label, a pool of logged-in sessions (a `Session` is not `Sync`, so each operation checks one
//! out and puts it back), generating key pairs inside the token, listing this host's key pairs, and the raw
//! private-key operations (sign, RSA-OAEP decrypt). Nothing here ever asks the token for private key material.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as HsmError, RvError};
use cryptoki::mechanism::rsa::{PkcsMgfType, PkcsOaepParams, PkcsOaepSource, PkcsPssParams};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use josekit::jwk::Jwk;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};

use super::objects::{check_unreadable, pair_template, parse_label, public_jwk};
use super::oaep;
use crate::backends::{jose, KeyError};

/// A failure inside one token operation: either the token said no, or what it returned made no sense.
pub enum OpError {
    Hsm(HsmError),
    Key(KeyError),
}

impl From<HsmError> for OpError {
    fn from(e: HsmError) -> Self {
        OpError::Hsm(e)
    }
}

impl From<KeyError> for OpError {
    fn from(e: KeyError) -> Self {
        OpError::Key(e)
    }
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> KeyError {
    KeyError::Unavailable(format!("{what}: {e}"))
}

/// One key pair of this host in the token. `jwk` is the public key with `kid` (RFC 7638), `alg` and `use`.
#[derive(Debug)]
pub struct TokenKey {
    pub id: Vec<u8>,
    pub purpose: String,
    pub alg: String,
    pub created: i64,
    pub private: ObjectHandle,
    pub jwk: Jwk,
}

impl TokenKey {
    pub fn kid(&self) -> &str {
        self.jwk.key_id().unwrap_or_default()
    }
}

/// The module's context, loaded and `C_Initialize`d once per process and never unloaded: PKCS#11 allows one
/// initialization per process, and unloading a module behind live sessions of another context would crash.
fn context(module: &str) -> Result<Pkcs11, KeyError> {
    static CONTEXTS: OnceLock<Mutex<HashMap<String, Pkcs11>>> = OnceLock::new();
    let mut contexts = CONTEXTS.get_or_init(|| Mutex::new(HashMap::new())).lock();
    if let Some(ctx) = contexts.get(module) {
        return Ok(ctx.clone());
    }
    let ctx = Pkcs11::new(module).map_err(|e| unavailable(&format!("loading PKCS#11 module {module}"), e))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(HsmError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(unavailable(&format!("initializing PKCS#11 module {module}"), e)),
    }
    contexts.insert(module.to_string(), ctx.clone());
    Ok(ctx)
}

pub struct Token {
    ctx: Pkcs11,
    slot: Slot,
    pin: AuthPin,
    idle: Mutex<Vec<Session>>,
    max_idle: usize,
    /// Set once the token turns out not to support RSA-OAEP with SHA-256 (see [`oaep`]).
    oaep_in_host: AtomicBool,
    pub module: String,
    pub label: String,
}

impl Token {
    /// Loads the module, finds the token by label and logs in once (which also checks the PIN).
    pub fn open(module: &str, label: &str, pin: AuthPin, max_idle: usize) -> Result<Token, KeyError> {
        let ctx = context(module)?;
        let slots = ctx.get_slots_with_token().map_err(|e| unavailable("listing PKCS#11 slots", e))?;
        let slot = slots
            .into_iter()
            .find(|s| ctx.get_token_info(*s).map(|t| t.label().trim() == label).unwrap_or(false))
            .ok_or_else(|| KeyError::Unavailable(format!("no PKCS#11 token labelled `{label}` in {module}")))?;
        let token = Token {
            ctx,
            slot,
            pin,
            idle: Mutex::new(Vec::new()),
            max_idle: max_idle.max(1),
            oaep_in_host: AtomicBool::new(false),
            module: module.to_string(),
            label: label.to_string(),
        };
        let first = token.open_session()?;
        token.idle.lock().push(first);
        Ok(token)
    }

    /// A new read-write session, logged in (the login is per application, so `UserAlreadyLoggedIn` is normal).
    fn open_session(&self) -> Result<Session, KeyError> {
        let what = || format!("opening a session on token `{}`", self.label);
        let session = self.ctx.open_rw_session(self.slot).map_err(|e| unavailable(&what(), e))?;
        match session.login(UserType::User, Some(&self.pin)) {
            Ok(()) | Err(HsmError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
            Err(HsmError::Pkcs11(RvError::PinIncorrect, _)) => Err(KeyError::Unavailable(format!(
                "logging in to PKCS#11 token `{}`: the PIN was refused (CKR_PIN_INCORRECT)",
                self.label
            ))),
            Err(e) => Err(unavailable(&format!("logging in to PKCS#11 token `{}`", self.label), e)),
        }
    }

    /// Runs `op` on a pooled session. A session the token no longer knows is dropped and `op` retried once on a
    /// fresh one (which logs in again).
    pub fn with_session<R>(&self, what: &str, op: impl Fn(&Session) -> Result<R, OpError>) -> Result<R, KeyError> {
        for attempt in 0..2 {
            let popped = self.idle.lock().pop();
            let session = match popped {
                Some(s) => s,
                None => self.open_session()?,
            };
            match op(&session) {
                Ok(r) => {
                    self.give_back(session);
                    return Ok(r);
                }
                Err(OpError::Hsm(HsmError::Pkcs11(rv, _))) if attempt == 0 && session_lost(rv) => {
                    tracing::warn!(token = %self.label, error = %rv, "PKCS#11 session lost; retrying on a new one");
                }
                Err(OpError::Hsm(e)) => {
                    self.give_back(session);
                    return Err(unavailable(what, e));
                }
                Err(OpError::Key(e)) => {
                    self.give_back(session);
                    return Err(e);
                }
            }
        }
        Err(KeyError::Unavailable(format!("{what}: the token keeps dropping sessions")))
    }

    fn give_back(&self, session: Session) {
        let mut idle = self.idle.lock();
        if idle.len() < self.max_idle {
            idle.push(session);
        }
    }

    /// Generates a key pair for (purpose, alg) inside the token, and destroys it again should the token have made
    /// the private half readable.
    pub fn generate(&self, purpose: &str, alg: &str, created: i64) -> Result<(), KeyError> {
        let t = pair_template(purpose, alg, created)?;
        self.with_session("generating a key pair in the token", |s| {
            let (public, private) = s.generate_key_pair(&t.mechanism, &t.public, &t.private)?;
            if let Err(e) = check_unreadable(s, private) {
                let _ = s.destroy_object(private);
                let _ = s.destroy_object(public);
                return Err(e);
            }
            Ok(())
        })?;
        tracing::info!(token = %self.label, key = %t.label, "generated a key pair inside the token");
        Ok(())
    }

    /// Every key pair of this host in the token. Pairs already in `known` (by `CKA_ID`) are reused as they are,
    /// so a periodic refresh costs one search plus a label read per object.
    pub fn list(&self, known: &HashMap<Vec<u8>, Arc<TokenKey>>) -> Result<Vec<Arc<TokenKey>>, KeyError> {
        self.with_session("listing keys in the token", |s| {
            let template = [Attribute::Class(ObjectClass::PUBLIC_KEY), Attribute::Token(true)];
            let mut out = Vec::new();
            for handle in s.find_objects(&template)? {
                let (mut label, mut id) = (Vec::new(), Vec::new());
                let attributes = match s.get_attributes(handle, &[AttributeType::Label, AttributeType::Id]) {
                    Err(e) if vanished(&e) => continue,
                    other => other?,
                };
                for a in attributes {
                    match a {
                        Attribute::Label(l) => label = l,
                        Attribute::Id(i) => id = i,
                        _ => {}
                    }
                }
                if let Some(k) = known.get(&id) {
                    out.push(k.clone());
                    continue;
                }
                let Some((purpose, alg, created)) = parse_label(&label) else { continue };
                match load_pair(s, handle, id, purpose, alg, created) {
                    Ok(Some(k)) => out.push(Arc::new(k)),
                    Ok(None) => {}
                    Err(OpError::Key(e)) => tracing::warn!(token = %self.label, error = %e, "skipping a key pair"),
                    Err(OpError::Hsm(e)) if vanished(&e) => {}
                    Err(OpError::Hsm(e)) => return Err(OpError::Hsm(e)),
                }
            }
            Ok(out)
        })
    }

    /// Signs a JWS signing input with the private key; returns the signature as JWS wants it.
    pub fn sign(&self, key: &TokenKey, input: &[u8]) -> Result<Vec<u8>, KeyError> {
        let digest;
        let (mechanism, data): (Mechanism, &[u8]) = match key.alg.as_str() {
            // The token's CKM_ECDSA_SHA256 is not universal (SoftHSM lacks it): hash here, sign the digest.
            "ES256" => {
                digest = Sha256::digest(input);
                (Mechanism::Ecdsa, digest.as_slice())
            }
            "RS256" => (Mechanism::Sha256RsaPkcs, input),
            "PS256" => (
                Mechanism::Sha256RsaPkcsPss(PkcsPssParams {
                    hash_alg: MechanismType::SHA256,
                    mgf: PkcsMgfType::MGF1_SHA256,
                    s_len: 32u64.into(),
                }),
                input,
            ),
            other => return Err(KeyError::Invalid(format!("{other} is not a signing algorithm"))),
        };
        let signature = self.with_session("signing in the token", |s| Ok(s.sign(&mechanism, key.private, data)?))?;
        if key.alg == "ES256" && signature.len() != 64 {
            return Err(KeyError::Unavailable(format!("token returned a {}-byte ECDSA signature", signature.len())));
        }
        Ok(signature)
    }

    /// RSA-OAEP (SHA-256, MGF1-SHA-256, empty label) decryption of a JWE encrypted key; `None` when the
    /// ciphertext is not valid for this key (as opposed to the token failing). Tokens without SHA-256 OAEP
    /// (SoftHSM 2.6 knows only SHA-1) do the raw RSA operation (`CKM_RSA_X_509`) and the host removes the padding.
    pub fn decrypt_oaep(&self, key: &TokenKey, encrypted: &[u8]) -> Result<Option<Vec<u8>>, KeyError> {
        if !self.oaep_in_host.load(Ordering::Relaxed) {
            let outcome = self.with_session("decrypting in the token", |s| {
                let params =
                    PkcsOaepParams::new(MechanismType::SHA256, PkcsMgfType::MGF1_SHA256, PkcsOaepSource::empty());
                match s.decrypt(&Mechanism::RsaPkcsOaep(params), key.private, encrypted) {
                    Ok(cek) => Ok(Some(Some(cek))),
                    Err(HsmError::Pkcs11(rv, _)) if rejected(rv) => Ok(Some(None)),
                    Err(HsmError::Pkcs11(
                        RvError::MechanismInvalid | RvError::MechanismParamInvalid | RvError::ArgumentsBad,
                        _,
                    )) => Ok(None),
                    Err(e) => Err(e.into()),
                }
            })?;
            if let Some(result) = outcome {
                return Ok(result);
            }
            tracing::warn!(token = %self.label, "token lacks RSA-OAEP with SHA-256; removing OAEP padding in the host");
            self.oaep_in_host.store(true, Ordering::Relaxed);
        }
        let block = self.with_session("decrypting in the token", |s| {
            match s.decrypt(&Mechanism::RsaX509, key.private, encrypted) {
                Ok(block) => Ok(Some(block)),
                Err(HsmError::Pkcs11(rv, _)) if rejected(rv) => Ok(None),
                Err(e) => Err(e.into()),
            }
        })?;
        Ok(block.and_then(|mut block| {
            // The encoded message has the modulus' length, as the ciphertext does; restore leading zeros.
            if block.len() < encrypted.len() {
                block.splice(0..0, std::iter::repeat_n(0u8, encrypted.len() - block.len()));
            }
            oaep::decode(&block)
        }))
    }
}

fn load_pair(
    s: &Session,
    public: ObjectHandle,
    id: Vec<u8>,
    purpose: String,
    alg: String,
    created: i64,
) -> Result<Option<TokenKey>, OpError> {
    let template = [Attribute::Class(ObjectClass::PRIVATE_KEY), Attribute::Token(true), Attribute::Id(id.clone())];
    let Some(private) = s.find_objects(&template)?.into_iter().next() else { return Ok(None) };
    check_unreadable(s, private)?;
    let mut jwk = public_jwk(s, public, &alg)?;
    jwk.set_key_id(jose::thumbprint(&jwk)?);
    jwk.set_algorithm(&alg);
    jwk.set_key_use(if alg.starts_with("RSA-OAEP") { "enc" } else { "sig" });
    Ok(Some(TokenKey { id, purpose, alg, created, private, jwk }))
}

/// The object was destroyed between the search that found it and this read (another replica that lost a race
/// to generate a purpose's first key removes its duplicate): the listing goes on without it.
fn vanished(e: &HsmError) -> bool {
    matches!(e, HsmError::Pkcs11(RvError::ObjectHandleInvalid, _))
}

/// The token refused the ciphertext itself.
fn rejected(rv: RvError) -> bool {
    matches!(
        rv,
        RvError::EncryptedDataInvalid | RvError::EncryptedDataLenRange | RvError::DataInvalid | RvError::DataLenRange
    )
}

/// A session error after which the session itself is unusable.
fn session_lost(rv: RvError) -> bool {
    matches!(
        rv,
        RvError::SessionHandleInvalid | RvError::SessionClosed | RvError::UserNotLoggedIn | RvError::TokenNotPresent
    )
}
