//! `usage`: how the access token is put on API calls, and how an API answer says it expired.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{RawCondition, RawFailure, SpannedString};

/// `usage`: a mapping, or `unknown`.
#[derive(Debug)]
pub enum RawUsageField {
    /// `usage: unknown`.
    Unknown,
    /// The mapping.
    Known(Box<RawUsage>),
    /// Another word: the schema pass reports it ("unknown value"), with a suggestion.
    Other,
}

impl<'de> Deserialize<'de> for RawUsageField {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Not `#[serde(untagged)]`: that buffers the value and loses the source locations the
        // mapping's fields keep; a visitor hands the mapping on as it is read.
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawUsageField;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a mapping (headers, query, expired) or `unknown`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(match v {
                    "unknown" => RawUsageField::Unknown,
                    _ => RawUsageField::Other,
                })
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                RawUsage::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|usage| RawUsageField::Known(Box::new(usage)))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// The schema of `usage`: `unknown`, or a mapping.
#[derive(JsonSchema)]
#[allow(clippy::large_enum_variant)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum RawUsageSchema {
    /// The vendor's document does not say how the token is sent.
    Unknown(RawUnknown),
    /// How the token is sent.
    Known(RawUsage),
}

/// The word `unknown`: a fact the vendor's document leaves out.
#[derive(JsonSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum RawUnknown {
    /// Not given by the document.
    Unknown,
}

/// How a protected API call says its token expired. The status must match; when `headers` or
/// `www_authenticate_error` are given, at least one of them must match too.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawExpiredSignal {
    /// Statuses that may mean "token expired" (default `[401]`).
    #[serde(default)]
    #[schemars(with = "Option<Vec<u16>>")]
    pub status: Option<Vec<Spanned<u16>>>,
    /// Response headers and values that mean "token expired" (`Token-Expired: "true"`).
    #[serde(default)]
    #[schemars(with = "IndexMap<String, String>")]
    pub headers: IndexMap<SpannedString, String>,
    /// The `error` parameter of a `WWW-Authenticate` challenge that means "token expired"
    /// (`invalid_token`).
    #[serde(default)]
    pub www_authenticate_error: Option<String>,
    /// Conditions on the body, any of which means "token expired" (with a listed status), for
    /// vendors that say so in an envelope. Required when `status` lists a 2xx.
    #[serde(default)]
    #[schemars(with = "Vec<RawCondition>")]
    pub body: Vec<Spanned<RawCondition>>,
}

/// How the access token is put on API calls.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawUsage {
    /// Headers to add (templates), e.g. `Authorization: Bearer ${session.access_token}`.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, String>")]
    pub headers: IndexMap<SpannedString, SpannedString>,
    /// Query parameters to add (templates).
    #[serde(default)]
    #[schemars(with = "IndexMap<String, String>")]
    pub query: IndexMap<SpannedString, SpannedString>,
    /// How an API call says the token expired.
    #[serde(default)]
    pub expired: Option<RawExpiredSignal>,
    /// Session values that ordinary API answers renew (a rolling token): `access_token` or a
    /// declared value -> `@header:NAME`. An answer carrying the header replaces the stored value.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, String>")]
    pub renewed_by_answers: IndexMap<SpannedString, SpannedString>,
    /// Ordinary API answers that mean failure whatever their status (an envelope
    /// `{"result": {"code": 7}}` in a 200), judged like an endpoint's `failures`; `means` is
    /// `session_over` (log in again and replay the call once) or `error` (the answer goes back
    /// to the caller; `auth-cli request` exits 5 naming the vendor's code and message).
    #[serde(default)]
    #[schemars(with = "Vec<RawFailure>")]
    pub failures: Vec<Spanned<RawFailure>>,
}
