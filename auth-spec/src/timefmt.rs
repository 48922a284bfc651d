//! Absolute expiry times in the formats vendors use: epoch seconds or milliseconds (Java
//! timestamps), RFC 3339 / ISO 8601 with fractions, HTTP-date, and strftime patterns read in a
//! declared time zone.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::Value;

/// A time zone declared in a spec for times written without an offset.
#[derive(Clone)]
pub struct Zone {
    name: String,
    tz: TimeZone,
}

impl Zone {
    /// UTC.
    pub fn utc() -> Self {
        Self {
            name: "UTC".into(),
            tz: TimeZone::UTC,
        }
    }

    /// Parses `UTC`, a fixed offset (`+02:00`, `-0530`) or an IANA name (`Europe/Warsaw`).
    pub fn parse(name: &str) -> Result<Self, String> {
        let tz = if name.eq_ignore_ascii_case("utc") || name == "Z" {
            TimeZone::UTC
        } else if name.starts_with(['+', '-']) {
            // Read the offset by parsing a known instant written with it: 2000-01-01T00:00:00Z is
            // 946684800 s after the epoch, so the difference is the offset.
            let bad = || format!("`{name}` is not an offset like +02:00");
            let probe: Timestamp = format!("2000-01-01T00:00:00{name}")
                .parse()
                .map_err(|_| bad())?;
            let seconds = i32::try_from(946_684_800 - probe.as_second()).map_err(|_| bad())?;
            TimeZone::fixed(jiff::tz::Offset::from_seconds(seconds).map_err(|_| bad())?)
        } else {
            TimeZone::get(name).map_err(|_| {
                format!("`{name}` is not a time zone: use UTC, an offset like +02:00, or an IANA name like Europe/Warsaw")
            })?
        };
        Ok(Self {
            name: name.to_owned(),
            tz,
        })
    }

    /// The name as declared.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `timezone: unknown`: the vendor's document does not say. Times are read in the zone
    /// farthest east (UTC+14:00), which gives the earliest instant the text can mean, so a token
    /// is never used past its end for want of the zone (see [`crate::extract::Expiry::AtEarliest`]).
    pub fn unknown() -> Self {
        let east = jiff::tz::Offset::from_seconds(14 * 3600).unwrap_or(jiff::tz::Offset::UTC);
        Self {
            name: Self::UNKNOWN.into(),
            tz: TimeZone::fixed(east),
        }
    }

    /// The name of the unknown zone in a spec.
    pub const UNKNOWN: &'static str = "unknown";

    /// Whether this is [`Zone::unknown`].
    pub fn is_unknown(&self) -> bool {
        self.name == Self::UNKNOWN
    }
}

/// Whether a strftime pattern reads an offset or zone from the text (`%z`, `%:z`, `%Z`, `%Q`,
/// ...): only patterns without one need a declared `timezone`.
pub fn pattern_has_offset(pattern: &str) -> bool {
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            continue;
        }
        // Flags and widths may come between `%` and the directive (`%:z`, `%::z`, `%-5Q`).
        for d in chars.by_ref() {
            match d {
                'z' | 'Z' | 'Q' => return true,
                ':' | '-' | '_' | '^' | '#' | '0'..='9' => continue,
                _ => break,
            }
        }
    }
    false
}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Zone({})", self.name)
    }
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

/// How an absolute time is written.
#[derive(Debug, Clone, PartialEq)]
pub enum TimeFormat {
    /// Seconds since the Unix epoch.
    EpochSeconds,
    /// Milliseconds since the Unix epoch (a Java timestamp).
    EpochMilliseconds,
    /// RFC 3339, fractions allowed.
    Rfc3339,
    /// HTTP-date: `Sun, 22 Nov 2026 10:00:00 GMT`.
    HttpDate,
    /// A strftime pattern; times without an offset are read in `zone`.
    Pattern {
        /// The strftime pattern, e.g. `%Y-%m-%d %H:%M:%S`.
        pattern: String,
        /// Zone for times without an offset.
        zone: Zone,
    },
}

impl TimeFormat {
    /// Whether values of this format are numbers (else strings).
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            TimeFormat::EpochSeconds | TimeFormat::EpochMilliseconds
        )
    }

    /// Writes `at` in this format (what a vendor would send); the inverse of
    /// [`TimeFormat::parse_value`], used by simulators.
    pub fn render(&self, at: SystemTime) -> Value {
        // Clamped as parsing clamps, so a far-future time is written as the latest one, not 1970.
        let at = at.min(latest_expiry());
        let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
        let timestamp = Timestamp::try_from(at).unwrap_or(Timestamp::UNIX_EPOCH);
        match self {
            TimeFormat::EpochSeconds => Value::from(since.as_secs()),
            TimeFormat::EpochMilliseconds => {
                Value::from(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
            }
            TimeFormat::Rfc3339 => Value::from(timestamp.to_string()),
            TimeFormat::HttpDate => Value::from(
                jiff::fmt::rfc2822::DateTimePrinter::new()
                    .timestamp_to_rfc9110_string(&timestamp)
                    .unwrap_or_default(),
            ),
            TimeFormat::Pattern { pattern, zone } => Value::from(
                jiff::fmt::strtime::format(pattern, &timestamp.to_zoned(zone.tz.clone()))
                    .unwrap_or_default(),
            ),
        }
    }

    /// Reads a JSON value written in this format. Times before 1970 and values that are no time
    /// are errors; times after [`latest_expiry`] are clamped to it.
    pub fn parse_value(&self, value: &Value) -> Result<SystemTime, String> {
        match self {
            TimeFormat::EpochSeconds | TimeFormat::EpochMilliseconds => {
                let number = number_of(value)
                    .ok_or_else(|| format!("expected a number, found {}", kind_of(value)))?;
                epoch_time(number, *self == TimeFormat::EpochMilliseconds)
            }
            _ => {
                let text = value
                    .as_str()
                    .ok_or_else(|| format!("expected a string, found {}", kind_of(value)))?;
                self.parse_str(text)
            }
        }
    }

    /// Reads a time written in this format, with the range rules of [`TimeFormat::parse_value`].
    pub fn parse_str(&self, text: &str) -> Result<SystemTime, String> {
        let timestamp = match self {
            TimeFormat::EpochSeconds | TimeFormat::EpochMilliseconds => {
                let number: f64 = text
                    .trim()
                    .parse()
                    .map_err(|_| format!("`{text}` is not a number"))?;
                return self.parse_value(&Value::from(number));
            }
            TimeFormat::Rfc3339 => match text.parse::<Timestamp>() {
                Ok(ts) => ts,
                Err(e) => rfc3339_beyond_latest(text)
                    .ok_or_else(|| format!("`{text}` is not an RFC 3339 time: {e}"))?,
            },
            TimeFormat::HttpDate => match jiff::fmt::rfc2822::parse(text) {
                Ok(z) => z.timestamp(),
                Err(e) => jiff::fmt::strtime::parse(IMF_FIXDATE, text)
                    .ok()
                    .and_then(|broken| {
                        beyond_latest(broken.to_datetime().ok()?, jiff::tz::Offset::UTC)
                    })
                    .ok_or_else(|| format!("`{text}` is not an HTTP-date: {e}"))?,
            },
            TimeFormat::Pattern { pattern, zone } => {
                let broken = jiff::fmt::strtime::parse(pattern, text)
                    .or_else(|e| {
                        // `%z` and `%:z` need minutes in jiff; vendors (and PostgreSQL) write
                        // offsets with hours only (`+00`, `-05`): read those too.
                        hours_only_offsets(pattern)
                            .and_then(|relaxed| jiff::fmt::strtime::parse(relaxed, text).ok())
                            .ok_or(e)
                    })
                    .map_err(|e| format!("`{text}` does not match `{pattern}`: {e}"))?;
                let offset = broken
                    .offset()
                    .unwrap_or_else(|| zone.tz.to_offset(Timestamp::MAX));
                let converted = match broken.to_timestamp() {
                    Ok(ts) => Ok(ts),
                    Err(_) => broken
                        .to_datetime()
                        .and_then(|dt| dt.to_zoned(zone.tz.clone()))
                        .map(|z| z.timestamp()),
                };
                match converted {
                    Ok(ts) => ts,
                    Err(e) => broken
                        .to_datetime()
                        .ok()
                        .and_then(|dt| beyond_latest(dt, offset))
                        .ok_or_else(|| format!("`{text}` does not match `{pattern}`: {e}"))?,
                }
            }
        };
        in_range(timestamp).ok_or_else(|| format!("`{text}` is before 1970"))
    }
}

/// `pattern` with its `%z` and `%:z` offsets replaced by `%:::z` (hours, then optional `:MM`), or
/// `None` when it has neither. A literal `%%` is skipped, so `%%z` stays text.
fn hours_only_offsets(pattern: &str) -> Option<String> {
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut rest = pattern;
    let mut changed = false;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let directive = &rest[at..];
        let taken = if directive.starts_with("%%") {
            out.push_str("%%");
            2
        } else if directive.starts_with("%z") || directive.starts_with("%:z") {
            out.push_str("%:::z");
            changed = true;
            if directive.starts_with("%z") { 2 } else { 3 }
        } else {
            out.push('%');
            1
        };
        rest = &directive[taken..];
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// Seconds since the epoch of [`latest_expiry`]: jiff's latest timestamp, whole seconds.
const LATEST_SECOND: i64 = 253_402_207_200;

/// The latest absolute expiry this crate yields: 9999-12-30T22:00:00Z, the last instant that can
/// be written as a date in every time zone. Later times (vendors write `9999-12-31T23:59:59Z`
/// or huge numbers for "never") are clamped to it, so every expiry can be shown and stored.
pub fn latest_expiry() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(LATEST_SECOND.unsigned_abs())
}

/// `at` clamped to [`latest_expiry`], or `None` before 1970.
fn in_range(at: Timestamp) -> Option<SystemTime> {
    if at < Timestamp::UNIX_EPOCH {
        return None;
    }
    let latest = Timestamp::constant(LATEST_SECOND, 0);
    Some(SystemTime::from(at.min(latest)))
}

/// The HTTP-date form RFC 9110 says senders must use.
const IMF_FIXDATE: &str = "%a, %d %b %Y %H:%M:%S GMT";

/// The latest expiry, when civil time `dt` at `offset` is later than it (jiff cannot make a
/// timestamp of it, but it is a valid date: a vendor's "never").
fn beyond_latest(dt: jiff::civil::DateTime, offset: jiff::tz::Offset) -> Option<Timestamp> {
    let latest = Timestamp::constant(LATEST_SECOND, 0);
    (dt > latest.to_zoned(TimeZone::fixed(offset)).datetime()).then_some(latest)
}

/// An RFC 3339 time jiff rejects only because it is later than the latest expiry.
fn rfc3339_beyond_latest(text: &str) -> Option<Timestamp> {
    let pieces = jiff::fmt::temporal::Pieces::parse(text).ok()?;
    let offset = pieces.offset()?.to_numeric_offset();
    let dt = pieces.date().to_datetime(pieces.time()?);
    beyond_latest(dt, offset)
}

/// The time `number` seconds (or milliseconds) after the epoch: an error for non-finite and
/// negative numbers, clamped to [`latest_expiry`] above it. Never panics, whatever the number.
pub(crate) fn epoch_time(number: f64, millis: bool) -> Result<SystemTime, String> {
    if !number.is_finite() {
        return Err(format!("{number} is not a time"));
    }
    if number < 0.0 {
        return Err(format!("{number} is before 1970"));
    }
    let per_second = if millis { 1000.0 } else { 1.0 };
    let seconds = number / per_second;
    if seconds >= LATEST_SECOND as f64 {
        return Ok(latest_expiry());
    }
    // Whole numbers are converted exactly (they are below 2^53 here); a float division would
    // lose the last millisecond.
    let offset = if number.fract() == 0.0 && millis {
        Duration::from_millis(number as u64)
    } else if number.fract() == 0.0 {
        Duration::from_secs(number as u64)
    } else {
        Duration::from_secs_f64(seconds)
    };
    Ok(UNIX_EPOCH + offset)
}

/// A number, or a string holding one (some vendors quote their numbers).
pub(crate) fn number_of(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A word for the kind of a JSON value, for messages.
pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secs(t: SystemTime) -> u64 {
        t.duration_since(UNIX_EPOCH).expect("after epoch").as_secs()
    }

    #[test]
    fn epoch_forms() {
        assert_eq!(
            secs(
                TimeFormat::EpochSeconds
                    .parse_value(&json!(1767225600))
                    .expect("ok")
            ),
            1_767_225_600
        );
        assert_eq!(
            secs(
                TimeFormat::EpochMilliseconds
                    .parse_value(&json!(1767225600123_u64))
                    .expect("ok")
            ),
            1_767_225_600
        );
        assert_eq!(
            secs(
                TimeFormat::EpochSeconds
                    .parse_value(&json!("1767225600"))
                    .expect("ok")
            ),
            1_767_225_600
        );
        assert!(TimeFormat::EpochSeconds.parse_value(&json!(true)).is_err());
        // Milliseconds are exact (a float division would give ...122 ms).
        let at = TimeFormat::EpochMilliseconds
            .parse_value(&json!(1767229201123_u64))
            .expect("ok");
        assert_eq!(
            at.duration_since(UNIX_EPOCH)
                .expect("after epoch")
                .as_millis(),
            1_767_229_201_123
        );
    }

    #[test]
    fn text_forms() {
        let expected = 1_767_225_600; // 2026-01-01T00:00:00Z
        assert_eq!(
            secs(
                TimeFormat::Rfc3339
                    .parse_str("2026-01-01T00:00:00.123Z")
                    .expect("ok")
            ),
            expected
        );
        assert_eq!(
            secs(
                TimeFormat::Rfc3339
                    .parse_str("2026-01-01T02:00:00+02:00")
                    .expect("ok")
            ),
            expected
        );
        assert_eq!(
            secs(
                TimeFormat::HttpDate
                    .parse_str("Thu, 01 Jan 2026 00:00:00 GMT")
                    .expect("ok")
            ),
            expected
        );
        let warsaw = TimeFormat::Pattern {
            pattern: "%Y-%m-%d %H:%M:%S".into(),
            zone: Zone::parse("Europe/Warsaw").expect("zone"),
        };
        assert_eq!(
            secs(warsaw.parse_str("2026-01-01 01:00:00").expect("ok")),
            expected
        );
        let fixed = TimeFormat::Pattern {
            pattern: "%Y-%m-%d %H:%M:%S".into(),
            zone: Zone::parse("+02:00").expect("zone"),
        };
        assert_eq!(
            secs(fixed.parse_str("2026-01-01 02:00:00").expect("ok")),
            expected
        );
        let with_offset = TimeFormat::Pattern {
            pattern: "%Y-%m-%d %H:%M:%S %z".into(),
            zone: Zone::utc(),
        };
        assert_eq!(
            secs(
                with_offset
                    .parse_str("2026-01-01 02:00:00 +0200")
                    .expect("ok")
            ),
            expected
        );
        assert!(TimeFormat::Rfc3339.parse_str("yesterday").is_err());
        assert!(Zone::parse("Mars/Olympus").is_err());
    }

    #[test]
    fn offsets_with_hours_only() {
        let expected = 1_777_629_600; // 2026-05-01T10:00:00Z
        // RFC 3339 / ISO 8601 text with an hours-only offset, `T` or a space (PostgreSQL).
        for text in [
            "2026-05-01T10:00:00+00",
            "2026-05-01 10:00:00+00",
            "2026-05-01 05:00:00-05",
            "2026-05-01 12:00:00.5+02",
        ] {
            assert_eq!(
                secs(TimeFormat::Rfc3339.parse_str(text).expect(text)),
                expected,
                "{text}"
            );
        }
        // `%z` and `%:z` read `+00` as well as `+0000` / `+00:00`.
        for (pattern, text) in [
            ("%Y-%m-%d %H:%M:%S%z", "2026-05-01 10:00:00+00"),
            ("%Y-%m-%d %H:%M:%S%z", "2026-05-01 05:00:00-05"),
            ("%Y-%m-%d %H:%M:%S%z", "2026-05-01 15:30:00+0530"),
            ("%Y-%m-%d %H:%M:%S%:z", "2026-05-01 10:00:00+00"),
            ("%Y-%m-%d %H:%M:%S%:z", "2026-05-01 15:30:00+05:30"),
            ("%d.%m.%Y %H:%M %:::z", "01.05.2026 11:00 +01"),
        ] {
            let format = TimeFormat::Pattern {
                pattern: pattern.into(),
                zone: Zone::parse("Europe/Warsaw").expect("zone"),
            };
            assert_eq!(
                secs(format.parse_str(text).expect(text)),
                expected,
                "{pattern} {text}"
            );
        }
        // A declared zone may be written with hours only.
        let zone = TimeFormat::Pattern {
            pattern: "%Y-%m-%d %H:%M:%S".into(),
            zone: Zone::parse("-05").expect("zone"),
        };
        assert_eq!(
            secs(zone.parse_str("2026-05-01 05:00:00").expect("ok")),
            expected
        );
        // Still no guess: a missing or malformed offset is an error, `%%z` is text.
        let strict = TimeFormat::Pattern {
            pattern: "%Y-%m-%d %H:%M:%S%z".into(),
            zone: Zone::utc(),
        };
        assert!(strict.parse_str("2026-05-01 10:00:00+0").is_err());
        assert!(strict.parse_str("2026-05-01 10:00:00").is_err());
        assert_eq!(hours_only_offsets("%H%%z"), None);
        assert_eq!(hours_only_offsets("%H%%%z").as_deref(), Some("%H%%%:::z"));
    }

    #[test]
    fn latest_expiry_is_jiffs_latest_second() {
        assert_eq!(LATEST_SECOND, Timestamp::MAX.as_second());
        assert_eq!(
            Timestamp::try_from(latest_expiry())
                .expect("in range")
                .to_string(),
            "9999-12-30T22:00:00Z"
        );
    }

    #[test]
    fn render_is_the_inverse_of_parse() {
        for at in [
            UNIX_EPOCH + Duration::from_secs(1_767_225_600),
            latest_expiry(),
        ] {
            render_reads_back(at);
        }
    }

    fn render_reads_back(at: SystemTime) {
        let formats = [
            TimeFormat::EpochSeconds,
            TimeFormat::EpochMilliseconds,
            TimeFormat::Rfc3339,
            TimeFormat::HttpDate,
            TimeFormat::Pattern {
                pattern: "%Y-%m-%d %H:%M:%S".into(),
                zone: Zone::parse("Europe/Warsaw").expect("zone"),
            },
        ];
        for format in formats {
            let written = format.render(at);
            assert_eq!(
                format.parse_value(&written).expect("reads back"),
                at,
                "{format:?}: {written}"
            );
        }
    }
}
