//! Backoff between attempts: capped exponential with jitter, and `Retry-After`.

use std::time::{Duration, SystemTime};

use auth_spec::model::Retry;

/// The wait before attempt `attempt + 1` (attempt counts from 1): `initial * 2^(attempt-1)`
/// capped at `max`, then scaled by a random factor in [0.5, 1) so that many clients failing
/// together do not retry together.
pub fn backoff(retry: &Retry, attempt: u32) -> Duration {
    let exp = retry
        .initial_backoff
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    exp.min(retry.max_backoff)
        .mul_f64(0.5 + fastrand::f64() * 0.5)
}

/// A `Retry-After` header: delay-seconds or an HTTP-date.
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = auth_spec::timefmt::TimeFormat::HttpDate
        .parse_str(value)
        .ok()?;
    Some(at.duration_since(now).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let retry = Retry {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(300),
        };
        for _ in 0..100 {
            let first = backoff(&retry, 1);
            assert!(first >= Duration::from_millis(50) && first < Duration::from_millis(100));
            let third = backoff(&retry, 3);
            assert!(third >= Duration::from_millis(150) && third < Duration::from_millis(300));
            assert!(backoff(&retry, 40) < Duration::from_millis(300));
        }
    }

    #[test]
    fn retry_after_in_both_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        assert_eq!(retry_after("2", now), Some(Duration::from_secs(2)));
        assert_eq!(
            retry_after("Thu, 01 Jan 2026 00:00:05 GMT", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(retry_after("soon", now), None);
    }
}
