//! Reconnect delays: exponential with jitter, so that thousands of clients dropped at once do
//! not all come back in the same millisecond.

use rand::Rng;
use std::time::Duration;

/// How long to wait between reconnection attempts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReconnectPolicy {
    /// Delay before the first retry.
    pub initial: Duration,
    /// Largest delay; doubling stops here.
    pub max: Duration,
    /// Fraction of each delay that is randomised, 0.0 (none) ..= 1.0 (anywhere from 0 to the
    /// full delay). Values outside are clamped.
    pub jitter: f64,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy { initial: Duration::from_millis(100), max: Duration::from_secs(5), jitter: 0.5 }
    }
}

impl ReconnectPolicy {
    /// The un-jittered delay before retry number `attempt` (0-based).
    pub fn base_delay(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// The delay before retry `attempt`, with `unit` (uniform in 0..1) taking off up to the
    /// jitter fraction.
    pub(crate) fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let jitter = self.jitter.clamp(0.0, 1.0);
        self.base_delay(attempt).mul_f64(1.0 - jitter * unit.clamp(0.0, 1.0))
    }
}

/// The retry counter of one client.
#[derive(Debug)]
pub(crate) struct Backoff {
    policy: ReconnectPolicy,
    attempt: u32,
}

impl Backoff {
    pub(crate) fn new(policy: ReconnectPolicy) -> Self {
        Backoff { policy, attempt: 0 }
    }

    pub(crate) fn next_delay(&mut self) -> Duration {
        let d = self.policy.delay(self.attempt, rand::rng().random::<f64>());
        self.attempt = self.attempt.saturating_add(1);
        d
    }

    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap() {
        let p = ReconnectPolicy::default();
        let ms: Vec<u128> = (0..10).map(|a| p.base_delay(a).as_millis()).collect();
        assert_eq!(ms, [100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000]);
        assert_eq!(p.base_delay(u32::MAX), p.max);
    }

    #[test]
    fn jitter_only_shortens_within_its_fraction() {
        let p = ReconnectPolicy { jitter: 0.5, ..Default::default() };
        assert_eq!(p.delay(0, 0.0), Duration::from_millis(100));
        assert_eq!(p.delay(0, 1.0), Duration::from_millis(50));
        let none = ReconnectPolicy { jitter: 0.0, ..Default::default() };
        assert_eq!(none.delay(3, 0.7), Duration::from_millis(800));
        let wild = ReconnectPolicy { jitter: 7.0, ..Default::default() };
        assert_eq!(wild.delay(0, 1.0), Duration::ZERO);
    }

    #[test]
    fn backoff_grows_and_resets() {
        let mut b = Backoff::new(ReconnectPolicy::default());
        for attempt in 0..8 {
            let d = b.next_delay();
            let base = ReconnectPolicy::default().base_delay(attempt);
            assert!(d <= base && d >= base / 2, "attempt {attempt}: {d:?} vs {base:?}");
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }
}
