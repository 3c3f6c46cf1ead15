//! When to try again after a transient failure: exponential backoff with full
//! jitter, capped, never sooner than the server's `Retry-After`.
//!
//! Full jitter (a uniform delay in `[0, min(cap, base·2ⁿ)]`) spreads 88 phones that
//! lost the network at the same moment, so they do not all come back at once.

use std::time::Duration;

use rand::Rng;

/// Backoff settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffPolicy {
    /// The ceiling of the first retry's delay.
    pub base: Duration,
    /// The longest delay ever chosen by the backoff itself.
    pub cap: Duration,
    /// The longest `Retry-After` honoured; a server asking for more is capped here,
    /// so a misconfigured server cannot park the queue for days.
    pub max_retry_after: Duration,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(15 * 60),
            max_retry_after: Duration::from_secs(60 * 60),
        }
    }
}

impl BackoffPolicy {
    /// The delay before attempt `failures + 1`, after `failures` consecutive
    /// transient failures, given the server's `Retry-After` if it sent one.
    pub fn delay(
        &self,
        failures: u32,
        retry_after: Option<Duration>,
        rng: &mut impl Rng,
    ) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << failures.min(20).saturating_sub(1))
            .min(self.cap);
        let jittered = if exp.is_zero() {
            Duration::ZERO
        } else {
            Duration::from_millis(rng.random_range(0..=exp.as_millis() as u64))
        };
        match retry_after {
            Some(wait) => jittered.max(wait.min(self.max_retry_after)),
            None => jittered,
        }
    }
}

/// Reads a `Retry-After` header: delay-seconds, or an HTTP date judged against the
/// response's own `Date` header so that the phone's clock does not matter.
pub fn parse_retry_after(value: &str, server_date: Option<&str>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let now = match server_date.and_then(|d| httpdate::parse_http_date(d.trim()).ok()) {
        Some(server_now) => server_now,
        // No server clock to compare with: fall back to the phone's, the best we have.
        None => std::time::SystemTime::now(),
    };
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn delays_grow_exponentially_within_full_jitter_and_are_capped() {
        let policy = BackoffPolicy::default();
        let mut rng = StdRng::seed_from_u64(7);
        for failures in 1..30u32 {
            let ceiling = policy
                .base
                .saturating_mul(1 << (failures - 1).min(19))
                .min(policy.cap);
            let samples: Vec<Duration> = (0..200)
                .map(|_| policy.delay(failures, None, &mut rng))
                .collect();
            assert!(samples.iter().all(|d| *d <= ceiling), "failures={failures}");
            // Full jitter: spread over the whole range, not clustered at the top.
            let below_half = samples.iter().filter(|d| **d < ceiling / 2).count();
            assert!(
                (40..160).contains(&below_half),
                "failures={failures}: {below_half}/200 below half"
            );
        }
        assert!(policy.delay(40, None, &mut rng) <= policy.cap);
    }

    #[test]
    fn retry_after_is_a_floor_and_is_capped() {
        let policy = BackoffPolicy::default();
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..100 {
            assert!(
                policy.delay(1, Some(Duration::from_secs(30)), &mut rng) >= Duration::from_secs(30)
            );
        }
        let absurd = Some(Duration::from_secs(7 * 24 * 3600));
        assert_eq!(policy.delay(1, absurd, &mut rng), policy.max_retry_after);
    }

    #[test]
    fn retry_after_dates_are_judged_by_the_server_clock() {
        // The phone's clock may be hours off; only the server's two dates matter.
        let wait = parse_retry_after(
            "Sun, 29 Nov 2026 10:00:30 GMT",
            Some("Sun, 29 Nov 2026 10:00:00 GMT"),
        );
        assert_eq!(wait, Some(Duration::from_secs(30)));
        assert_eq!(
            parse_retry_after(" 120 ", None),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after("soon", None), None);
        let past = parse_retry_after(
            "Sun, 29 Nov 2026 09:00:00 GMT",
            Some("Sun, 29 Nov 2026 10:00:00 GMT"),
        );
        assert_eq!(past, Some(Duration::ZERO));
    }
}
