//! EME-OAEP decoding (RFC 8017 §7.1.2 step 3) with SHA-256, MGF1-SHA-256 and an empty label, for tokens whose
//! `CKM_RSA_PKCS_OAEP` knows only SHA-1 (SoftHSM 2.6): the token still does the private-key operation
//! (`CKM_RSA_X_509`) and only the unpadding of its output happens here. The checks run over every byte without
//! early exits, and callers turn any failure into the same outcome as a wrong key (RFC 7516 §11.5), so neither
//! timing nor errors tell an attacker which check failed.

use sha2::{Digest, Sha256};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

const H: usize = 32;

/// MGF1 with SHA-256: `len` bytes of mask from `seed`.
fn mgf1(seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + H);
    let mut counter = 0u32;
    while out.len() < len {
        let mut h = Sha256::new();
        h.update(seed);
        h.update(counter.to_be_bytes());
        out.extend_from_slice(&h.finalize());
        counter = counter.wrapping_add(1);
    }
    out.truncate(len);
    out
}

fn xor_into(target: &mut [u8], mask: &[u8]) {
    for (t, m) in target.iter_mut().zip(mask) {
        *t ^= m;
    }
}

/// Decodes an encoded message `em` of the modulus' length into the message, or `None` if it is not valid.
pub fn decode(em: &[u8]) -> Option<Vec<u8>> {
    if em.len() < 2 * H + 2 {
        return None;
    }
    let (masked_seed, masked_db) = em[1..].split_at(H);
    let mut seed = masked_seed.to_vec();
    xor_into(&mut seed, &mgf1(masked_db, H));
    let mut db = masked_db.to_vec();
    xor_into(&mut db, &mgf1(&seed, masked_db.len()));

    let label_hash = Sha256::digest(b"");
    let mut valid = em[0].ct_eq(&0) & db[..H].ct_eq(label_hash.as_slice());
    // After the label hash: zero or more 0x00, then 0x01, then the message.
    let mut found = Choice::from(0);
    let mut bad_padding = Choice::from(0);
    let mut separator = 0u32;
    for (i, byte) in db[H..].iter().enumerate() {
        let (is_zero, is_one) = (byte.ct_eq(&0), byte.ct_eq(&1));
        bad_padding |= !found & !is_zero & !is_one;
        separator.conditional_assign(&(i as u32), !found & is_one);
        found |= is_one;
    }
    valid &= found & !bad_padding;
    if bool::from(valid) {
        Some(db[H + separator as usize + 1..].to_vec())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// EME-OAEP encoding (RFC 8017 §7.1.1 step 2), only to test the decoder.
    fn encode(message: &[u8], k: usize, seed: [u8; H]) -> Vec<u8> {
        let mut db = Sha256::digest(b"").to_vec();
        db.resize(k - message.len() - H - 2, 0);
        db.push(1);
        db.extend_from_slice(message);
        let mask = mgf1(&seed, db.len());
        xor_into(&mut db, &mask);
        let mut masked_seed = seed.to_vec();
        xor_into(&mut masked_seed, &mgf1(&db, H));
        [vec![0u8], masked_seed, db].concat()
    }

    #[test]
    fn decodes_what_was_encoded_and_nothing_damaged() {
        for message in [&b""[..], b"k", &[7u8; 32], &[1u8; 190]] {
            let em = encode(message, 256, [9; H]);
            assert_eq!(decode(&em).as_deref(), Some(message));
            for at in [0, 5, 40, 100, 255] {
                let mut bad = em.clone();
                bad[at] ^= 0x10;
                assert_ne!(decode(&bad).as_deref(), Some(message), "byte {at}");
            }
        }
        assert_eq!(decode(&[0u8; 40]), None);
        assert_eq!(mgf1(b"x", 70).len(), 70);
    }
}
