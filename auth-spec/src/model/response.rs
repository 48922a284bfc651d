//! Token answers: where values sit in them, how expiry is learnt, and the vendor's examples.

use std::time::Duration;

use serde_json::Value;

use crate::path::FieldPath;
use crate::timefmt::TimeFormat;

/// Where a value is in an answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ValueSource {
    /// A JSON path into the body.
    Body(FieldPath),
    /// A response header (name compared case-insensitively).
    Header(String),
    /// The whole body, as text.
    WholeBody,
    /// Alternatives for one value (two revisions of a vendor's answer): the first that
    /// resolves wins. Never nested, at least two.
    FirstOf(Vec<ValueSource>),
}

impl ValueSource {
    /// The single sources this one tries, in order (itself unless it is [`ValueSource::FirstOf`]).
    pub fn alternatives(&self) -> &[ValueSource] {
        match self {
            ValueSource::FirstOf(list) => list,
            one => std::slice::from_ref(one),
        }
    }
}

impl std::fmt::Display for ValueSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ValueSource::Body(path) => write!(f, "{path}"),
            ValueSource::Header(name) => write!(f, "@header:{name}"),
            ValueSource::WholeBody => f.write_str("@body"),
            ValueSource::FirstOf(list) => {
                f.write_str("[")?;
                for (i, one) in list.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{one}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// Unit of a relative lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    /// Seconds.
    Seconds,
    /// Milliseconds.
    Milliseconds,
}

/// One way of learning when a token expires.
#[derive(Debug, Clone, PartialEq)]
pub enum ExpirySource {
    /// A relative lifetime in the answer.
    ExpiresIn {
        /// Where the number is.
        source: ValueSource,
        /// Its unit.
        unit: Unit,
        /// A value of 0 yields nothing (Keycloak: no lifetime declared).
        zero_means_none: bool,
    },
    /// An absolute time in the answer.
    ExpiresAt {
        /// Where the time is.
        source: ValueSource,
        /// How it is written.
        format: TimeFormat,
    },
    /// The `exp` claim of the token itself.
    JwtExp,
    /// A declared lifetime from when the request was sent.
    Lifetime(Duration),
    /// A declared lifetime from the login (refresh token expiry only).
    SinceLogin(Duration),
    /// A lifetime the client chose and sent in the request (`lifetimes:`), from when the
    /// request was sent.
    Requested {
        /// Its name under `lifetimes:`.
        name: String,
        /// The declared lifetime.
        duration: Duration,
    },
}

/// Where tokens are in a token answer.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: ValueSource,
    /// The refresh token, if issued.
    pub refresh_token: Option<ValueSource>,
    /// Access-token expiry sources, first that yields wins; empty = unknown.
    pub access_token_expiry: Vec<ExpirySource>,
    /// Refresh-token (session) expiry sources, first that yields wins; empty = unknown.
    pub refresh_token_expiry: Vec<ExpirySource>,
    /// The `${response.PATH}` values some request sends in a header (API calls, refresh,
    /// logout): extraction checks them, like the tokens, as header values.
    pub header_values: Vec<FieldPath>,
    /// Example answers from the vendor's document.
    pub examples: Vec<Example>,
    /// Further session values this answer carries (`${session.NAME}`), in file order. A refresh
    /// answer's list may be shorter than the login's: the others are carried over.
    pub values: Vec<(String, ValueSource)>,
    /// The response headers some request names (`${response.@header:NAME}`), lower-cased: kept
    /// in the session and checked as header values.
    pub kept_headers: Vec<String>,
}

/// An example answer from the vendor's document.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// What it shows.
    pub description: Option<String>,
    /// HTTP status.
    pub status: u16,
    /// Headers.
    pub headers: Vec<(String, String)>,
    /// Body: JSON, or a string for a plain-text body.
    pub body: Value,
}

impl Example {
    /// The body as the vendor would send it on the wire.
    pub fn body_text(&self) -> String {
        match &self.body {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        }
    }
}

impl crate::answer::Answer {
    /// The answer an example from the vendor's document describes.
    pub fn from_example(example: &Example) -> Self {
        Self {
            status: example.status,
            headers: example.headers.clone(),
            body: example.body_text(),
        }
    }
}
