//! Durations as written in specs: `1800s`, `30m`, `14d`, `500ms`, `1h 30m`.

use std::time::Duration;

/// The longest duration a spec may declare: 1e10 s (about 317 years), the same bound answers'
/// lifetimes have, so every declared duration can be added to any clock reading.
pub const MAX_DURATION: Duration = Duration::from_secs(10_000_000_000);

/// Parses a human-readable duration (humantime syntax). A bare number is rejected: `1800` could
/// be seconds or milliseconds, so the unit must be written. Durations above [`MAX_DURATION`]
/// are rejected.
pub fn parse_duration(input: &str) -> Result<Duration, String> {
    let trimmed = input.trim();
    if !trimmed.is_empty() && trimmed.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "`{input}` has no unit: write `{trimmed}s` for seconds or `{trimmed}ms` for milliseconds"
        ));
    }
    // humantime's messages carry byte offsets ("expected number at 11") that read like columns.
    let duration =
        humantime::parse_duration(trimmed).map_err(|_| format!("`{input}` is not a duration"))?;
    if duration > MAX_DURATION {
        return Err(format!(
            "`{input}` is longer than 317 years (1e10 s); declare the real lifetime, or `[]` if unknown"
        ));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_required_and_understood() {
        assert_eq!(parse_duration("1800s"), Ok(Duration::from_secs(1800)));
        assert_eq!(parse_duration("14d"), Ok(Duration::from_secs(14 * 86_400)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("1800").is_err());
        assert!(parse_duration("soon").is_err());
        assert_eq!(
            parse_duration("316y"),
            Ok(Duration::from_secs(316 * 31_557_600))
        );
        assert!(parse_duration("317y 1d").is_err());
    }
}
