//! The validated model of a provider spec: what code generation, the runtime and the CLI read.
//!
//! Every value here has been checked: paths and templates are parsed, durations are
//! [`Duration`]s, URLs are https (or loopback), every reference names something that exists.

use std::time::Duration;

use indexmap::IndexMap;
use serde_json::Value;

use crate::path::FieldPath;
use crate::template::Template;
use crate::timefmt::TimeFormat;

/// One vendor's authentication.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderSpec {
    /// The provider name: the YAML file stem, a valid Rust module name.
    pub name: String,
    /// Human-readable vendor name.
    pub title: String,
    /// What the vendor's authentication is.
    pub description: Option<String>,
    /// Link to the vendor's documentation.
    pub documentation: Option<String>,
    /// Environments in file order.
    pub environments: Vec<Environment>,
    /// Name of the default environment (one of `environments`).
    pub default_environment: String,
    /// Credentials in file order.
    pub credentials: Vec<Credential>,
    /// The login call.
    pub login: TokenEndpoint,
    /// The refresh call, if the vendor has one.
    pub refresh: Option<TokenEndpoint>,
    /// The logout / revoke call, if the vendor has one.
    pub logout: Option<Endpoint>,
    /// Refresh and re-login rules.
    pub policy: Policy,
    /// How the token is sent and how its expiry is signalled.
    pub usage: Usage,
    /// Credentials the client computes for each request that uses them (signed JWTs), in file
    /// order. Templates name them like the others: `${credentials.NAME}`.
    pub computed: Vec<ComputedCredential>,
    /// Alternative credential sets in order of preference (names of `credentials`); empty when
    /// the spec declares none. The first complete set is used.
    pub credential_sets: Vec<Vec<String>>,
    /// The call that keeps an idle session alive, if the vendor has one.
    pub keep_alive: Option<Endpoint>,
}

impl ProviderSpec {
    /// The default environment.
    pub fn default_environment(&self) -> &Environment {
        self.environment(&self.default_environment)
            .unwrap_or(&self.environments[0])
    }

    /// The environment with this name.
    pub fn environment(&self, name: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.name == name)
    }

    /// The credential with this name.
    pub fn credential(&self, name: &str) -> Option<&Credential> {
        self.credentials.iter().find(|c| c.name == name)
    }

    /// Whether the credential `name` may be absent: declared `required: false`, or named by
    /// some credential set but not by every one.
    pub fn is_optional(&self, name: &str) -> bool {
        let declared = self.credential(name).is_some_and(|c| !c.required);
        let in_sets = self
            .credential_sets
            .iter()
            .filter(|s| s.iter().any(|n| n == name));
        declared
            || (in_sets.count() > 0
                && !self
                    .credential_sets
                    .iter()
                    .all(|s| s.iter().any(|n| n == name)))
    }
}

/// A named deployment of the vendor.
#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    /// Its name (a key of `environments`).
    pub name: String,
    /// The origin paths are appended to, without a trailing slash; `None` when the vendor's
    /// document names no host and the user must supply one.
    pub base_url: Option<String>,
    /// What this environment is.
    pub description: Option<String>,
}

/// A credential field.
#[derive(Debug, Clone, PartialEq)]
pub struct Credential {
    /// Its name (a key of `credentials`), used in templates as `${credentials.NAME}`.
    pub name: String,
    /// Whether the value is secret.
    pub secret: bool,
    /// The environment variable it is read from.
    pub env: String,
    /// What it is.
    pub description: Option<String>,
    /// A sample value from the vendor's document.
    pub example: Option<String>,
    /// `false` when the user may leave it unset (`required: false`).
    pub required: bool,
}

/// A credential the client computes itself; always a secret.
#[derive(Debug, Clone, PartialEq)]
pub struct ComputedCredential {
    /// Its name (a key of `credentials`).
    pub name: String,
    /// What it is.
    pub description: Option<String>,
    /// How it is computed.
    pub signed_jwt: SignedJwt,
}

/// A JWT the client signs itself (RFC 7523 client assertion).
#[derive(Debug, Clone, PartialEq)]
pub struct SignedJwt {
    /// The signing algorithm.
    pub algorithm: JwtAlgorithm,
    /// The secret credential that signs (an HMAC secret or a PEM private key).
    pub key: String,
    /// Extra header fields (name, template), besides `alg` and `typ`.
    pub header: Vec<(String, Template)>,
    /// The claims in file order.
    pub claims: Vec<(String, ClaimValue)>,
}

/// A JWT signing algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JwtAlgorithm {
    /// HMAC SHA-256 with a shared secret.
    Hs256,
    /// RSA PKCS#1 v1.5 SHA-256 with an RSA private key (PEM).
    Rs256,
    /// ECDSA P-256 SHA-256 with an EC private key (PEM, PKCS#8).
    Es256,
}

impl JwtAlgorithm {
    /// The name used in the spec and in the JWT header (`RS256`).
    pub fn as_str(self) -> &'static str {
        match self {
            JwtAlgorithm::Hs256 => "HS256",
            JwtAlgorithm::Rs256 => "RS256",
            JwtAlgorithm::Es256 => "ES256",
        }
    }
}

/// The value of a claim of a [`SignedJwt`].
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimValue {
    /// A literal or a template of credentials and `${now.*}`; a sole `${now.epoch_seconds}` or
    /// `${now.epoch_millis}` is a number.
    Value(BodyValue),
    /// The current time plus this duration, in epoch seconds (`exp`).
    NowPlus(Duration),
}

/// HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// PUT
    Put,
    /// PATCH
    Patch,
    /// DELETE
    Delete,
}

impl Method {
    /// The method as sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// Request body encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// `application/json`.
    Json,
    /// `application/x-www-form-urlencoded`.
    Form,
    /// No body.
    None,
    /// `encoding: unknown`: the vendor's document does not say; the body is flat, and the
    /// caller chooses [`Encoding::Json`] or [`Encoding::Form`] at run time.
    Unknown,
}

impl Encoding {
    /// The `Content-Type` this encoding implies, if any.
    pub fn content_type(self) -> Option<&'static str> {
        match self {
            Encoding::Json => Some("application/json"),
            Encoding::Form => Some("application/x-www-form-urlencoded"),
            Encoding::None | Encoding::Unknown => None,
        }
    }
}

/// A request body: a JSON value whose strings are templates.
#[derive(Debug, Clone, PartialEq)]
pub enum BodyValue {
    /// `null`.
    Null,
    /// A boolean literal.
    Bool(bool),
    /// A number literal.
    Number(serde_json::Number),
    /// A string template; a sole `${response.PATH}` keeps the JSON type of what it names.
    Template(Template),
    /// An array.
    Array(Vec<BodyValue>),
    /// An object, in file order.
    Object(IndexMap<String, BodyValue>),
}

impl BodyValue {
    /// Every template in this body, depth first.
    pub fn templates(&self) -> Vec<&Template> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a Template>) {
        match self {
            BodyValue::Template(t) => out.push(t),
            BodyValue::Array(items) => items.iter().for_each(|i| i.collect(out)),
            BodyValue::Object(map) => map.values().for_each(|v| v.collect(out)),
            BodyValue::Null | BodyValue::Bool(_) | BodyValue::Number(_) => {}
        }
    }
}

/// HTTP Basic client authentication.
#[derive(Debug, Clone, PartialEq)]
pub struct BasicAuth {
    /// User name template.
    pub username: Template,
    /// Password template.
    pub password: Template,
}

/// A request to the vendor.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// HTTP method.
    pub method: Method,
    /// Path appended to the base URL, starting with `/`: a template whose placeholders each fill
    /// part of one path segment (`/api/v1/${credentials.tenant}/login`); a literal `?query` may
    /// follow, with no placeholder in it.
    pub path: Template,
    /// Body encoding.
    pub encoding: Encoding,
    /// Headers (name, template) in file order.
    pub headers: Vec<(String, Template)>,
    /// Query parameters (name, template) in file order.
    pub query: Vec<(String, Template)>,
    /// The body, when `encoding` is not `None`.
    pub body: Option<BodyValue>,
    /// HTTP Basic client authentication.
    pub basic_auth: Option<BasicAuth>,
    /// Statuses besides 2xx that count as success.
    pub success_status: Vec<u16>,
    /// Answers that mean failure whatever their status (the first match wins).
    pub failures: Vec<crate::judge::FailureRule>,
}

impl Endpoint {
    /// Every template of the request: path, headers, query, body, basic auth.
    pub fn templates(&self) -> Vec<&Template> {
        let mut out: Vec<&Template> = vec![&self.path];
        out.extend(self.headers.iter().map(|(_, t)| t));
        out.extend(self.query.iter().map(|(_, t)| t));
        if let Some(body) = &self.body {
            out.extend(body.templates());
        }
        if let Some(basic) = &self.basic_auth {
            out.push(&basic.username);
            out.push(&basic.password);
        }
        out
    }

    /// Whether `status` is a success answer for this endpoint.
    pub fn is_success(&self, status: u16) -> bool {
        (200..300).contains(&status) || self.success_status.contains(&status)
    }
}

/// A request that answers with tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenEndpoint {
    /// The request.
    pub request: Endpoint,
    /// Where the tokens are in the answer.
    pub response: TokenResponse,
}

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

/// When a token is refreshed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefreshTiming {
    /// Only after the access token expired (premature refresh is an error at the vendor).
    AfterExpiry,
    /// Within the margin before expiry, or any time after.
    AheadOfExpiry,
    /// Within the margin before expiry, only while still valid; after expiry, log in.
    BeforeExpiry,
}

/// What a refresh does to the refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rotation {
    /// Each refresh issues a new refresh token; the old one is dead.
    Rotates,
    /// The refresh token stays valid.
    Reusable,
}

/// Retries of token requests on transient faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Retry {
    /// Attempts in all, including the first.
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubled each time.
    pub initial_backoff: Duration,
    /// Cap on one backoff.
    pub max_backoff: Duration,
}

/// Refresh and re-login rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// When to refresh.
    pub refresh: RefreshTiming,
    /// How long before expiry a refresh starts (zero for `AfterExpiry`).
    pub margin: Duration,
    /// The margin never exceeds this fraction of the token's lifetime.
    pub max_margin_fraction: f64,
    /// What refresh does to the refresh token (`Reusable` when there is no refresh endpoint).
    pub rotation: Rotation,
    /// Refresh answers that mean the session is over (log in again).
    pub session_over_status: Vec<u16>,
    /// Login answers that mean the credentials were rejected.
    pub credentials_rejected_status: Vec<u16>,
    /// Retries on transient faults.
    pub retry: Retry,
    /// Minimum time between two logins.
    pub min_login_interval: Option<Duration>,
    /// The largest token answer read, in bytes (`max_answer_size`, default 1 MiB).
    pub max_answer_bytes: u64,
    /// A budget of login requests in a sliding window (`login_limit`).
    pub login_limit: Option<LoginLimit>,
    /// Where token answers say the vendor's current time, when the spec says to correct
    /// absolute expiry times for clock skew.
    pub server_time: Option<ServerTime>,
    /// The session ends after this long without a call (a sliding session).
    pub idle_timeout: Option<Duration>,
}

/// At most `requests` login requests in any window of length `per` ("20 token requests per
/// hour"). Every request sent counts, retries included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LoginLimit {
    /// Requests allowed in one window, at least 1.
    pub requests: u32,
    /// The window's length, more than zero.
    pub per: Duration,
}

impl LoginLimit {
    /// The most requests a budget may allow per window; the store keeps one record per request.
    pub const MAX_REQUESTS: u32 = 10_000;
    /// The longest window a budget may have: 31 days.
    pub const MAX_WINDOW: Duration = Duration::from_secs(31 * 86_400);
}

/// Where a token answer says the vendor's current time (`policy.server_time`).
#[derive(Debug, Clone, PartialEq)]
pub struct ServerTime {
    /// Where the time is (e.g. `@header:Date`).
    pub source: ValueSource,
    /// How it is written.
    pub format: TimeFormat,
}

impl Policy {
    /// The cap on token answers when a spec declares none: 1 MiB.
    pub const DEFAULT_MAX_ANSWER_BYTES: u64 = 1 << 20;
    /// The smallest cap a spec may declare: 1 KiB.
    pub const MIN_MAX_ANSWER_BYTES: u64 = 1 << 10;
    /// The largest cap a spec may declare: 64 MiB.
    pub const MAX_MAX_ANSWER_BYTES: u64 = 64 << 20;
}

/// How an API call says its token expired.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpiredSignal {
    /// Statuses that may mean "expired".
    pub status: Vec<u16>,
    /// Header (name, value) pairs that mean "expired" (any of them, with `www_authenticate_error`).
    pub headers: Vec<(String, String)>,
    /// `WWW-Authenticate` `error` value that means "expired".
    pub www_authenticate_error: Option<String>,
    /// Body conditions, any of which means "expired" (with a listed status).
    pub body: Vec<crate::judge::BodyCondition>,
}

impl ExpiredSignal {
    /// Whether an answer with this status and these headers says the token expired.
    pub fn matches<'a, I>(&self, status: u16, headers: I) -> bool
    where
        I: IntoIterator<Item = (&'a str, &'a str)> + Clone,
    {
        if !self.status.contains(&status) {
            return false;
        }
        if self.headers.is_empty() && self.www_authenticate_error.is_none() {
            // With body conditions only the body can tell (see `matches_body`).
            return self.body.is_empty();
        }
        let header_hit = self.headers.iter().any(|(name, value)| {
            headers
                .clone()
                .into_iter()
                .any(|(n, v)| n.eq_ignore_ascii_case(name) && v.trim().eq_ignore_ascii_case(value))
        });
        let challenge_hit = self.www_authenticate_error.as_deref().is_some_and(|error| {
            headers.into_iter().any(|(n, v)| {
                n.eq_ignore_ascii_case("www-authenticate") && challenge_error(v) == Some(error)
            })
        });
        header_hit || challenge_hit
    }

    /// Whether the body of an answer with a listed status says the token expired (one of the
    /// `body` conditions matches). Only needed when [`Self::matches`] said no.
    pub fn matches_body(&self, answer: &crate::extract::Answer) -> bool {
        if self.body.is_empty() || !self.status.contains(&answer.status) {
            return false;
        }
        let json: Option<Value> = serde_json::from_str(&answer.body).ok();
        self.body.iter().any(|c| c.matches(answer, json.as_ref()))
    }
}

/// The `error` parameter of a `WWW-Authenticate` challenge
/// (`Bearer error="invalid_token", error_description="..."`).
pub fn challenge_error(header: &str) -> Option<&str> {
    let start = header.find("error=")?;
    // Skip `error_description=` and friends: `error=` must start a parameter.
    let before = header[..start].trim_end();
    if !(before.is_empty() || before.ends_with(',') || before.split_whitespace().count() == 1) {
        return None;
    }
    let rest = &header[start + "error=".len()..];
    let value = match rest.strip_prefix('"') {
        Some(quoted) => &quoted[..quoted.find('"')?],
        None => rest.split([',', ' ']).next()?,
    };
    Some(value)
}

/// How the token is sent on API calls.
#[derive(Debug, Clone, PartialEq)]
pub struct Usage {
    /// Headers (name, template).
    pub headers: Vec<(String, Template)>,
    /// Query parameters (name, template).
    pub query: Vec<(String, Template)>,
    /// How an API call says the token expired; `None` when the vendor does not say.
    pub expired: Option<ExpiredSignal>,
    /// `usage: unknown`: the vendor's document does not say how the token is sent (`headers`
    /// and `query` are empty). A token can still be had; putting it on a request needs the
    /// caller to say how (`AuthenticatorBuilder::token_header`, `auth-cli --token-header`).
    pub unknown: bool,
    /// Session values that ordinary API answers renew (rolling tokens), in file order.
    pub renewed_by_answers: Vec<RenewedByAnswer>,
    /// Ordinary API answers that mean failure whatever their status (the first match wins):
    /// `SessionOver` or `Error`.
    pub failures: Vec<crate::judge::FailureRule>,
}

/// A session value an ordinary API answer replaces when it carries a header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RenewedByAnswer {
    /// Which value.
    pub value: SessionSlot,
    /// The response header that carries the new value (compared case-insensitively).
    pub header: String,
}

/// A value held by the session that a request can send.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SessionSlot {
    /// The access token.
    AccessToken,
    /// A named value (`values:` of the token answers).
    Value(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_signal_needs_status_and_any_marker() {
        let signal = ExpiredSignal {
            status: vec![401],
            headers: vec![("Token-Expired".into(), "true".into())],
            www_authenticate_error: Some("invalid_token".into()),
            body: Vec::new(),
        };
        assert!(signal.matches(401, [("token-expired", "true")]));
        assert!(signal.matches(
            401,
            [(
                "WWW-Authenticate",
                r#"Bearer error="invalid_token", error_description="The token is expired""#
            )]
        ));
        assert!(!signal.matches(401, [("content-length", "0")]));
        assert!(!signal.matches(403, [("token-expired", "true")]));
        let plain = ExpiredSignal {
            status: vec![401],
            headers: vec![],
            www_authenticate_error: None,
            body: Vec::new(),
        };
        assert!(plain.matches(401, []));
    }

    #[test]
    fn challenge_error_skips_description() {
        assert_eq!(
            challenge_error(r#"Bearer error_description="x", error="invalid_token""#),
            Some("invalid_token")
        );
        assert_eq!(challenge_error(r#"Bearer realm="a""#), None);
        assert_eq!(
            challenge_error("Bearer error=invalid_token"),
            Some("invalid_token")
        );
    }
}
