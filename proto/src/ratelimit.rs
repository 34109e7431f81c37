//! A token bucket, sans-IO: the caller passes the time. `rate` tokens per second refill a bucket
//! of `burst` tokens; each request takes one. Used per client by the server's rate limit.

use std::time::Duration;

/// One client's bucket.
#[derive(Debug, Clone, Copy)]
pub struct TokenBucket {
    tokens: f64,
    last: Duration,
    rate: f64,
    burst: f64,
}

impl TokenBucket {
    /// A full bucket at time `now` (any monotonic clock, as a duration since its origin).
    pub fn new(rate_per_sec: f64, burst: u32, now: Duration) -> Self {
        let burst = f64::from(burst.max(1));
        TokenBucket {
            tokens: burst,
            last: now,
            rate: rate_per_sec.max(0.0),
            burst,
        }
    }

    /// Take a token at `now`: `Ok(())`, or `Err(wait)` with how long until one is available.
    pub fn take(&mut self, now: Duration) -> Result<(), Duration> {
        let elapsed = now.saturating_sub(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        if self.rate <= 0.0 {
            return Err(Duration::from_secs(3600));
        }
        Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_rate() {
        let t0 = Duration::from_secs(100);
        let mut b = TokenBucket::new(10.0, 3, t0);
        assert!(b.take(t0).is_ok() && b.take(t0).is_ok() && b.take(t0).is_ok());
        let wait = b.take(t0).unwrap_err();
        assert!(
            wait > Duration::from_millis(90) && wait <= Duration::from_millis(100),
            "{wait:?}"
        );
        assert!(b.take(t0 + Duration::from_millis(100)).is_ok());
        assert!(b.take(t0 + Duration::from_millis(100)).is_err());
        // Refill never exceeds the burst.
        let later = t0 + Duration::from_secs(60);
        assert!((0..3).all(|_| b.take(later).is_ok()));
        assert!(b.take(later).is_err());
    }
}
