//! A value source as written: one source, or a list of alternatives (the first that resolves).

use std::fmt;

use schemars::JsonSchema;
use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};

use super::SpannedString;

/// Where a value is in an answer: `$.token`, `@header:X-Token`, `@body`, or a list of those
/// tried in order (`["$.data.token", "$.token"]`: two revisions of the vendor's answer).
#[derive(Debug, Clone, PartialEq)]
pub enum RawSource {
    /// One source.
    One(String),
    /// Alternatives, each with where it was written.
    FirstOf(Vec<SpannedString>),
}

impl<'de> Deserialize<'de> for RawSource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SourceVisitor)
    }
}

struct SourceVisitor;

impl<'de> Visitor<'de> for SourceVisitor {
    type Value = RawSource;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a source (`$.path`, `@header:NAME`, `@body`) or a list of them")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawSource, E> {
        Ok(RawSource::One(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<RawSource, E> {
        Ok(RawSource::One(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawSource, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<SpannedString>()? {
            items.push(item);
        }
        Ok(RawSource::FirstOf(items))
    }
}

/// A value source (schema of [`RawSource`]): one source, or alternatives tried in order, the
/// first that resolves wins.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum RawSourceSchema {
    /// One source: a JSON path (`$.access_token`), `@header:NAME` or `@body`.
    One(String),
    /// Alternatives tried in order; the first that resolves wins (at least two).
    FirstOf(Vec<String>),
}
