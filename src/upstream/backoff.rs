//! Retry waits: capped exponential backoff with full jitter, and `Retry-After`.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// A random wait in `[0, min(cap, base × 2^(retry−1))]` for retry number `retry` (from 1).
pub fn full_jitter(retry: u32, base: Duration, cap: Duration, unit: f64) -> Duration {
    let exp = base.saturating_mul(2u32.saturating_pow(retry.saturating_sub(1).min(30)));
    exp.min(cap).mul_f64(unit.clamp(0.0, 1.0))
}

/// `Retry-After` as delta-seconds or an HTTP date; `None` when absent or unreadable.
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let date = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((date - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BASE: Duration = Duration::from_millis(500);
    const CAP: Duration = Duration::from_secs(30);

    #[test]
    fn the_ceiling_doubles_each_retry_until_the_cap() {
        assert_eq!(full_jitter(1, BASE, CAP, 1.0), Duration::from_millis(500));
        assert_eq!(full_jitter(2, BASE, CAP, 1.0), Duration::from_secs(1));
        assert_eq!(full_jitter(4, BASE, CAP, 1.0), Duration::from_secs(4));
        assert_eq!(full_jitter(20, BASE, CAP, 1.0), CAP);
        assert_eq!(full_jitter(1, BASE, CAP, 0.0), Duration::ZERO);
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now: DateTime<Utc> = "2026-11-23T10:00:00Z".parse().unwrap();
        assert_eq!(retry_after("1", now), Some(Duration::from_secs(1)));
        assert_eq!(
            retry_after("Mon, 23 Nov 2026 10:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            retry_after("Mon, 23 Nov 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
    }

    proptest! {
        #[test]
        fn a_wait_never_exceeds_the_cap(retry in 0u32..100, unit in 0.0f64..1.0) {
            prop_assert!(full_jitter(retry, BASE, CAP, unit) <= CAP);
        }
    }
}
