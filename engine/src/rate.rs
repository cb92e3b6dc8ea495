//! Per-connection token bucket: sustained `rate` requests per second with bursts of `burst`.

use std::time::Instant;

pub struct RateLimiter {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
    /// Requests refused in the current one-second window; a client that keeps sending regardless
    /// is disconnected.
    window_start: Instant,
    refused_in_window: u32,
}

/// What to do with a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Refuse with `rate_limited`; retry after this many milliseconds.
    Refuse(u32),
    /// The client keeps flooding; close the connection.
    Disconnect,
}

/// Refusals within one second tolerated before the connection is closed.
const MAX_REFUSED_PER_SECOND: u32 = 1000;

impl RateLimiter {
    pub fn new(rate: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            rate: rate.max(1) as f64,
            burst: burst.max(1) as f64,
            tokens: burst.max(1) as f64,
            last: Instant::now(),
            window_start: Instant::now(),
            refused_in_window: 0,
        }
    }

    pub fn check(&mut self, now: Instant) -> Verdict {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Verdict::Allow;
        }
        if now.saturating_duration_since(self.window_start).as_secs_f64() >= 1.0 {
            self.window_start = now;
            self.refused_in_window = 0;
        }
        self.refused_in_window += 1;
        if self.refused_in_window > MAX_REFUSED_PER_SECOND {
            return Verdict::Disconnect;
        }
        let wait = ((1.0 - self.tokens) / self.rate * 1000.0).ceil() as u32;
        Verdict::Refuse(wait.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn allows_burst_then_refuses_then_refills() {
        let t0 = Instant::now();
        let mut r = RateLimiter::new(10, 5);
        for _ in 0..5 {
            assert_eq!(r.check(t0), Verdict::Allow);
        }
        assert!(matches!(r.check(t0), Verdict::Refuse(ms) if ms > 0 && ms <= 100));
        assert_eq!(r.check(t0 + Duration::from_millis(150)), Verdict::Allow);
    }

    #[test]
    fn persistent_flood_disconnects() {
        let t0 = Instant::now();
        let mut r = RateLimiter::new(1, 1);
        r.check(t0);
        let verdicts: Vec<_> = (0..=MAX_REFUSED_PER_SECOND).map(|_| r.check(t0)).collect();
        assert_eq!(verdicts.last(), Some(&Verdict::Disconnect));
    }
}
