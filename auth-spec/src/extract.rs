//! Reading tokens and expiry out of a vendor's answer, as the spec's response mapping says.
//!
//! This is the one implementation of "where is the token": the validator runs it over the
//! example answers, the runtime over live ones, so the two cannot disagree.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use secrecy::SecretString;
use serde_json::Value;

pub use crate::answer::Answer;
use crate::jwt;
use crate::model::{ExpirySource, TokenResponse, Unit, ValueSource};
use crate::timefmt::{TimeFormat, epoch_time, kind_of, number_of};

/// The longest relative lifetime an answer may declare, in seconds: 1e10, about 317 years, so
/// that any lifetime can be added to any clock reading. Longer ones are `BadExpiry` (most likely
/// an absolute time mapped as `expires_in`). Answers get this wide bound, not the spec's
/// [`crate::duration::MAX_DURATION`]: a vendor may answer "never" with a huge number.
pub const MAX_LIFETIME_SECONDS: f64 = 1e10;

/// A JSON value that holds secrets (a whole token answer); its Debug output is redacted.
#[derive(Clone, PartialEq)]
pub struct SecretJson(Value);

impl SecretJson {
    /// Wraps a value.
    pub fn new(value: Value) -> Self {
        Self(value)
    }

    /// The value. Callers must not log it.
    pub fn expose(&self) -> &Value {
        &self.0
    }
}

impl fmt::Debug for SecretJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretJson([redacted])")
    }
}

/// When a token expires, as learned from an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// No source yielded: only an expired-token answer (or a failed refresh) ends it.
    Unknown,
    /// This long after the request was sent.
    In(Duration),
    /// At this wall-clock time.
    At(SystemTime),
    /// This long after the login that started the session.
    SinceLogin(Duration),
    /// At this time or later: a time written without an offset whose zone the document does
    /// not give (`timezone: unknown`), read as the earliest instant it can mean. The runtime uses
    /// it while it is ahead of the request; otherwise the expiry counts as unknown (an
    /// expired-token answer ends the token), rather than a fresh token being taken as dead.
    AtEarliest(SystemTime),
}

/// What a token answer yielded.
#[derive(Debug, Clone)]
pub struct Extracted {
    /// The access token.
    pub access_token: SecretString,
    /// The refresh token, when the mapping names one and the answer carries it.
    pub refresh_token: Option<SecretString>,
    /// Access-token expiry.
    pub access_expiry: Expiry,
    /// Refresh-token / session expiry.
    pub refresh_expiry: Expiry,
    /// The parsed JSON body, kept for `${response.PATH}` templates; `None` for non-JSON bodies.
    pub body: Option<SecretJson>,
    /// The named session values the answer carries (`values:`), by name.
    pub values: BTreeMap<String, SecretString>,
    /// The response headers templates name (`${response.@header:NAME}`), by lower-cased name.
    pub headers: BTreeMap<String, SecretString>,
}

/// The answer did not have what the spec said it would. Messages name paths, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    /// A body path was needed but the body is not JSON.
    #[error("the answer is not JSON, so `{source_path}` cannot be read")]
    NotJson {
        /// The path that was to be read.
        source_path: String,
    },
    /// A required value is missing.
    #[error("the answer has no {what} at `{source_path}`{}", found_hint(.found))]
    Missing {
        /// Which value (e.g. "access token").
        what: &'static str,
        /// Where the spec says it is.
        source_path: String,
        /// The longest part of the path that does exist.
        found: Option<String>,
    },
    /// A value has the wrong JSON type.
    #[error("the {what} at `{source_path}` is {found}, expected {expected}")]
    WrongKind {
        /// Which value.
        what: &'static str,
        /// Where it is.
        source_path: String,
        /// What the spec needs.
        expected: &'static str,
        /// What was there.
        found: &'static str,
    },
    /// A value sent in request headers is not a valid header value (it could add headers of
    /// its own). Names the path, never the value.
    #[error("the {what} at `{source_path}` cannot be sent in a header: it contains {problem}")]
    NotAHeaderValue {
        /// Which value.
        what: &'static str,
        /// Where it is.
        source_path: String,
        /// What is wrong with it, e.g. "a line break".
        problem: &'static str,
    },
    /// An expiry value could not be read.
    #[error("the expiry at `{source_path}` cannot be read: {reason}")]
    BadExpiry {
        /// Where it is.
        source_path: String,
        /// Why.
        reason: String,
    },
}

/// Why `value` cannot be sent as (part of) an HTTP header value, or `None` when it can: a
/// field-value of RFC 9110 restricted to visible ASCII, spaces and tabs, with no white space
/// at either end (a receiver would strip it, changing the value).
pub fn header_value_problem(value: &str) -> Option<&'static str> {
    if value.contains(['\r', '\n']) {
        Some("a line break")
    } else if value.contains('\0') {
        Some("a NUL character")
    } else if value.chars().any(|c| c.is_ascii_control() && c != '\t') {
        Some("a control character")
    } else if !value.is_ascii() {
        Some("a non-ASCII character")
    } else if value.starts_with([' ', '\t']) || value.ends_with([' ', '\t']) {
        Some("white space at its start or end")
    } else {
        None
    }
}

fn header_value(
    what: &'static str,
    source: &dyn fmt::Display,
    value: &str,
) -> Result<(), ExtractError> {
    match header_value_problem(value) {
        None => Ok(()),
        Some(problem) => Err(ExtractError::NotAHeaderValue {
            what,
            source_path: source.to_string(),
            problem,
        }),
    }
}

fn found_hint(found: &Option<String>) -> String {
    match found {
        Some(prefix) if prefix != "$" => {
            format!(" (the answer has `{prefix}` but nothing below it)")
        }
        _ => String::new(),
    }
}

/// The answer parsed once: its JSON body if it has one.
pub(crate) struct Parsed<'a> {
    answer: &'a Answer,
    json: Option<Value>,
}

impl<'a> Parsed<'a> {
    pub(crate) fn new(answer: &'a Answer) -> Self {
        Self {
            answer,
            json: serde_json::from_str(&answer.body).ok(),
        }
    }

    /// The value a source names, if present.
    #[allow(dead_code)] // The reader for values whose origin is not reported.
    pub(crate) fn read(&self, source: &ValueSource) -> Result<Option<Value>, ExtractError> {
        Ok(self.resolve(source)?.map(|(_, value)| value))
    }

    /// The value a source names and the single source it came from (for alternatives, the
    /// first that resolves). A body path cannot resolve in a body that is not JSON; among
    /// alternatives that only rules it out, unless no alternative resolves at all.
    pub(crate) fn resolve<'s>(
        &self,
        source: &'s ValueSource,
    ) -> Result<Option<(&'s ValueSource, Value)>, ExtractError> {
        let ValueSource::FirstOf(list) = source else {
            return Ok(self.read_one(source)?.map(|value| (source, value)));
        };
        let mut not_json = None;
        for one in list {
            match self.resolve(one) {
                Ok(Some(found)) => return Ok(Some(found)),
                Ok(None) => {}
                Err(e) => {
                    not_json.get_or_insert(e);
                }
            }
        }
        match not_json {
            // Every alternative needs JSON: say so, as for a single path.
            Some(e) if list.iter().all(|one| matches!(one, ValueSource::Body(_))) => Err(e),
            _ => Ok(None),
        }
    }

    fn read_one(&self, source: &ValueSource) -> Result<Option<Value>, ExtractError> {
        match source {
            // `resolve` tries alternatives one by one; they are never nested.
            ValueSource::FirstOf(_) => Ok(None),
            ValueSource::Body(path) => {
                let json = self.json.as_ref().ok_or_else(|| ExtractError::NotJson {
                    source_path: path.to_string(),
                })?;
                Ok(path.resolve(json).filter(|v| !v.is_null()).cloned())
            }
            ValueSource::Header(name) => Ok(self.answer.header(name).map(Value::from)),
            ValueSource::WholeBody => {
                let text = self.answer.body.trim();
                Ok((!text.is_empty()).then(|| Value::from(text)))
            }
        }
    }

    fn missing(&self, what: &'static str, source: &ValueSource) -> ExtractError {
        // For alternatives, the hint is about the first (the current revision of the answer).
        let first = source.alternatives().first().unwrap_or(source);
        let found = match (first, &self.json) {
            (ValueSource::Body(path), Some(json)) => Some(path.resolved_prefix(json).to_string()),
            _ => None,
        };
        ExtractError::Missing {
            what,
            source_path: source.to_string(),
            found,
        }
    }

    fn token(
        &self,
        what: &'static str,
        source: &ValueSource,
    ) -> Result<Option<String>, ExtractError> {
        match self.resolve(source)? {
            None => Ok(None),
            Some((source, Value::String(s))) if !s.is_empty() => {
                header_value(what, source, &s)?;
                Ok(Some(s))
            }
            Some((_, Value::String(_))) => Ok(None),
            Some((source, other)) => Err(ExtractError::WrongKind {
                what,
                source_path: source.to_string(),
                expected: "a string",
                found: kind_of(&other),
            }),
        }
    }
}

impl TokenResponse {
    /// Reads tokens and expiry from an answer.
    pub fn extract(&self, answer: &Answer) -> Result<Extracted, ExtractError> {
        let parsed = Parsed::new(answer);
        let access = parsed
            .token("access token", &self.access_token)?
            .ok_or_else(|| parsed.missing("access token", &self.access_token))?;
        let refresh = match &self.refresh_token {
            Some(source) => parsed.token("refresh token", source)?,
            None => None,
        };
        if let Some(json) = &parsed.json {
            for path in &self.header_values {
                if let Some(Value::String(text)) = path.resolve(json) {
                    header_value("value", path, text)?;
                }
            }
        }
        let mut values = BTreeMap::new();
        for (name, source) in &self.values {
            let value = parsed
                .read(source)?
                .ok_or_else(|| parsed.missing("session value", source))?;
            let text = match &value {
                Value::String(s) if !s.is_empty() => s.clone(),
                Value::Number(_) | Value::Bool(_) => value.to_string(),
                Value::String(_) => return Err(parsed.missing("session value", source)),
                other => {
                    return Err(ExtractError::WrongKind {
                        what: "session value",
                        source_path: source.to_string(),
                        expected: "a string, number or boolean",
                        found: kind_of(other),
                    });
                }
            };
            header_value("session value", source, &text)?;
            values.insert(name.clone(), SecretString::from(text));
        }
        let mut headers = BTreeMap::new();
        for name in &self.kept_headers {
            if let Some(text) = answer.header(name) {
                header_value("response header", &format_args!("@header:{name}"), text)?;
                headers.insert(name.clone(), SecretString::from(text.to_owned()));
            }
        }
        let access_expiry = first_expiry(&parsed, &self.access_token_expiry, Some(&access))?;
        let refresh_expiry = first_expiry(&parsed, &self.refresh_token_expiry, refresh.as_deref())?;
        Ok(Extracted {
            access_token: SecretString::from(access),
            refresh_token: refresh.map(SecretString::from),
            access_expiry,
            refresh_expiry,
            body: parsed.json.map(SecretJson::new),
            values,
            headers,
        })
    }
}

impl crate::model::ServerTime {
    /// The vendor's current time as `answer` states it; `None` when the answer does not say.
    pub fn read(&self, answer: &Answer) -> Result<Option<SystemTime>, ExtractError> {
        let parsed = Parsed::new(answer);
        let Some((source, value)) = parsed.resolve(&self.source)? else {
            return Ok(None);
        };
        self.format
            .parse_value(&value)
            .map(Some)
            .map_err(|reason| ExtractError::BadExpiry {
                source_path: source.to_string(),
                reason: format!("the server time: {reason}"),
            })
    }
}

/// `expiry` as our clock would state it, for a vendor whose clock read `server_now` when ours
/// read `local_now`: absolute times move by the difference; relative lifetimes stay.
pub fn skew_corrected(expiry: Expiry, server_now: SystemTime, local_now: SystemTime) -> Expiry {
    let Expiry::At(at) = expiry else {
        return expiry;
    };
    let corrected = match server_now.duration_since(local_now) {
        // The vendor's clock is ahead: its times are later than ours by that much.
        Ok(ahead) => at
            .checked_sub(ahead)
            .map_or(std::time::UNIX_EPOCH, |t| t.max(std::time::UNIX_EPOCH)),
        // Behind: later by that much, never past the latest expiry (times are clamped to it).
        Err(behind) => at
            .checked_add(behind.duration())
            .map_or(crate::timefmt::latest_expiry(), |t| {
                t.min(crate::timefmt::latest_expiry())
            }),
    };
    Expiry::At(corrected)
}

/// The first source that yields an expiry; `token` is the token whose `exp` claim `jwt_exp` reads.
pub(crate) fn first_expiry(
    parsed: &Parsed<'_>,
    sources: &[ExpirySource],
    token: Option<&str>,
) -> Result<Expiry, ExtractError> {
    for source in sources {
        if let Some(expiry) = one_expiry(parsed, source, token)? {
            return Ok(expiry);
        }
    }
    Ok(Expiry::Unknown)
}

fn one_expiry(
    parsed: &Parsed<'_>,
    source: &ExpirySource,
    token: Option<&str>,
) -> Result<Option<Expiry>, ExtractError> {
    Ok(match source {
        ExpirySource::ExpiresIn {
            source,
            unit,
            zero_means_none,
        } => {
            let Some((source, value)) = parsed.resolve(source)? else {
                return Ok(None);
            };
            let bad = |reason: String| ExtractError::BadExpiry {
                source_path: source.to_string(),
                reason,
            };
            let number = number_of(&value)
                .ok_or_else(|| bad(format!("expected a number, found {}", kind_of(&value))))?;
            if !number.is_finite() || number < 0.0 {
                return Err(bad(format!("{number} is not a lifetime")));
            }
            if number == 0.0 && *zero_means_none {
                return Ok(None);
            }
            let seconds = match unit {
                Unit::Seconds => number,
                Unit::Milliseconds => number / 1000.0,
            };
            if seconds > MAX_LIFETIME_SECONDS {
                return Err(bad(format!(
                    "{number} is far too long for a lifetime; is it an absolute time (expires_at)?"
                )));
            }
            Some(Expiry::In(Duration::from_secs_f64(seconds)))
        }
        ExpirySource::ExpiresAt { source, format } => {
            let Some((source, value)) = parsed.resolve(source)? else {
                return Ok(None);
            };
            let at = format
                .parse_value(&value)
                .map_err(|reason| ExtractError::BadExpiry {
                    source_path: source.to_string(),
                    reason,
                })?;
            match format {
                TimeFormat::Pattern { zone, .. } if zone.is_unknown() => {
                    Some(Expiry::AtEarliest(at))
                }
                _ => Some(Expiry::At(at)),
            }
        }
        ExpirySource::JwtExp => match token.and_then(jwt::exp_claim) {
            // Not a JWT, or no numeric `exp`: this source does not yield.
            None => None,
            Some(exp) => Some(Expiry::At(epoch_time(exp, false).map_err(|reason| {
                ExtractError::BadExpiry {
                    source_path: "jwt_exp".into(),
                    reason: format!("the token's `exp` claim: {reason}"),
                }
            })?)),
        },
        ExpirySource::Lifetime(d) => Some(Expiry::In(*d)),
        ExpirySource::SinceLogin(d) => Some(Expiry::SinceLogin(*d)),
        ExpirySource::Requested { duration, .. } => Some(Expiry::In(*duration)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::FieldPath;

    fn answer(body: &str) -> Answer {
        Answer {
            status: 200,
            headers: vec![("X-Token".into(), "from-header".into())],
            body: body.into(),
        }
    }

    fn body(path: &str) -> ValueSource {
        ValueSource::Body(FieldPath::parse(path).expect("path"))
    }

    #[test]
    fn the_first_alternative_that_resolves_wins() {
        let source = ValueSource::FirstOf(vec![body("$.data.token"), body("$.token")]);
        let json = answer(r#"{"token": "old", "data": {"token": "new"}}"#);
        let parsed = Parsed::new(&json);
        let (leaf, value) = parsed.resolve(&source).expect("ok").expect("found");
        assert_eq!((leaf, value), (&body("$.data.token"), Value::from("new")));
        let old = answer(r#"{"token": "old"}"#);
        let parsed = Parsed::new(&old);
        assert_eq!(
            parsed.resolve(&source).expect("ok").map(|(l, _)| l),
            Some(&body("$.token"))
        );
        // A text body rules out body paths, not `@body` or a header after them.
        let text = answer("plain-token");
        let parsed = Parsed::new(&text);
        let with_text = ValueSource::FirstOf(vec![body("$.token"), ValueSource::WholeBody]);
        assert_eq!(
            parsed.read(&with_text).expect("ok"),
            Some(Value::from("plain-token"))
        );
        let with_header =
            ValueSource::FirstOf(vec![body("$.token"), ValueSource::Header("x-token".into())]);
        assert_eq!(
            parsed.read(&with_header).expect("ok"),
            Some(Value::from("from-header"))
        );
        // Only body paths: the answer is not JSON, as for one path.
        assert!(matches!(
            parsed.read(&source),
            Err(ExtractError::NotJson { .. })
        ));
        assert_eq!(source.to_string(), "[$.data.token, $.token]");
    }

    #[test]
    fn skew_moves_absolute_times_only() {
        use std::time::UNIX_EPOCH;
        let at = |s: u64| UNIX_EPOCH + Duration::from_secs(s);
        let local = at(1_000_000);
        // The vendor's clock is 600 s ahead: its 1_000_900 is our 1_000_300.
        assert_eq!(
            skew_corrected(Expiry::At(at(1_000_900)), at(1_000_600), local),
            Expiry::At(at(1_000_300))
        );
        // 600 s behind: its 1_000_300 is our 1_000_900.
        assert_eq!(
            skew_corrected(Expiry::At(at(1_000_300)), at(999_400), local),
            Expiry::At(at(1_000_900))
        );
        let relative = Expiry::In(Duration::from_secs(60));
        assert_eq!(skew_corrected(relative, at(1_000_600), local), relative);
        // Never past the latest expiry, never before 1970.
        let latest = crate::timefmt::latest_expiry();
        assert_eq!(
            skew_corrected(Expiry::At(latest), at(999_400), local),
            Expiry::At(latest)
        );
        assert_eq!(
            skew_corrected(Expiry::At(at(10)), at(1_000_600), local),
            Expiry::At(UNIX_EPOCH)
        );
    }
}
