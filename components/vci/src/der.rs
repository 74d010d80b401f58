//! Just enough DER to take the public key out of an X.509 certificate (RFC 5280 §4.1) for a proof's `x5c`
//! header, as a JWK: EC P-256 (`id-ecPublicKey` + `prime256v1`, uncompressed point), RSA
//! (`rsaEncryption`) and Ed25519. No chain, validity or name is checked: the certificate only carries the
//! holder's key (OpenID4VCI App. F.1), which the proof's signature then has to match.

use esignet_core::hashing::b64url;
use serde_json::{json, Value};

const SEQUENCE: u8 = 0x30;
const BIT_STRING: u8 = 0x03;
const INTEGER: u8 = 0x02;
const OID: u8 = 0x06;
const VERSION: u8 = 0xA0;

const OID_EC: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
const OID_P256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
const OID_RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];
const OID_ED25519: &[u8] = &[0x2B, 0x65, 0x70];

/// A cursor over DER elements.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// The next element's tag and contents.
    fn next(&mut self) -> Option<(u8, &'a [u8])> {
        let (&tag, rest) = self.0.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7F);
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, &rest[n..])
        };
        if rest.len() < len {
            return None;
        }
        let (contents, after) = rest.split_at(len);
        self.0 = after;
        Some((tag, contents))
    }

    /// The next element, which must have `tag`.
    fn expect(&mut self, tag: u8) -> Option<&'a [u8]> {
        match self.next()? {
            (t, c) if t == tag => Some(c),
            _ => None,
        }
    }
}

fn unsigned(int: &[u8]) -> &[u8] {
    let mut i = int;
    while i.len() > 1 && i[0] == 0 {
        i = &i[1..];
    }
    i
}

/// The JWK of a `SubjectPublicKeyInfo`'s contents.
fn spki_jwk(spki: &[u8]) -> Option<Value> {
    let mut r = Reader(spki);
    let mut alg = Reader(r.expect(SEQUENCE)?);
    let oid = alg.expect(OID)?;
    let bits = r.expect(BIT_STRING)?;
    let (&unused, key) = bits.split_first()?;
    if unused != 0 {
        return None;
    }
    if oid == OID_EC {
        if alg.expect(OID)? != OID_P256 || key.len() != 65 || key[0] != 0x04 {
            return None;
        }
        return Some(
            json!({"kty": "EC", "crv": "P-256", "x": b64url(&key[1..33]), "y": b64url(&key[33..])}),
        );
    }
    if oid == OID_RSA {
        let mut outer = Reader(key);
        let mut ints = Reader(outer.expect(SEQUENCE)?);
        let n = unsigned(ints.expect(INTEGER)?);
        let e = unsigned(ints.expect(INTEGER)?);
        return Some(json!({"kty": "RSA", "n": b64url(n), "e": b64url(e)}));
    }
    if oid == OID_ED25519 && key.len() == 32 {
        return Some(json!({"kty": "OKP", "crv": "Ed25519", "x": b64url(key)}));
    }
    None
}

/// The public key of a DER certificate as a JWK; `None` for anything else or an unsupported key type.
pub fn certificate_jwk(der: &[u8]) -> Option<Value> {
    let mut cert = Reader(Reader(der).expect(SEQUENCE)?);
    let mut tbs = Reader(cert.expect(SEQUENCE)?);
    let mut element = tbs.next()?;
    if element.0 == VERSION {
        element = tbs.next()?;
    }
    if element.0 != INTEGER {
        return None;
    }
    for _ in 0..4 {
        tbs.expect(SEQUENCE)?; // signature algorithm, issuer, validity, subject
    }
    spki_jwk(tbs.expect(SEQUENCE)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    /// A self-signed P-256 certificate made for this test (Python `cryptography`).
    const EC_CERT: &str = "MIIBDjCBtqADAgECAgIwOTAKBggqhkjOPQQDAjARMQ8wDQYDVQQDDAZob2xkZXIwHhcNMjYxMjAzMDAwMDAwWhcNMzYxMTMwMDAwMDAwWjARMQ8wDQYDVQQDDAZob2xkZXIwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAT1NdIfPPMNT5KQDUt9i0R9dG3KKA4USgZVbYIqrRDX/plWYYEjFhhu0N1tcJfGhpfbNdLSlw7ioqTGxSgocW5VMAoGCCqGSM49BAMCA0cAMEQCIEFoTVPeSfgIZXW/w5U8igRlxBirEr56pWbPjz2NICxDAiBOHaA4xzaFJD1ZCI+Xl6CbTPq6iZgrZSHA1SyKjOuYlw==";

    #[test]
    fn reads_an_ec_certificate_key() {
        let der = STANDARD.decode(EC_CERT).unwrap();
        let jwk = certificate_jwk(&der).unwrap();
        assert_eq!(jwk["kty"], "EC");
        assert_eq!(jwk["crv"], "P-256");
        assert_eq!(jwk["x"], "9TXSHzzzDU-SkA1LfYtEfXRtyigOFEoGVW2CKq0Q1_4");
    }

    #[test]
    fn refuses_garbage() {
        assert!(certificate_jwk(&[]).is_none());
        assert!(certificate_jwk(&[0x30, 0x03, 0x02, 0x01, 0x01]).is_none());
        assert!(certificate_jwk(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
        let der = STANDARD.decode(EC_CERT).unwrap();
        assert!(certificate_jwk(&der[..der.len() / 2]).is_none());
    }

    #[test]
    fn reads_rsa_and_ed25519_spki() {
        // SEQUENCE { SEQUENCE { OID rsaEncryption, NULL }, BIT STRING { SEQUENCE { INTEGER 00 c3, INTEGER 01 00 01 } } }
        let rsa = [
            0x30, 0x1D, 0x30, 0x0D, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01,
            0x01, 0x05, 0x00, 0x03, 0x0C, 0x00, 0x30, 0x09, 0x02, 0x02, 0x00, 0xC3, 0x02, 0x03,
            0x01, 0x00, 0x01,
        ];
        let mut r = Reader(&rsa);
        let jwk = spki_jwk(r.expect(SEQUENCE).unwrap()).unwrap();
        assert_eq!(jwk, json!({"kty": "RSA", "n": "ww", "e": "AQAB"}));
        let mut ed = vec![
            0x30, 0x2A, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        ed.extend([7u8; 32]);
        let mut r = Reader(&ed);
        assert_eq!(
            spki_jwk(r.expect(SEQUENCE).unwrap()).unwrap()["crv"],
            "Ed25519"
        );
    }
}
