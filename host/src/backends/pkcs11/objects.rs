//! The objects this host keeps in a PKCS#11 token: the templates of its key pairs (private halves sensitive and
//! never extractable), their labels (`esignet:<purpose>:<alg>:<created epoch>`), the check that a private key
//! cannot be read out, and the conversion of public key objects into JWKs.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, ObjectHandle};
use cryptoki::session::Session;
use josekit::jwk::Jwk;
use serde_json::{Map, Value};

use super::token::OpError;
use crate::backends::KeyError;

/// DER encoding of the P-256 curve OID (1.2.840.10045.3.1.7), the `CKA_EC_PARAMS` of an ES256 key.
const P256_PARAMS: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// Label prefix of the key pairs this host owns; the rest is `<purpose>:<alg>:<created epoch>`.
const PREFIX: &str = "esignet:";

/// What `C_GenerateKeyPair` needs for a new pair of (purpose, alg).
pub struct PairTemplate {
    pub label: String,
    pub mechanism: Mechanism<'static>,
    pub public: Vec<Attribute>,
    pub private: Vec<Attribute>,
}

/// The templates of a new key pair. `CKA_LABEL` is `esignet:<purpose>:<alg>:<created>`; `CKA_ID` adds a random
/// suffix so that two replicas generating in the same second still make pairs that can be told apart.
pub fn pair_template(purpose: &str, alg: &str, created: i64) -> Result<PairTemplate, KeyError> {
    let label = format!("{PREFIX}{purpose}:{alg}:{created}");
    let id = format!("{label}:{}", hex::encode(rand::random::<[u8; 8]>())).into_bytes();
    let common = |private: bool| {
        vec![
            Attribute::Token(true),
            Attribute::Private(private),
            Attribute::Label(label.clone().into_bytes()),
            Attribute::Id(id.clone()),
        ]
    };
    let (mut public, mut private) = (common(false), common(true));
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
    Ok(PairTemplate { label, mechanism, public, private })
}

/// Refuses a private key that the token would let anyone read: it must be sensitive and not extractable.
pub fn check_unreadable(s: &Session, private: ObjectHandle) -> Result<(), OpError> {
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
pub fn parse_label(label: &[u8]) -> Option<(String, String, i64)> {
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
pub fn public_jwk(s: &Session, public: ObjectHandle, alg: &str) -> Result<Jwk, OpError> {
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
