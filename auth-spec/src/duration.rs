//! Durations as written in specs and on the command line: `1800s`, `30m`, `14d`, `500ms`,
//! `1h 30m`.
//!
//! The grammar is exact, so that a duration reads one way only:
//!
//! ```text
//! duration = part *( " " part )        ; parts separated by one space
//! part     = 1*DIGIT unit
//! unit     = "d" / "h" / "m" / "s" / "ms"
//! ```
//!
//! The units go from the largest to the smallest, each at most once (`1h 30m`, `1d 12h`); no
//! sign, no fractions, no other spelling of a unit. The total is at most [`MAX_DURATION`].
//! A rejected duration's message says what to write instead where that is clear (`2min` ->
//! `2m`, `3 weeks` -> `21d`, `1y` -> `365d`).

use std::time::Duration;

/// The longest duration a spec (or a command-line flag) may declare: `3650d`, ten years.
///
/// Real token and session lifetimes run from seconds to a year or two, so ten years is generous;
/// a longer one (`100000d`) is almost surely a slip, and a token the vendor never expires is
/// declared with an unknown expiry (`[]`) rather than a made-up century. Answers are bounded
/// separately ([`crate::extract::MAX_LIFETIME_SECONDS`]): a vendor's "never" is read, not written.
pub const MAX_DURATION: Duration = Duration::from_secs(3650 * 86_400);

/// The units of the grammar, largest first, with their length in milliseconds.
const UNITS: [(&str, u128); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parses a duration of the exact grammar of this module. A bare number is rejected with its
/// own message: `1800` could be seconds or milliseconds, so the unit must be written. Durations
/// above [`MAX_DURATION`] are rejected.
pub fn parse_duration(input: &str) -> Result<Duration, String> {
    check(input).map_err(|rejection| rejection.message)
}

/// Why a duration was rejected.
pub(crate) struct Rejection {
    /// What is wrong, and what to write instead where that is clear.
    pub message: String,
    /// Well written but longer than [`MAX_DURATION`].
    pub too_long: bool,
}

/// [`parse_duration`], saying whether a rejected duration was too long or mis-written.
pub(crate) fn check(input: &str) -> Result<Duration, Rejection> {
    let invalid = |message| Rejection {
        message,
        too_long: false,
    };
    let trimmed = input.trim();
    if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(format!(
            "`{input}` has no unit: write `{trimmed}s` for seconds or `{trimmed}ms` for milliseconds"
        )));
    }
    let Some(millis) = exact(input) else {
        return Err(explain(input));
    };
    if millis > MAX_DURATION.as_millis() {
        return Err(too_long(input));
    }
    // At most `MAX_DURATION`, so it fits.
    Ok(Duration::from_millis(
        u64::try_from(millis).unwrap_or(u64::MAX),
    ))
}

/// The milliseconds of `input` when it follows the grammar exactly; `None` otherwise. A total
/// too large to count saturates (and is then rejected as too long).
fn exact(input: &str) -> Option<u128> {
    let mut total: u128 = 0;
    let mut previous: Option<usize> = None;
    // Splitting on one space: a leading, trailing or doubled space leaves an empty part.
    for part in input.split(' ') {
        let digits_end = part
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(part.len());
        let (digits, unit) = part.split_at(digits_end);
        if digits.is_empty() {
            return None;
        }
        let rank = UNITS.iter().position(|(name, _)| *name == unit)?;
        if previous.is_some_and(|p| rank <= p) {
            return None;
        }
        previous = Some(rank);
        // Only digits: parsing fails on overflow alone.
        let number = digits.parse::<u128>().unwrap_or(u128::MAX);
        total = total.saturating_add(number.saturating_mul(UNITS[rank].1));
    }
    Some(total)
}

/// The rejection of a well-written duration longer than [`MAX_DURATION`].
fn too_long(input: &str) -> Rejection {
    Rejection {
        message: format!(
            "`{input}` is longer than `3650d` (ten years), the longest duration allowed"
        ),
        too_long: true,
    }
}

/// A unit as someone might spell it, read case-insensitively.
#[derive(Clone, Copy, PartialEq)]
enum Spelling {
    /// One of [`UNITS`] (its index), perhaps spelled otherwise (`min`, `seconds`, `H`).
    Unit(usize),
    /// Weeks: seven days.
    Week,
    /// Years: 365 days.
    Year,
    /// Months, whose length varies.
    Month,
    /// Microseconds or nanoseconds: finer than the grammar counts.
    Finer,
}

/// What unit `word` means to a reader, if any: for suggestions only, never for parsing.
fn spelling(word: &str) -> Option<Spelling> {
    // `M` is a month to some tools and a minute to others: it gets no suggestion.
    if word == "M" {
        return None;
    }
    Some(match word.to_ascii_lowercase().as_str() {
        "d" | "day" | "days" => Spelling::Unit(0),
        "h" | "hr" | "hrs" | "hour" | "hours" => Spelling::Unit(1),
        "m" | "min" | "mins" | "minute" | "minutes" => Spelling::Unit(2),
        "s" | "sec" | "secs" | "second" | "seconds" => Spelling::Unit(3),
        "ms" | "msec" | "msecs" | "millis" | "millisecond" | "milliseconds" => Spelling::Unit(4),
        "w" | "wk" | "wks" | "week" | "weeks" => Spelling::Week,
        "y" | "yr" | "yrs" | "year" | "years" => Spelling::Year,
        "mo" | "month" | "months" => Spelling::Month,
        "us" | "µs" | "usec" | "microsecond" | "microseconds" | "ns" | "nsec" | "nanosecond"
        | "nanoseconds" => Spelling::Finer,
        _ => return None,
    })
}

/// One part of a duration read leniently: a number (perhaps with a fraction) and a unit word.
struct LoosePart<'a> {
    whole: &'a str,
    fraction: &'a str,
    /// Written with a decimal point (`1.5h`, or `1.s`).
    point: bool,
    unit: &'a str,
    spelling: Spelling,
    /// Whitespace between the number and the unit (`60 seconds`).
    spaced: bool,
    /// Written with a `+`.
    signed: bool,
}

/// How the parts of a duration read leniently are laid out.
struct Layout {
    /// Separated otherwise than by one space (`1h30m`, `1h, 30m`, `1h  30m`).
    odd_separators: bool,
    /// Whitespace before or after the duration.
    surrounded: bool,
}

/// Reads `input` leniently into parts: signs, fractions, whitespace or commas between parts
/// and between a number and its unit, any spelling [`spelling`] knows. `None` when even that
/// fails (`30 minutes please`).
fn loose(input: &str) -> Option<(Vec<LoosePart<'_>>, Layout)> {
    let mut parts = Vec::new();
    let mut odd_separators = false;
    let mut rest = input;
    loop {
        let next = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
        if next.is_empty() {
            break;
        }
        let between = &rest[..rest.len() - next.len()];
        if !parts.is_empty() && between != " " {
            odd_separators = true;
        }
        let signed = next.starts_with('+');
        let next = next.strip_prefix('+').unwrap_or(next);
        let (whole, after) = next.split_at(
            next.find(|c: char| !c.is_ascii_digit())
                .unwrap_or(next.len()),
        );
        let point = after.starts_with('.');
        let (fraction, number_end) = match after.strip_prefix('.') {
            Some(f) => f.split_at(f.find(|c: char| !c.is_ascii_digit()).unwrap_or(f.len())),
            None => ("", after),
        };
        if whole.is_empty() && fraction.is_empty() {
            return None;
        }
        let unit_start = number_end.trim_start();
        let (unit, after) = unit_start.split_at(
            unit_start
                .find(|c: char| !c.is_alphabetic())
                .unwrap_or(unit_start.len()),
        );
        parts.push(LoosePart {
            whole,
            fraction,
            point,
            unit,
            spelling: spelling(unit)?,
            spaced: unit_start.len() < number_end.len(),
            signed,
        });
        rest = after;
    }
    if parts.is_empty() {
        return None;
    }
    let layout = Layout {
        odd_separators,
        surrounded: input.trim() != input,
    };
    Some((parts, layout))
}

/// The milliseconds of one loose part, when it is a whole number of them.
fn millis_of(part: &LoosePart<'_>) -> Option<u128> {
    let unit = match part.spelling {
        Spelling::Unit(i) => UNITS[i].1,
        Spelling::Week => 7 * UNITS[0].1,
        Spelling::Year => 365 * UNITS[0].1,
        Spelling::Month | Spelling::Finer => return None,
    };
    // A fraction of up to 9 digits, counted exactly: (whole * 10^k + fraction) * unit / 10^k.
    if part.fraction.len() > 9 {
        return None;
    }
    let scale = 10u128.pow(u32::try_from(part.fraction.len()).ok()?);
    let whole: u128 = if part.whole.is_empty() {
        0
    } else {
        part.whole.parse().ok()?
    };
    let fraction: u128 = if part.fraction.is_empty() {
        0
    } else {
        part.fraction.parse().ok()?
    };
    let scaled = whole
        .checked_mul(scale)?
        .checked_add(fraction)?
        .checked_mul(unit)?;
    (scaled % scale == 0).then(|| scaled / scale)
}

/// `millis` in the grammar, largest unit first: `5400000` -> `1h 30m`.
fn spelled(millis: u128) -> String {
    if millis == 0 {
        return "0s".to_owned();
    }
    let mut left = millis;
    let mut out = Vec::new();
    for (name, length) in UNITS {
        if left >= length {
            out.push(format!("{}{name}", left / length));
            left %= length;
        }
    }
    out.join(" ")
}

/// The rejection of a duration outside the grammar: what is wrong and, where a lenient reading
/// is unambiguous, what to write instead.
fn explain(input: &str) -> Rejection {
    let invalid = |message| Rejection {
        message,
        too_long: false,
    };
    let plain = format!("`{input}` is not a duration");
    if input.trim().starts_with('-') {
        return invalid(format!("{plain}: a duration is never negative"));
    }
    let Some((parts, layout)) = loose(input) else {
        return invalid(plain);
    };
    if let Some(part) = parts.iter().find(|p| p.spelling == Spelling::Finer) {
        return invalid(format!(
            "{plain}: `{}` is finer than the grammar counts; the smallest unit is `ms`",
            part.unit
        ));
    }
    if let Some(part) = parts.iter().find(|p| p.spelling == Spelling::Month) {
        return invalid(format!(
            "{plain}: months differ in length; write the days the vendor means, e.g. `{}d` for {} of 30 days",
            part.whole.parse::<u128>().unwrap_or(1).saturating_mul(30),
            if part.whole == "1" {
                "a month"
            } else {
                "months"
            }
        ));
    }
    let Some(millis) = parts.iter().try_fold(0u128, |total, p| {
        millis_of(p).and_then(|m| total.checked_add(m))
    }) else {
        return invalid(plain);
    };
    if millis > MAX_DURATION.as_millis() {
        return too_long(input);
    }
    // The user's own parts respelled, when that alone fixes it; otherwise the total respelled.
    let respelled: Vec<String> = parts
        .iter()
        .filter_map(|p| millis_of(p).map(|m| (p, m)))
        .map(|(p, m)| match p.spelling {
            Spelling::Unit(i) if p.fraction.is_empty() && !p.whole.is_empty() => {
                format!("{}{}", p.whole, UNITS[i].0)
            }
            _ => spelled(m),
        })
        .collect();
    let joined = respelled.join(" ");
    let suggestion = if exact(&joined) == Some(millis) {
        joined
    } else {
        spelled(millis)
    };
    // Never suggest what would be rejected in turn.
    if exact(&suggestion) != Some(millis) {
        return invalid(plain);
    }
    let reason = reason(&parts, &layout);
    invalid(format!("{plain}: {reason}; write `{suggestion}`"))
}

/// What is wrong with a duration read leniently, the first of: weeks, years, a unit's
/// spelling, a space before a unit, a fraction, a sign, spaces around it, the separators, the
/// order.
fn reason(parts: &[LoosePart<'_>], layout: &Layout) -> String {
    if parts.iter().any(|p| p.spelling == Spelling::Week) {
        return "weeks are not a unit".to_owned();
    }
    if parts.iter().any(|p| p.spelling == Spelling::Year) {
        return "years are not a unit".to_owned();
    }
    if let Some((p, i)) = parts.iter().find_map(|p| match p.spelling {
        Spelling::Unit(i) if p.unit != UNITS[i].0 => Some((p, i)),
        _ => None,
    }) {
        return format!("`{}` is written `{}`", p.unit, UNITS[i].0);
    }
    if parts.iter().any(|p| p.spaced) {
        return "a number and its unit are written together".to_owned();
    }
    if parts.iter().any(|p| p.point) {
        return "numbers are whole".to_owned();
    }
    if parts.iter().any(|p| p.signed) {
        return "a duration has no sign".to_owned();
    }
    if layout.surrounded {
        return "a duration has no spaces around it".to_owned();
    }
    if layout.odd_separators {
        return "the parts are separated by one space".to_owned();
    }
    "the units go from the largest to the smallest, each once".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str, millis: u64) {
        assert_eq!(
            parse_duration(input),
            Ok(Duration::from_millis(millis)),
            "{input}"
        );
    }

    fn rejected(input: &str, message: &str) {
        assert_eq!(parse_duration(input), Err(message.to_owned()), "{input}");
    }

    #[test]
    fn the_accepted_forms() {
        ok("1800s", 1_800_000);
        ok("30m", 1_800_000);
        ok("14d", 14 * 86_400_000);
        ok("500ms", 500);
        ok("2h", 7_200_000);
        ok("0s", 0);
        ok("1h 30m", 5_400_000);
        ok("1d 12h", 129_600_000);
        ok("1d 2h 3m 4s 5ms", 93_784_005);
        ok("90m", 5_400_000);
        ok("3650d", 3650 * 86_400_000);
        ok("3649d 23h 59m 59s 999ms", 3650 * 86_400_000 - 1);
    }

    #[test]
    fn a_bare_number_needs_a_unit() {
        rejected(
            "1800",
            "`1800` has no unit: write `1800s` for seconds or `1800ms` for milliseconds",
        );
    }

    #[test]
    fn other_spellings_say_what_to_write() {
        rejected(
            "2min",
            "`2min` is not a duration: `min` is written `m`; write `2m`",
        );
        rejected(
            "60 seconds",
            "`60 seconds` is not a duration: `seconds` is written `s`; write `60s`",
        );
        rejected(
            "60 s",
            "`60 s` is not a duration: a number and its unit are written together; write `60s`",
        );
        rejected(
            "1y",
            "`1y` is not a duration: years are not a unit; write `365d`",
        );
        rejected(
            "3 weeks",
            "`3 weeks` is not a duration: weeks are not a unit; write `21d`",
        );
        rejected(
            "2w",
            "`2w` is not a duration: weeks are not a unit; write `14d`",
        );
        rejected(
            "1H",
            "`1H` is not a duration: `H` is written `h`; write `1h`",
        );
        rejected(
            "1.5h",
            "`1.5h` is not a duration: numbers are whole; write `1h 30m`",
        );
        rejected(
            "1.s",
            "`1.s` is not a duration: numbers are whole; write `1s`",
        );
        rejected(
            ".5s",
            "`.5s` is not a duration: numbers are whole; write `500ms`",
        );
        rejected(
            "+30m",
            "`+30m` is not a duration: a duration has no sign; write `30m`",
        );
        rejected(
            "-30m",
            "`-30m` is not a duration: a duration is never negative",
        );
        rejected(
            "1h30m",
            "`1h30m` is not a duration: the parts are separated by one space; write `1h 30m`",
        );
        rejected(
            "1h  30m",
            "`1h  30m` is not a duration: the parts are separated by one space; write `1h 30m`",
        );
        rejected(
            "1h, 30m",
            "`1h, 30m` is not a duration: the parts are separated by one space; write `1h 30m`",
        );
        rejected(
            " 30m",
            "` 30m` is not a duration: a duration has no spaces around it; write `30m`",
        );
        rejected(
            "30m 1h",
            "`30m 1h` is not a duration: the units go from the largest to the smallest, each once; write `1h 30m`",
        );
        rejected(
            "1h 1h",
            "`1h 1h` is not a duration: the units go from the largest to the smallest, each once; write `2h`",
        );
        rejected(
            "1 week 2 days",
            "`1 week 2 days` is not a duration: weeks are not a unit; write `9d`",
        );
        rejected(
            "2 months",
            "`2 months` is not a duration: months differ in length; write the days the vendor means, e.g. `60d` for months of 30 days",
        );
        rejected(
            "500us",
            "`500us` is not a duration: `us` is finer than the grammar counts; the smallest unit is `ms`",
        );
    }

    #[test]
    fn what_cannot_be_read_is_not_a_duration() {
        for input in [
            "",
            " ",
            "soon",
            "5q",
            "30 minutes please",
            "m",
            "1.5",
            "30M",
            "h1",
        ] {
            rejected(input, &format!("`{input}` is not a duration"));
        }
    }

    #[test]
    fn at_most_ten_years() {
        rejected(
            "100000d",
            "`100000d` is longer than `3650d` (ten years), the longest duration allowed",
        );
        rejected(
            "3650d 1ms",
            "`3650d 1ms` is longer than `3650d` (ten years), the longest duration allowed",
        );
        rejected(
            "11y",
            "`11y` is longer than `3650d` (ten years), the longest duration allowed",
        );
        // Too many digits to count is too long, not a panic.
        let huge = format!("{}d", "9".repeat(60));
        rejected(
            &huge,
            &format!("`{huge}` is longer than `3650d` (ten years), the longest duration allowed"),
        );
    }

    #[test]
    fn every_suggestion_is_accepted() {
        for input in [
            "2min",
            "60 seconds",
            "1y",
            "3 weeks",
            "1.5h",
            "30m 1h",
            "1h30m",
            "0.5s",
        ] {
            let message = parse_duration(input).expect_err(input);
            let suggestion = message
                .rsplit_once("write `")
                .and_then(|(_, s)| s.strip_suffix('`'))
                .expect("a suggestion");
            assert!(
                parse_duration(suggestion).is_ok(),
                "{input} -> {suggestion}"
            );
        }
    }
}
