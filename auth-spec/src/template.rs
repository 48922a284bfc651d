//! String templates used in request headers, query parameters, bodies and the token header:
//! `Bearer ${session.access_token}`, `${credentials.api_key}`, `${response.access_token}`.
//!
//! `${...}` was chosen over `{...}` because a YAML plain scalar starting with `{` is a flow
//! mapping: `api_key: {credentials.api_key}` would silently become a map. `$${` writes a literal
//! `${`.

use std::fmt;

use serde_json::Value;

use crate::path::{FieldPath, PathError};

/// What a `${...}` placeholder refers to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reference {
    /// `${credentials.NAME}`: a credential field.
    Credential(String),
    /// `${session.access_token}`: the current access token.
    AccessToken,
    /// `${session.refresh_token}`: the current refresh token.
    RefreshToken,
    /// `${response.PATH}`: a value of the last token answer (login or refresh), as JSON.
    Response(FieldPath),
    /// `${session.access_token.claims.NAME}`: a claim of the access token, a JWT read without
    /// verifying it (a string as is, a number or boolean as its JSON text).
    AccessTokenClaim(String),
    /// `${session.NAME}`: a named value of the session (`values:` of the token answers).
    SessionValue(String),
    /// `${session.NAME.claims.CLAIM}`: a claim of a named value that is a JWT.
    ValueClaim {
        /// The value's name.
        value: String,
        /// The claim.
        claim: String,
    },
    /// `${response.@header:NAME}`: a response header of the last token answer.
    ResponseHeader(String),
    /// `${now.epoch_seconds}`, `${now.epoch_millis}`, `${now.rfc3339}`: the current time, read
    /// from the engine's clock when the request is built.
    Now(NowFormat),
    /// `${lifetime.NAME.UNIT}`: a lifetime the client chooses, sent as a number.
    Lifetime(crate::lifetime::LifetimeRef),
}

/// How `${now.FORM}` writes the current time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NowFormat {
    /// Whole seconds since the Unix epoch (a number when it is a JSON value on its own).
    EpochSeconds,
    /// Milliseconds since the Unix epoch (a number when it is a JSON value on its own).
    EpochMillis,
    /// RFC 3339 in UTC, whole seconds: `2026-05-01T10:00:00Z`.
    Rfc3339,
}

impl NowFormat {
    /// The forms, as written after `now.`.
    pub const NAMES: &'static [&'static str] = &["epoch_seconds", "epoch_millis", "rfc3339"];

    /// The name written after `now.`.
    pub fn as_str(self) -> &'static str {
        match self {
            NowFormat::EpochSeconds => "epoch_seconds",
            NowFormat::EpochMillis => "epoch_millis",
            NowFormat::Rfc3339 => "rfc3339",
        }
    }

    /// `now` in this form, as a JSON value: a number for the epoch forms, a string otherwise.
    pub fn value(self, now: std::time::SystemTime) -> Value {
        let since = now
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        match self {
            NowFormat::EpochSeconds => Value::from(since.as_secs()),
            NowFormat::EpochMillis => {
                Value::from(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
            }
            NowFormat::Rfc3339 => {
                let seconds = i64::try_from(since.as_secs()).unwrap_or(i64::MAX);
                match jiff::Timestamp::from_second(seconds) {
                    Ok(t) => Value::from(t.to_string()),
                    Err(_) => Value::from(since.as_secs().to_string()),
                }
            }
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Credential(name) => write!(f, "${{credentials.{name}}}"),
            Reference::AccessToken => f.write_str("${session.access_token}"),
            Reference::RefreshToken => f.write_str("${session.refresh_token}"),
            Reference::Response(path) => {
                let path = path.to_string();
                let bare = path.strip_prefix("$.").unwrap_or(&path);
                write!(f, "${{response.{bare}}}")
            }
            Reference::AccessTokenClaim(name) => {
                write!(f, "${{session.access_token.claims.{name}}}")
            }
            Reference::SessionValue(name) => write!(f, "${{session.{name}}}"),
            Reference::ValueClaim { value, claim } => {
                write!(f, "${{session.{value}.claims.{claim}}}")
            }
            Reference::ResponseHeader(name) => write!(f, "${{response.@header:{name}}}"),
            Reference::Now(form) => write!(f, "${{now.{}}}", form.as_str()),
            Reference::Lifetime(lifetime) => write!(f, "{lifetime}"),
        }
    }
}

/// A piece of a template.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Part {
    /// Text sent as written.
    Literal(String),
    /// A value filled in at run time.
    Ref(Reference),
}

/// A parsed template string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Template {
    parts: Vec<Part>,
}

/// Why a template string is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    /// 0-based character offset of the problem in the template.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

/// The session values a template may name.
pub const SESSION_VALUES: &[&str] = &["access_token", "refresh_token"];

impl Template {
    /// Parses a template string.
    pub fn parse(input: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = input;
        let mut offset = 0;
        while let Some(pos) = rest.find("${") {
            // `$${` is an escaped literal `${`.
            if rest[..pos].ends_with('$') {
                literal.push_str(&rest[..pos - 1]);
                literal.push_str("${");
                offset += pos + 2;
                rest = &rest[pos + 2..];
                continue;
            }
            literal.push_str(&rest[..pos]);
            let start = offset + pos;
            let after = &rest[pos + 2..];
            let Some(end) = after.find('}') else {
                return Err(TemplateError {
                    offset: char_offset(input, start),
                    message: "unterminated `${`".into(),
                    hint: Some(
                        "close the placeholder with `}`, or write `$${` for a literal `${`".into(),
                    ),
                });
            };
            let inner = after[..end].trim();
            let reference = parse_reference(inner).map_err(|(message, hint)| TemplateError {
                offset: char_offset(input, start),
                message,
                hint,
            })?;
            if !literal.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut literal)));
            }
            parts.push(Part::Ref(reference));
            offset = start + 2 + end + 1;
            rest = &after[end + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Self { parts })
    }

    /// A template that is only literal text.
    pub fn literal(text: impl Into<String>) -> Self {
        Self {
            parts: vec![Part::Literal(text.into())],
        }
    }

    /// The pieces of this template.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// Every placeholder in this template.
    pub fn references(&self) -> impl Iterator<Item = &Reference> {
        self.parts.iter().filter_map(|p| match p {
            Part::Ref(r) => Some(r),
            Part::Literal(_) => None,
        })
    }

    /// When the template is exactly one placeholder, that placeholder: in a JSON body its value is
    /// inserted as is (an object stays an object).
    pub fn sole_reference(&self) -> Option<&Reference> {
        match self.parts.as_slice() {
            [Part::Ref(r)] => Some(r),
            _ => None,
        }
    }

    /// Sets the duration of each `${lifetime.NAME.UNIT}` to what `declared` says for its name.
    pub fn fill_lifetimes(&mut self, declared: impl Fn(&str) -> Option<std::time::Duration>) {
        for part in &mut self.parts {
            if let Part::Ref(Reference::Lifetime(lifetime)) = part
                && let Some(duration) = declared(&lifetime.name)
            {
                lifetime.duration = duration;
            }
        }
    }

    /// Fills in the placeholders. `lookup` returns the JSON value of a reference, or `None` when
    /// it is not available; the first unavailable reference is returned as the error.
    pub fn render<F>(&self, mut lookup: F) -> Result<String, Reference>
    where
        F: FnMut(&Reference) -> Option<Value>,
    {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Ref(reference) => match lookup(reference) {
                    Some(Value::String(s)) => out.push_str(&s),
                    Some(other) => out.push_str(&other.to_string()),
                    None => return Err(reference.clone()),
                },
            }
        }
        Ok(out)
    }

    /// Fills in the placeholders keeping JSON types: a sole placeholder yields its value as is,
    /// anything else a string.
    pub fn render_value<F>(&self, mut lookup: F) -> Result<Value, Reference>
    where
        F: FnMut(&Reference) -> Option<Value>,
    {
        match self.sole_reference() {
            Some(reference) => lookup(reference).ok_or_else(|| reference.clone()),
            None => self.render(lookup).map(Value::String),
        }
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                Part::Literal(text) => f.write_str(&text.replace("${", "$${"))?,
                Part::Ref(r) => write!(f, "{r}")?,
            }
        }
        Ok(())
    }
}

fn char_offset(s: &str, byte: usize) -> usize {
    s[..byte].chars().count()
}

fn parse_reference(inner: &str) -> Result<Reference, (String, Option<String>)> {
    let usage = "placeholders are ${credentials.NAME}, ${session.access_token}, \
                 ${session.refresh_token} or ${response.PATH}";
    let Some((namespace, name)) = inner.split_once('.') else {
        return Err((
            format!("`${{{inner}}}` names no value"),
            Some(usage.to_owned()),
        ));
    };
    match namespace {
        "credentials" if !name.is_empty() => Ok(Reference::Credential(name.to_owned())),
        "session" => match name {
            "access_token" => Ok(Reference::AccessToken),
            claim if claim.starts_with("access_token.") => claim_reference(claim),
            "refresh_token" => Ok(Reference::RefreshToken),
            // Whether the name is declared is checked where the spec's values are known.
            other if is_value_name(other) => Ok(Reference::SessionValue(other.to_owned())),
            other => match other.split_once(".claims.") {
                Some((value, claim))
                    if is_value_name(value) && !claim.is_empty() && claim.trim() == claim =>
                {
                    Ok(Reference::ValueClaim {
                        value: value.to_owned(),
                        claim: claim.to_owned(),
                    })
                }
                _ => Err((
                    format!("unknown session value `{other}`"),
                    Some(
                        crate::suggest::did_you_mean(other, SESSION_VALUES).unwrap_or_else(|| {
                            "the session holds `access_token`, `refresh_token` and the `values` its answers declare (`${session.NAME}`, `${session.NAME.claims.CLAIM}`)".to_owned()
                        }),
                    ),
                )),
            },
        },
        "response" if name.starts_with("@header:") => {
            let header = name["@header:".len()..].trim();
            if !header.is_empty()
                && header
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
            {
                Ok(Reference::ResponseHeader(header.to_owned()))
            } else {
                Err((
                    format!("`${{{inner}}}` names no valid header"),
                    Some("write `${response.@header:NAME}` with a header name such as `X-Login-Id`".into()),
                ))
            }
        }
        "response" => FieldPath::parse(name).map(Reference::Response).map_err(
            |PathError { message, .. }| {
                (
                    format!("bad path in `${{{inner}}}`: {message}"),
                    Some("write the path in the bare form, e.g. ${response.access_token}".into()),
                )
            },
        ),
        "now" => match name {
            "epoch_seconds" => Ok(Reference::Now(NowFormat::EpochSeconds)),
            "epoch_millis" => Ok(Reference::Now(NowFormat::EpochMillis)),
            "rfc3339" => Ok(Reference::Now(NowFormat::Rfc3339)),
            other => Err((
                format!("unknown time form `{other}`"),
                Some(
                    crate::suggest::did_you_mean(other, NowFormat::NAMES).unwrap_or_else(|| {
                        "write ${now.epoch_seconds}, ${now.epoch_millis} or ${now.rfc3339}"
                            .to_owned()
                    }),
                ),
            )),
        },
        "lifetime" => {
            use crate::lifetime::{LifetimeRef, LifetimeUnit};
            let (lifetime, unit) = name.rsplit_once('.').unwrap_or((name, ""));
            match LifetimeUnit::parse(unit) {
                Some(unit) if !lifetime.is_empty() => Ok(Reference::Lifetime(LifetimeRef {
                    name: lifetime.to_owned(),
                    unit,
                    duration: std::time::Duration::ZERO,
                })),
                _ => Err((
                    format!("`${{{inner}}}` needs a lifetime's name and a unit"),
                    Some(format!(
                        "write ${{lifetime.NAME.UNIT}} with a unit of {}, e.g. ${{lifetime.session.seconds}}",
                        crate::suggest::listing(LifetimeUnit::NAMES)
                    )),
                )),
            }
        }
        other => Err((
            format!("unknown placeholder namespace `{other}`"),
            Some(
                crate::suggest::did_you_mean(
                    other,
                    &["credentials", "session", "response", "now", "lifetime"],
                )
                .unwrap_or_else(|| usage.to_owned()),
            ),
        )),
    }
}

/// Whether `name` can name a session value: a lower-case identifier.
pub fn is_value_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

/// `access_token.claims.NAME`: a claim of the access token.
fn claim_reference(inner: &str) -> Result<Reference, (String, Option<String>)> {
    let hint =
        || Some("a claim of the access token is `${session.access_token.claims.NAME}`".into());
    let Some(name) = inner.strip_prefix("access_token.claims.") else {
        return Err((format!("unknown session value `{inner}`"), hint()));
    };
    if name.is_empty() || name.trim() != name {
        return Err((format!("`${{session.{inner}}}` names no claim"), hint()));
    }
    Ok(Reference::AccessTokenClaim(name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_literals_and_references() {
        let t = Template::parse("Bearer ${session.access_token}").expect("valid");
        assert_eq!(
            t.parts(),
            &[
                Part::Literal("Bearer ".into()),
                Part::Ref(Reference::AccessToken)
            ]
        );
        let t = Template::parse("${credentials.api_key}").expect("valid");
        assert_eq!(
            t.sole_reference(),
            Some(&Reference::Credential("api_key".into()))
        );
        let t = Template::parse("cost: $${x} ${ response.a.b }").expect("valid");
        assert_eq!(t.parts()[0], Part::Literal("cost: ${x} ".into()));
        assert_eq!(t.to_string(), "cost: $${x} ${response.a.b}");
    }

    #[test]
    fn renders_strings_and_json_values() {
        let t = Template::parse("${response.access_token}").expect("valid");
        let value = t
            .render_value(|_| Some(json!({"token": "abc", "expires_in": 3600})))
            .expect("available");
        assert_eq!(value, json!({"token": "abc", "expires_in": 3600}));
        let t = Template::parse("Token ${session.access_token}").expect("valid");
        assert_eq!(
            t.render(|_| Some(json!("abc"))).expect("available"),
            "Token abc"
        );
        assert_eq!(t.render(|_| None), Err(Reference::AccessToken));
    }

    #[test]
    fn errors_point_at_the_placeholder() {
        // A name that could be a declared value is checked where the values are known.
        assert!(Template::parse("Bearer ${session.acess_token}").is_ok());
        let e = Template::parse("Bearer ${session.acess-token}").expect_err("typo");
        assert_eq!(e.offset, 7);
        assert!(e.hint.expect("hint").contains("access_token"));
        let e = Template::parse("x ${credential.api_key}").expect_err("typo");
        assert!(e.hint.expect("hint").contains("credentials"));
        assert!(Template::parse("${session.access_token").is_err());
        assert!(Template::parse("${api_key}").is_err());
    }

    #[test]
    fn parses_access_token_claims() {
        let t = Template::parse("${session.access_token.claims.tid}").expect("valid");
        assert_eq!(
            t.sole_reference(),
            Some(&Reference::AccessTokenClaim("tid".into()))
        );
        assert_eq!(t.to_string(), "${session.access_token.claims.tid}");
        let e = Template::parse("${session.access_token.claim.tid}").expect_err("typo");
        assert!(e.hint.expect("hint").contains("claims.NAME"));
        assert!(Template::parse("${session.access_token.claims.}").is_err());
    }

    #[test]
    fn parses_session_values_and_response_headers() {
        let t = Template::parse("${session.account_token}").expect("valid");
        assert_eq!(
            t.sole_reference(),
            Some(&Reference::SessionValue("account_token".into()))
        );
        let t = Template::parse("${session.account_token.claims.acct}").expect("valid");
        assert_eq!(
            t.sole_reference(),
            Some(&Reference::ValueClaim {
                value: "account_token".into(),
                claim: "acct".into()
            })
        );
        assert_eq!(t.to_string(), "${session.account_token.claims.acct}");
        let t = Template::parse("${response.@header:X-Login-Id}").expect("valid");
        assert_eq!(
            t.sole_reference(),
            Some(&Reference::ResponseHeader("X-Login-Id".into()))
        );
        assert_eq!(t.to_string(), "${response.@header:X-Login-Id}");
        assert!(Template::parse("${response.@header:}").is_err());
        assert!(Template::parse("${session.Account}").is_err());
    }
}
