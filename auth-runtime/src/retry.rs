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

/// A `Retry-After` header: delay-seconds or an HTTP-date. A vendor's value is untrusted: a
/// delay too large for a `u64` is `Duration::MAX` (beyond any retry budget), a date in the past
/// is zero, and anything else (a sign, a fraction, garbage) is `None`, as if there were none.
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(
            value
                .parse::<u64>()
                .map_or(Duration::MAX, Duration::from_secs),
        );
    }
    match auth_spec::timefmt::TimeFormat::HttpDate.parse_str(value) {
        Ok(at) => Some(at.duration_since(now).unwrap_or_default()),
        // Dates past the year 9999 cannot be represented; they are beyond any budget.
        Err(_) if http_date_year(value).is_some_and(|year| year >= 9999) => Some(Duration::MAX),
        Err(_) => None,
    }
}

/// The year of something shaped like an HTTP-date (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn http_date_year(value: &str) -> Option<u64> {
    let fields: Vec<&str> = value.split_whitespace().collect();
    match fields.as_slice() {
        [_, day, _, year, _, "GMT"] if day.bytes().all(|b| b.is_ascii_digit()) => {
            year.parse().ok().or_else(|| {
                // Too many digits for a u64: far in the future all the same.
                (!year.is_empty() && year.bytes().all(|b| b.is_ascii_digit())).then_some(u64::MAX)
            })
        }
        _ => None,
    }
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

    /// Issue 8, item 10: vendor numbers are range-checked. Huge delays are over any budget,
    /// dates far ahead or long past neither panic nor wrap, and garbage is ignored.
    #[test]
    fn retry_after_out_of_range_values() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600);
        for huge in [
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999999999999999",
            "Fri, 31 Dec 9999 23:59:59 GMT",
            "Fri, 31 Dec 99999 23:59:59 GMT",
            "Fri, 31 Dec 999999999999999999999999 23:59:59 GMT",
        ] {
            let asked = retry_after(huge, now).unwrap_or_else(|| panic!("{huge}: over budget"));
            assert!(
                asked > Duration::from_secs(1_000_000_000),
                "{huge}: {asked:?}"
            );
        }
        assert_eq!(retry_after("0", now), Some(Duration::ZERO));
        // Past dates mean "now" (or, if the date reader refuses them, no hint at all).
        for past in [
            "Thu, 01 Jan 1970 00:00:00 GMT",
            "Mon, 01 Jan 0001 00:00:00 GMT",
        ] {
            let asked = retry_after(past, now);
            assert!(asked.is_none_or(|d| d.is_zero()), "{past}: {asked:?}");
        }
        for garbage in [
            "-5",
            "-0",
            "1e9",
            "1.5",
            "+3",
            " ",
            "",
            "Fri, 32 Dec 2025 25:61:61 GMT",
            "Fri, 31 Dec -9999 23:59:59 GMT",
            "\u{0}",
            "NaN",
            "inf",
        ] {
            assert_eq!(retry_after(garbage, now), None, "{garbage}");
        }
        // A wall clock before the epoch or far ahead does not break the date form either.
        let long_ago = SystemTime::UNIX_EPOCH - Duration::from_secs(86_400 * 365 * 100);
        assert!(retry_after("Thu, 01 Jan 2026 00:00:05 GMT", long_ago).is_some());
    }
}
