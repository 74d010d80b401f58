//! Randomness, injectable for tests.
//!
//! Identifier generators take a `&mut dyn RandomSource`. [`OsRandom`] draws from the operating system
//! (`getrandom`; inside a wasm32-wasip2 component that is `wasi:random/random`, imported directly). Tests pass a deterministic source.

use crate::error::EsignetError;

/// A source of random bytes.
pub trait RandomSource {
    /// Fills `buf` with random bytes.
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), EsignetError>;
}

/// The operating system's CSPRNG.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), EsignetError> {
        getrandom::fill(buf).map_err(|_| EsignetError::UnknownError)
    }
}

/// Fills a fresh array from `rng`.
pub(crate) fn random_bytes<const N: usize>(
    rng: &mut dyn RandomSource,
) -> Result<[u8; N], EsignetError> {
    let mut b = [0u8; N];
    rng.fill(&mut b)?;
    Ok(b)
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    /// Deterministic bytes: 0, 1, 2, ... (wrapping), continuing across calls.
    #[derive(Default)]
    pub struct CountingRandom(pub u8);

    impl RandomSource for CountingRandom {
        fn fill(&mut self, buf: &mut [u8]) -> Result<(), EsignetError> {
            for b in buf {
                *b = self.0;
                self.0 = self.0.wrapping_add(1);
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_random_differs_between_draws() {
        let a: [u8; 32] = random_bytes(&mut OsRandom).unwrap();
        let b: [u8; 32] = random_bytes(&mut OsRandom).unwrap();
        assert_ne!(a, b);
    }
}
