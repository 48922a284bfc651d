//! Token answers (`response`): where the tokens sit, how their expiry is expressed, examples.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{RawSource, RawSourceSchema, SpannedString};

/// Where the tokens sit in a token answer, how their expiry is expressed, and example answers.
///
/// A value source is a JSON path into the body (`$.access_token`, `$.access_token.token`,
/// bare `access_token.token`, `$.sessions[0].token`, `$['not-before-policy']`), a response header
/// (`@header:X-Subject-Token`) or the whole body as text (`@body`).
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawTokenResponse {
    /// Where the access token is: a source, or a list of alternatives (the first that resolves).
    #[schemars(with = "RawSourceSchema")]
    pub access_token: Spanned<RawSource>,
    /// Where the refresh token is, if the vendor issues one. When a refresh answer lacks it (or
    /// the refresh response maps none), the previous refresh token and its expiry are kept.
    #[serde(default)]
    #[schemars(with = "Option<RawSourceSchema>")]
    pub refresh_token: Option<Spanned<RawSource>>,
    /// Expiry of the access token: sources tried in order, the first that yields a value wins.
    /// An empty list declares the expiry unknown: only an expired-token answer ends the token.
    pub access_token_expiry: Vec<RawExpirySource>,
    /// Expiry of the refresh token (the session), same rules. Empty = unknown: discovered when a
    /// refresh fails. Required when `refresh_token` is given.
    #[serde(default)]
    #[schemars(with = "Option<Vec<RawExpirySource>>")]
    pub refresh_token_expiry: Option<Spanned<Vec<RawExpirySource>>>,
    /// Example answers copied from the vendor's document; every path above must resolve in each.
    #[schemars(with = "Vec<RawExample>")]
    pub examples: Spanned<Vec<RawExample>>,
    /// Further values of the session, by name (`${session.NAME}`): NAME -> source, with the
    /// sources of `access_token` (`$.path`, `@header:NAME`, `@body`). In a refresh answer, a
    /// value it does not declare is carried over from the session it replaces.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, String>")]
    pub values: IndexMap<SpannedString, SpannedString>,
}

/// An example answer from the vendor's document.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawExample {
    /// What this example shows (and where a placeholder of the document was replaced).
    #[serde(default)]
    pub description: Option<String>,
    /// HTTP status; defaults to 200.
    #[serde(default)]
    pub status: Option<u16>,
    /// Response headers.
    #[serde(default)]
    pub headers: IndexMap<String, String>,
    /// The body: a JSON value written as YAML, or a string for a plain-text body.
    #[schemars(with = "serde_json::Value")]
    pub body: Spanned<serde_json::Value>,
}

/// One way of learning when a token expires.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(deny_unknown_fields)]
pub enum RawExpirySource {
    /// A relative lifetime in the answer (`expires_in`).
    ExpiresIn(RawExpiresIn),
    /// An absolute expiry time in the answer (`expires_at`).
    ExpiresAt(RawExpiresAt),
    /// The `exp` claim of the token itself, read as a JWT (not verified).
    JwtExp,
    /// A declared lifetime counted from when the token request was sent, e.g. `1800s`.
    #[schemars(with = "String")]
    Lifetime(SpannedString),
    /// A declared lifetime counted from the login (refresh answers do not extend it), e.g. `14d`.
    /// Only for `refresh_token_expiry`.
    #[schemars(with = "String")]
    SinceLogin(SpannedString),
    /// A lifetime the client chose and sent in this request (a name under `lifetimes:`),
    /// counted from when the request was sent.
    #[schemars(with = "String")]
    Requested(SpannedString),
}

/// Unit of a relative lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawUnit {
    /// Seconds (the OAuth convention).
    Seconds,
    /// Milliseconds.
    Milliseconds,
}

/// `expires_in`: a number of seconds (or milliseconds) from when the request was sent.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawExpiresIn {
    /// Where the number is (a number or a numeric string); a list for alternatives.
    #[schemars(with = "RawSourceSchema")]
    pub path: Spanned<RawSource>,
    /// `seconds` (default) or `milliseconds`.
    #[serde(default)]
    pub unit: Option<RawUnit>,
    /// When true, a value of 0 yields nothing and the next source decides (Keycloak's
    /// `refresh_expires_in: 0` means "no lifetime declared here").
    #[serde(default)]
    pub zero_means_none: bool,
}

/// Format of an absolute expiry time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawTimeFormat {
    /// Seconds since the Unix epoch (number or numeric string).
    EpochSeconds,
    /// Milliseconds since the Unix epoch (a Java timestamp).
    EpochMilliseconds,
    /// RFC 3339 / ISO 8601 with an offset, fractions allowed: `2026-11-22T10:00:00.123Z`.
    Rfc3339,
    /// HTTP-date (RFC 9110): `Sun, 22 Nov 2026 10:00:00 GMT`.
    HttpDate,
    /// A strftime pattern (`pattern`), e.g. `%Y-%m-%d %H:%M:%S`; times without an offset are read
    /// in `timezone`.
    Pattern,
}

/// `expires_at`: an absolute time in the answer.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawExpiresAt {
    /// Where the time is; a list for alternatives.
    #[schemars(with = "RawSourceSchema")]
    pub path: Spanned<RawSource>,
    /// How the time is written.
    pub format: RawTimeFormat,
    /// strftime pattern, required with `format: pattern`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub pattern: Option<SpannedString>,
    /// Time zone for times written without an offset: `UTC`, `+02:00` or an IANA name
    /// (`Europe/Warsaw`), or `unknown` when the vendor's document does not say (read as the
    /// earliest instant the text can mean). Only with `format: pattern`; required when the
    /// pattern reads no offset.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub timezone: Option<SpannedString>,
}
