//! The PKCS#11 token itself, through `cryptoki`: loading the module, finding the slot by token label, a pool of
//! logged-in sessions (a `Session` is not `Sync`, so each operation checks one out and puts it back), generating
//! key pairs inside the token, listing this host's key pairs with their public halves as JWKs, and the raw
//! private-key operations (sign, RSA-OAEP decrypt). Nothing here ever asks the token for private key material.

use std::collections::HashMap;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
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
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::backends::{jose, KeyError};

/// DER encoding of the P-256 curve OID (1.2.840.10045.3.1.7), the `CKA_EC_PARAMS` of an ES256 key.
const P256_PARAMS: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// Label prefix of the key pairs this host owns; the rest is `<purpose>:<alg>:<created epoch>`.
const PREFIX: &str = "esignet:";

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

pub struct Token {
    ctx: Pkcs11,
    slot: Slot,
    pin: AuthPin,
    idle: Mutex<Vec<Session>>,
    max_idle: usize,
    pub module: String,
    pub label: String,
}

impl Token {
    /// Loads the module, finds the token by label and logs in once (which also checks the PIN).
    pub fn open(module: &str, label: &str, pin: AuthPin, max_idle: usize) -> Result<Token, KeyError> {
        let ctx = Pkcs11::new(module).map_err(|e| unavailable(&format!("loading PKCS#11 module {module}"), e))?;
        match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(()) | Err(HsmError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => return Err(unavailable(&format!("initializing PKCS#11 module {module}"), e)),
        }
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
            module: module.to_string(),
            label: label.to_string(),
        };
        let first = token.open_session()?;
        token.idle.lock().push(first);
        Ok(token)
    }

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

    /// Generates a key pair for (purpose, alg) inside the token: private half sensitive and never extractable.
    /// `CKA_LABEL` is `esignet:<purpose>:<alg>:<created>`; `CKA_ID` adds a random suffix so that two replicas
    /// generating in the same second still make distinguishable pairs.
    pub fn generate(&self, purpose: &str, alg: &str, created: i64) -> Result<(), KeyError> {
        let label = format!("{PREFIX}{purpose}:{alg}:{created}");
        let id = format!("{label}:{}", hex::encode(rand::random::<[u8; 8]>())).into_bytes();
        let common = |public: bool| {
            vec![
                Attribute::Token(true),
                Attribute::Private(!public),
                Attribute::Label(label.clone().into_bytes()),
                Attribute::Id(id.clone()),
            ]
        };
        let (mut public, mut private) = (common(true), common(false));
        private.extend([Attribute::Sensitive(true), Attribute::Extractable(false)]);
        let mechanism = match alg {
            "ES256" => {
                public.extend([Attribute::EcParams(P256_PARAMS.to_vec()), Attribute::Verify(true)]);
                private.push(Attribute::Sign(true));
                Mechanism::EccKeyPairGen
            }
            "RS256" | "PS256" | "RSA-OAEP-256" => {
                let enc = alg == "RSA-OAEP-256";
                public.extend([
                    Attribute::ModulusBits(2048u64.into()),
                    Attribute::PublicExponent(vec![1, 0, 1]),
                    Attribute::Verify(!enc),
                    Attribute::Encrypt(enc),
                ]);
                private.extend([Attribute::Sign(!enc), Attribute::Decrypt(enc)]);
                Mechanism::RsaPkcsKeyPairGen
            }
            other => return Err(KeyError::Invalid(format!("unsupported key algorithm {other}"))),
        };
        self.with_session("generating a key pair in the token", |s| {
            let (pub_handle, priv_handle) = s.generate_key_pair(&mechanism, &public, &private)?;
            if let Err(e) = check_unreadable(s, priv_handle) {
                let _ = s.destroy_object(priv_handle);
                let _ = s.destroy_object(pub_handle);
                return Err(e);
            }
            Ok(())
        })?;
        tracing::info!(token = %self.label, key = %label, "generated a key pair inside the token");
        Ok(())
    }

    /// Every key pair of this host in the token. Pairs already in `known` (by `CKA_ID`) are reused as they are,
    /// so a periodic refresh costs one search plus a label read per object.
    pub fn list(&self, known: &HashMap<Vec<u8>, Arc<TokenKey>>) -> Result<Vec<Arc<TokenKey>>, KeyError> {
        self.with_session("listing keys in the token", |s| {
            let template = [Attribute::Class(ObjectClass::PUBLIC_KEY), Attribute::Token(true)];
            let mut out = Vec::new();
            for handle in s.find_objects(&template)? {
                let attrs = s.get_attributes(handle, &[AttributeType::Label, AttributeType::Id])?;
                let (mut label, mut id) = (Vec::new(), Vec::new());
                for a in attrs {
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
                match self.load_pair(s, handle, id, purpose, alg, created) {
                    Ok(Some(k)) => out.push(Arc::new(k)),
                    Ok(None) => {}
                    Err(OpError::Key(e)) => tracing::warn!(token = %self.label, error = %e, "skipping a key pair"),
                    Err(OpError::Hsm(e)) => return Err(OpError::Hsm(e)),
                }
            }
            Ok(out)
        })
    }

    fn load_pair(
        &self,
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

    /// RSA-OAEP (SHA-256, MGF1-SHA-256, empty label) decryption of a JWE encrypted key; `None` when the token
    /// rejects the ciphertext itself (as opposed to failing).
    pub fn decrypt_oaep(&self, key: &TokenKey, encrypted: &[u8]) -> Result<Option<Vec<u8>>, KeyError> {
        self.with_session("decrypting in the token", |s| {
            let params = PkcsOaepParams::new(MechanismType::SHA256, PkcsMgfType::MGF1_SHA256, PkcsOaepSource::empty());
            match s.decrypt(&Mechanism::RsaPkcsOaep(params), key.private, encrypted) {
                Ok(cek) => Ok(Some(cek)),
                Err(HsmError::Pkcs11(
                    RvError::EncryptedDataInvalid
                    | RvError::EncryptedDataLenRange
                    | RvError::DataInvalid
                    | RvError::DataLenRange,
                    _,
                )) => Ok(None),
                Err(e) => Err(e.into()),
            }
        })
    }
}

/// A session error after which the session itself is unusable.
fn session_lost(rv: RvError) -> bool {
    matches!(
        rv,
        RvError::SessionHandleInvalid | RvError::SessionClosed | RvError::UserNotLoggedIn | RvError::TokenNotPresent
    )
}

/// Refuses a private key that the token would let anyone read: it must be sensitive and not extractable.
fn check_unreadable(s: &Session, private: ObjectHandle) -> Result<(), OpError> {
    let attrs = s.get_attributes(private, &[AttributeType::Sensitive, AttributeType::Extractable])?;
    let sensitive = attrs.iter().any(|a| matches!(a, Attribute::Sensitive(true)));
    let not_extractable = attrs.iter().any(|a| matches!(a, Attribute::Extractable(false)));
    if sensitive && not_extractable {
        Ok(())
    } else {
        Err(OpError::Key(KeyError::Unavailable(
            "a private key in the token is readable (CKA_SENSITIVE false or CKA_EXTRACTABLE true); refusing it".into(),
        )))
    }
}

/// `esignet:<purpose>:<alg>:<created>` → its parts (the purpose may itself contain `:`).
fn parse_label(label: &[u8]) -> Option<(String, String, i64)> {
    let rest = std::str::from_utf8(label).ok()?.strip_prefix(PREFIX)?;
    let (head, created) = rest.rsplit_once(':')?;
    let (purpose, alg) = head.rsplit_once(':')?;
    Some((purpose.to_string(), alg.to_string(), created.parse().ok()?))
}

fn b64(bytes: &[u8]) -> Value {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len().saturating_sub(1));
    Value::String(URL_SAFE_NO_PAD.encode(&bytes[start..]))
}

/// The public key object as a JWK (without `kid`/`alg`/`use`).
fn public_jwk(s: &Session, public: ObjectHandle, alg: &str) -> Result<Jwk, OpError> {
    let mut map = Map::new();
    if alg == "ES256" {
        let point = match s.get_attributes(public, &[AttributeType::EcPoint])?.pop() {
            Some(Attribute::EcPoint(p)) => p,
            _ => return Err(KeyError::Unavailable("EC public key without CKA_EC_POINT".into()).into()),
        };
        let raw = ec_point(&point)?;
        map.insert("kty".into(), "EC".into());
        map.insert("crv".into(), "P-256".into());
        map.insert("x".into(), Value::String(URL_SAFE_NO_PAD.encode(&raw[1..33])));
        map.insert("y".into(), Value::String(URL_SAFE_NO_PAD.encode(&raw[33..65])));
    } else {
        let attrs = s.get_attributes(public, &[AttributeType::Modulus, AttributeType::PublicExponent])?;
        let (mut n, mut e) = (None, None);
        for a in attrs {
            match a {
                Attribute::Modulus(m) => n = Some(m),
                Attribute::PublicExponent(x) => e = Some(x),
                _ => {}
            }
        }
        let (Some(n), Some(e)) = (n, e) else {
            return Err(KeyError::Unavailable("RSA public key without modulus or exponent".into()).into());
        };
        map.insert("kty".into(), "RSA".into());
        map.insert("n".into(), b64(&n));
        map.insert("e".into(), b64(&e));
    }
    Jwk::from_map(map).map_err(|e| OpError::Key(KeyError::Unavailable(format!("public key: {e}"))))
}

/// `CKA_EC_POINT` is a DER OCTET STRING around the uncompressed point (`04 41 04 x y`); some tokens give the
/// bare point. Returns the 65-byte uncompressed point.
fn ec_point(value: &[u8]) -> Result<&[u8], KeyError> {
    let raw = match value {
        [0x04, 0x41, rest @ ..] if rest.len() == 65 => rest,
        bare if bare.len() == 65 => bare,
        _ => return Err(KeyError::Unavailable(format!("unexpected CKA_EC_POINT of {} bytes", value.len()))),
    };
    if raw[0] != 0x04 {
        return Err(KeyError::Unavailable("EC point is not uncompressed".into()));
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_points_parse() {
        assert_eq!(parse_label(b"esignet:a:b:ES256:17"), Some(("a:b".into(), "ES256".into(), 17)));
        assert_eq!(parse_label(b"other:a:ES256:17"), None);
        assert_eq!(parse_label(b"esignet:a:ES256:x"), None);
        let mut der = vec![0x04, 0x41, 0x04];
        der.extend([7u8; 64]);
        assert_eq!(ec_point(&der).map(|p| p.len()).ok(), Some(65));
        assert!(ec_point(&der[..40]).is_err());
        assert_eq!(b64(&[0, 1, 0]), Value::String("AQA".into()));
    }
}
