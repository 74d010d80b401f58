//! The injectable clock.
//!
//! Functions in this crate that depend on time take the current time as a plain parameter (`now` in epoch
//! seconds, `now_ms` in epoch milliseconds) so tests can pin it. Components that want an object to pass around
//! use the [`Clock`] trait: [`SystemClock`] in production, [`FixedClock`] in tests.

use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time.
pub trait Clock {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;

    /// Whole seconds since the Unix epoch (floor).
    fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }
}

/// The system's wall clock (WASI `wall-clock` inside a component).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
        }
    }
}

/// A clock stopped at a given instant (milliseconds since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now_ms(&self) -> i64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_clock_floors_seconds() {
        assert_eq!(FixedClock(1_700_000_000_999).now(), 1_700_000_000);
        assert_eq!(FixedClock(-1).now(), -1);
    }

    #[test]
    fn system_clock_is_after_2024() {
        assert!(SystemClock.now() > 1_704_067_200);
    }
}
