//! Standard output that a closed reader does not crash: `auth-cli providers | head -1` must not
//! panic with "Broken pipe". A failed write is remembered and later output dropped, so that the
//! command still ends as it would have (its session saved, its renewals awaited); `main` then
//! exits quietly on a broken pipe, or reports any other write error.

use std::io::Write as _;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// The first write error, if any.
static FAILED: Mutex<Option<std::io::ErrorKind>> = Mutex::new(None);

/// Writes `text` to stdout and flushes, unless an earlier write failed.
pub fn write(text: &str) {
    let Ok(mut failed) = FAILED.lock() else {
        return;
    };
    if failed.is_some() {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(error) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        *failed = Some(error.kind());
    }
}

/// What went wrong writing to stdout: `None` when all was written or the reader went away (a
/// broken pipe is not an error of this program's), else the error.
pub fn error() -> Option<std::io::ErrorKind> {
    let failed = FAILED.lock().ok().and_then(|f| *f)?;
    (failed != std::io::ErrorKind::BrokenPipe).then_some(failed)
}

/// `println!` through [`write()`].
macro_rules! outln {
    () => {
        $crate::output::write("\n")
    };
    ($($arg:tt)*) => {
        $crate::output::write(&format!("{}\n", format_args!($($arg)*)))
    };
}
pub(crate) use outln;

/// RFC 3339 (UTC, whole seconds) of any wall time. Times past what RFC 3339 can write (after
/// 9999-12-30, the end of the date library's range) show as its last second; times before the
/// year 0 as its first. Before 1970 is written as it is.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    const LAST: &str = "9999-12-31T23:59:59Z";
    const FIRST: &str = "0000-01-01T00:00:00Z";
    match jiff::Timestamp::try_from(t) {
        Ok(ts) if ts.to_zoned(jiff::tz::TimeZone::UTC).year() < 0 => FIRST.to_owned(),
        Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Err(_) if t > UNIX_EPOCH => LAST.to_owned(),
        Err(_) => FIRST.to_owned(),
    }
}

pub(crate) fn print_json(value: &serde_json::Value) {
    outln!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn rfc3339_is_right_for_any_wall_time() {
        let at = |secs: u64| UNIX_EPOCH + Duration::from_secs(secs);
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(at(1_767_225_600)), "2026-01-01T00:00:00Z");
        assert_eq!(
            rfc3339(at(1_767_225_600) + Duration::from_millis(999)),
            "2026-01-01T00:00:00Z"
        );
        assert_eq!(rfc3339(at(253_402_207_200)), "9999-12-30T22:00:00Z");
        // Past what RFC 3339 and the date library can write: the last second, never 1970.
        assert_eq!(rfc3339(at(253_402_300_799)), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(at(1_000_000_000_000_000)), "9999-12-31T23:59:59Z");
        if let Some(far) = UNIX_EPOCH.checked_add(Duration::from_secs(i64::MAX as u64)) {
            assert_eq!(rfc3339(far), "9999-12-31T23:59:59Z");
        }
        // Before 1970 as it is; before the year 0, the first second RFC 3339 can write.
        let before = |secs: u64| UNIX_EPOCH.checked_sub(Duration::from_secs(secs));
        assert_eq!(
            before(1).map(rfc3339).as_deref(),
            Some("1969-12-31T23:59:59Z")
        );
        assert_eq!(
            before(62_167_219_200).map(rfc3339).as_deref(),
            Some("0000-01-01T00:00:00Z")
        );
        if let Some(t) = before(62_167_219_201) {
            assert_eq!(rfc3339(t), "0000-01-01T00:00:00Z");
        }
        if let Some(t) = before(1_000_000_000_000_000) {
            assert_eq!(rfc3339(t), "0000-01-01T00:00:00Z");
        }
    }
}
