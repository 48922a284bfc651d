//! The file format exactly as written in `providers/<name>.yaml`.
//!
//! These types mirror the YAML one to one: they are what `serde-saphyr` deserializes (with
//! source locations on every value a later check may point at) and what the JSON Schema in
//! `providers/schema.json` is generated from. Nothing downstream uses them directly:
//! [`crate::parse`] checks them and lowers them into the validated [`crate::model`].
//!
//! Unknown keys are rejected everywhere, so a typo is an error with a "did you mean" hint rather
//! than a silently ignored setting. The schema says so (`additionalProperties: false`), and
//! [`crate::parse`] checks every key of the file against it before the typed parse, which itself
//! passes over unknown keys so that the checks after it still run and report every problem.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::node::Node;

mod source;
pub use source::{RawSource, RawSourceSchema};

/// A string together with where it was written.
pub type SpannedString = Spanned<String>;

/// One vendor's authentication, as described by its YAML file.
///
/// The provider's name is the file stem (`providers/intergiro.yaml` -> `intergiro`).
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
#[schemars(title = "Provider spec")]
pub struct RawSpec {
    /// Human-readable vendor name, e.g. `Intergiro`.
    #[schemars(with = "String")]
    pub title: SpannedString,
    /// What this vendor's authentication is, in a sentence or two; becomes rustdoc.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub description: Option<SpannedString>,
    /// Link to the vendor's authentication documentation (`https://...`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub documentation: Option<SpannedString>,
    /// Named environments; each has a base URL (an origin) to which endpoint paths are appended.
    #[schemars(with = "IndexMap<String, RawEnvironment>")]
    pub environments: IndexMap<SpannedString, RawEnvironment>,
    /// Name of the environment used when the user chooses none; must be one of `environments`.
    #[schemars(with = "String")]
    pub default_environment: SpannedString,
    /// Credentials the user supplies (API key, username, password, client secret, ...).
    #[schemars(with = "IndexMap<String, RawCredential>")]
    pub credentials: IndexMap<SpannedString, RawCredential>,
    /// The call that trades credentials for tokens.
    #[schemars(with = "RawEndpoint")]
    pub login: Spanned<RawEndpoint>,
    /// The call that trades a refresh token for new tokens; omit when the vendor has none
    /// (the runtime then logs in again when the token expires).
    #[serde(default)]
    #[schemars(with = "Option<RawEndpoint>")]
    pub refresh: Option<Spanned<RawEndpoint>>,
    /// The call that ends a session or revokes a token, when the vendor has one.
    #[serde(default)]
    #[schemars(with = "Option<RawEndpoint>")]
    pub logout: Option<Spanned<RawEndpoint>>,
    /// When to refresh, what a refresh token does, and what a failed refresh means.
    pub policy: RawPolicy,
    /// How the access token is sent on API calls, and how an API call says it expired; or
    /// `unknown` when the vendor's document does not say (then `token` still works, and the
    /// caller gives the header: `--token-header` / `AuthenticatorBuilder::token_header`).
    #[schemars(with = "RawUsageSchema")]
    pub usage: Spanned<RawUsageField>,
    /// Alternative credential sets, in order of preference ("either e-mail and password, or user
    /// name, password and tenant id"): the first set whose values are all given is used, and the
    /// credentials of the other sets are treated as absent (their entries left out).
    #[serde(default)]
    #[schemars(with = "Vec<Vec<String>>")]
    pub credential_sets: Vec<Spanned<Vec<SpannedString>>>,
    /// The call that keeps an idle (sliding) session alive, when the vendor has one; needs
    /// `policy.idle_timeout`. Its templates may use session values, like logout's.
    #[serde(default)]
    #[schemars(with = "Option<RawEndpoint>")]
    pub keep_alive: Option<Spanned<RawEndpoint>>,
    /// Lifetimes the client chooses in its own request (`session: 30m`): sent as
    /// `${lifetime.session.seconds}` (or `.minutes`, `.milliseconds`) and read back as a token's
    /// expiry with `requested: session`.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, String>")]
    pub lifetimes: IndexMap<SpannedString, SpannedString>,
}

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

/// A named deployment of the vendor.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawEnvironment {
    /// The origin (`scheme://host[:port]`) endpoint paths are appended to. Omit it when the vendor's
    /// document names no host: users must then supply the base URL themselves (never invent one).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub base_url: Option<SpannedString>,
    /// What this environment is (production, sandbox, ...).
    #[serde(default)]
    pub description: Option<String>,
}

/// One credential field.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawCredential {
    /// Whether the value is secret (kept in `SecretString`, never printed). Defaults to `true`.
    #[serde(default)]
    pub secret: Option<bool>,
    /// Environment variable the value is read from. Defaults to `<PROVIDER>_<FIELD>` upper-cased,
    /// e.g. `INTERGIRO_API_KEY`; must be unique across all providers.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub env: Option<SpannedString>,
    /// What the credential is and where to get it.
    #[serde(default)]
    pub description: Option<String>,
    /// A sample value from the vendor's document (used by simulators and docs; never a real secret).
    #[serde(default)]
    pub example: Option<String>,
    /// A credential the client computes for every request that uses it instead of reading it from
    /// the environment: a JWT it signs itself (the OAuth `private_key_jwt` client assertion of
    /// RFC 7523). Always a secret; takes no `env`, `secret` or `example`.
    #[serde(default)]
    #[schemars(with = "Option<RawSignedJwt>")]
    pub signed_jwt: Option<Spanned<RawSignedJwt>>,
    /// `false`: the user may leave it unset. A header, query entry or body field naming it is then
    /// left out (such a template names no other value). Defaults to `true`.
    #[serde(default)]
    pub required: Option<bool>,
}

/// A JWT the client signs itself.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawSignedJwt {
    /// The signing algorithm.
    #[schemars(with = "RawJwtAlgorithm")]
    pub algorithm: SpannedString,
    /// The secret credential that signs: the HMAC secret (`HS256`), or a PEM private key
    /// (`RS256`: RSA, PKCS#1 or PKCS#8; `ES256`: P-256, PKCS#8).
    #[schemars(with = "String")]
    pub key: SpannedString,
    /// Header fields besides `alg` and `typ` (templates), e.g. `kid: ${credentials.key_id}`.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, String>")]
    pub header: IndexMap<SpannedString, SpannedString>,
    /// The claims, in order: a string is a template of credentials and the current time
    /// (`${now.epoch_seconds}` alone is sent as a number), numbers and booleans are sent as
    /// written, and `{ now_plus: 5m }` is the current time plus a duration, in epoch seconds.
    #[schemars(with = "IndexMap<String, serde_json::Value>")]
    pub claims: IndexMap<SpannedString, Spanned<Node>>,
}

/// A JWT signing algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum RawJwtAlgorithm {
    /// HMAC with SHA-256, keyed with a shared secret.
    HS256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, with an RSA private key.
    RS256,
    /// ECDSA on P-256 with SHA-256, with an EC private key.
    ES256,
}

/// HTTP method of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[allow(clippy::upper_case_acronyms)]
pub enum RawMethod {
    /// `GET`
    GET,
    /// `POST`
    POST,
    /// `PUT`
    PUT,
    /// `PATCH`
    PATCH,
    /// `DELETE`
    DELETE,
}

/// How a request body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawEncoding {
    /// `application/json`; the body may nest.
    Json,
    /// `application/x-www-form-urlencoded`; the body must be flat.
    Form,
    /// No body.
    None,
    /// The vendor's document does not say how the body is encoded: the body must be flat (so
    /// that it can be sent either way), and the caller chooses `json` or `form` at run time
    /// (`auth-cli --body-encoding`, `AuthenticatorBuilder::body_encoding`).
    Unknown,
}

/// HTTP Basic authentication of the client (e.g. `client_id:client_secret` with a form body).
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawBasicAuth {
    /// User name template, e.g. `${credentials.client_id}`.
    #[schemars(with = "String")]
    pub username: SpannedString,
    /// Password template, e.g. `${credentials.client_secret}`.
    #[schemars(with = "String")]
    pub password: SpannedString,
}

/// A request to the vendor (login, refresh or logout).
///
/// String values in `headers`, `query`, `body` and `basic_auth` are templates: `${credentials.NAME}`,
/// `${session.access_token}`, `${session.refresh_token}`, `${response.PATH}` (a field of the last
/// token response). A string that is exactly one `${response.PATH}` inserts that JSON value as is
/// (object, number, ...). Write `$${` for a literal `${`. In the login, session values name the
/// previous session, and an entry naming one is left out when there is none.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawEndpoint {
    /// HTTP method.
    pub method: RawMethod,
    /// Path as the vendor documents it (`/v3/auth/login`), appended to the environment's base URL.
    /// A template (`/api/v1/${credentials.tenant}/login`): each value is percent-encoded into its
    /// path segment.
    #[schemars(with = "String")]
    pub path: SpannedString,
    /// Body encoding: `json`, `form` or `none`. Defaults to `none`; required when `body` is given.
    #[serde(default)]
    pub encoding: Option<RawEncoding>,
    /// Request headers (templates). `Content-Type` follows from `encoding` unless given here.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, String>")]
    pub headers: IndexMap<SpannedString, SpannedString>,
    /// Query-string parameters (templates).
    #[serde(default)]
    #[schemars(with = "IndexMap<String, String>")]
    pub query: IndexMap<SpannedString, SpannedString>,
    /// Request body: a mapping whose string values are templates. With `encoding: json` any JSON
    /// value (a bare template string such as `${session.refresh_token}`, a number, a list);
    /// with `encoding: form` a flat mapping.
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub body: Option<Spanned<Node>>,
    /// HTTP Basic client authentication.
    #[serde(default)]
    pub basic_auth: Option<RawBasicAuth>,
    /// Extra statuses that count as success besides 2xx (rare).
    #[serde(default)]
    #[schemars(with = "Vec<u16>")]
    pub success_status: Vec<Spanned<u16>>,
    /// Where the tokens and their expiry sit in the answer: required for `login` and `refresh`,
    /// not allowed for `logout`.
    #[serde(default)]
    #[schemars(with = "Option<RawTokenResponse>")]
    pub response: Option<Spanned<RawTokenResponse>>,
    /// Answers that mean the call failed whatever their status, e.g. a 200 envelope whose
    /// `result.code` is not 0, or the plain body `false`. The first rule that matches wins;
    /// otherwise the status decides.
    #[serde(default)]
    #[schemars(with = "Vec<RawFailure>")]
    pub failures: Vec<Spanned<RawFailure>>,
}

/// "An answer like this means the call failed."
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawFailure {
    /// Which answers: a condition on a body value or on the whole body.
    #[schemars(with = "RawCondition")]
    pub when: Spanned<RawCondition>,
    /// What they mean: `credentials_rejected` (login), `session_over` (refresh), `transient`
    /// (retried with backoff) or `error`.
    #[schemars(with = "RawMeaning")]
    pub means: Spanned<RawMeaning>,
    /// Path of the vendor's error code in the answer (not a secret), shown in errors.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub code: Option<SpannedString>,
    /// Path of the vendor's error message in the answer (not a secret), shown in errors.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub message: Option<SpannedString>,
}

/// What a failure means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawMeaning {
    /// The credentials were rejected (login only).
    CredentialsRejected,
    /// The session is over: log in again (refresh only).
    SessionOver,
    /// A passing fault: retried with backoff.
    Transient,
    /// Any other failure.
    Error,
}

/// A condition on an answer: the value at a body `path` compared with `equals`, `not_equals`,
/// `one_of` or `not_one_of` (numbers, strings, booleans, null), or the whole `body` text.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawCondition {
    /// A JSON path into the body (`$.result.code`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub path: Option<SpannedString>,
    /// The whole body, without surrounding whitespace, is exactly this text (`"false"`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub body: Option<SpannedString>,
    /// The value equals this scalar.
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub equals: Option<Spanned<Node>>,
    /// The value is present and differs from this scalar.
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub not_equals: Option<Spanned<Node>>,
    /// The value equals one of these scalars.
    #[serde(default)]
    #[schemars(with = "Option<Vec<serde_json::Value>>")]
    pub one_of: Option<Spanned<Node>>,
    /// The value is present and equals none of these scalars.
    #[serde(default)]
    #[schemars(with = "Option<Vec<serde_json::Value>>")]
    pub not_one_of: Option<Spanned<Node>>,
    /// Only answers with one of these statuses match (default: any status).
    #[serde(default)]
    #[schemars(with = "Option<Vec<u16>>")]
    pub status: Option<Vec<Spanned<u16>>>,
}

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

/// When a token is refreshed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawRefreshTiming {
    /// Only once the access token has expired; refreshing earlier is an error at the vendor.
    AfterExpiry,
    /// Once within `margin` of expiry (in the background), or any time after.
    AheadOfExpiry,
    /// Within `margin` of expiry and only while the access token is still valid; once it has
    /// expired, a refresh is not possible and the runtime logs in again.
    BeforeExpiry,
}

/// What happens to the refresh token on refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawRotation {
    /// Every refresh answer carries a new refresh token; the old one is dead. Keep the latest,
    /// never send one twice.
    Rotates,
    /// The refresh token stays valid across refreshes.
    Reusable,
}

/// Retries of token requests on transient faults (connect error, timeout, 5xx, 429).
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawRetry {
    /// Attempts in all, including the first (default 3, at most 10).
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub max_attempts: Option<Spanned<u32>>,
    /// Backoff before the second attempt, doubled each time (default `200ms`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub initial_backoff: Option<SpannedString>,
    /// Cap on one backoff (default `10s`). A `Retry-After` answer is honoured up to this cap.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub max_backoff: Option<SpannedString>,
}

/// The refresh and re-login rules.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawPolicy {
    /// When to refresh: `after_expiry`, `ahead_of_expiry` or `before_expiry`.
    #[schemars(with = "RawRefreshTiming")]
    pub refresh: Spanned<RawRefreshTiming>,
    /// How long before expiry a refresh starts (`ahead_of_expiry`, `before_expiry`), e.g. `60s`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub margin: Option<SpannedString>,
    /// The margin never exceeds this fraction of the token's lifetime (default 0.5), so a
    /// short-lived token is not refreshed on every call.
    #[serde(default)]
    #[schemars(with = "Option<f64>")]
    pub max_margin_fraction: Option<Spanned<f64>>,
    /// `rotates` or `reusable`. Required when there is a refresh endpoint.
    #[serde(default)]
    #[schemars(with = "Option<RawRotation>")]
    pub rotation: Option<Spanned<RawRotation>>,
    /// Refresh answers with these statuses mean the session is over: log in again with the
    /// credentials. Default `[400, 401, 403]`.
    #[serde(default)]
    #[schemars(with = "Option<Vec<u16>>")]
    pub session_over_status: Option<Vec<Spanned<u16>>>,
    /// Login answers with these statuses mean the credentials were rejected (no retry).
    /// Default `[400, 401, 403]`.
    #[serde(default)]
    #[schemars(with = "Option<Vec<u16>>")]
    pub credentials_rejected_status: Option<Vec<Spanned<u16>>>,
    /// Retries on transient faults.
    #[serde(default)]
    pub retry: Option<RawRetry>,
    /// The token endpoint punishes bursts: at least this long between two logins, e.g. `10s`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub min_login_interval: Option<SpannedString>,
    /// The largest token answer (login, refresh, logout) read: bytes (`65536`) or a size with a
    /// unit (`64KiB`, `1MiB`), between 1 KiB and 64 MiB (default `1MiB`). A larger answer is an
    /// error, and reading stops at the cap.
    #[serde(default)]
    #[schemars(with = "Option<RawSize>")]
    pub max_answer_size: Option<SpannedString>,
    /// Where token answers say the vendor's current time (`{ path: "@header:Date", format:
    /// http_date }` or a body field): absolute expiry times in them are then corrected by the
    /// difference between the vendor's clock and ours. Never corrected without it.
    #[serde(default)]
    #[schemars(with = "Option<RawExpiresAt>")]
    pub server_time: Option<Spanned<RawExpiresAt>>,
    /// The session ends after this long without a call (a sliding session), e.g. `15m`: the
    /// runtime logs in again rather than send a token idle that long, and calls `keep_alive`
    /// (if declared) when a session nears its idle end.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub idle_timeout: Option<SpannedString>,
    /// A budget of login requests in a sliding window, e.g. `{ requests: 20, per: 1h }` for
    /// "20 token requests per hour". Counted in the session store, so that every process
    /// sharing it shares the budget; retries count. When it is spent, a login fails at once
    /// saying when the next one is allowed.
    #[serde(default)]
    #[schemars(with = "Option<RawLoginLimit>")]
    pub login_limit: Option<Spanned<RawLoginLimit>>,
}

/// `login_limit`: at most `requests` login requests in any window of length `per`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawLoginLimit {
    /// How many login requests (attempts, retries included) the window allows, at least 1.
    #[schemars(with = "u32")]
    pub requests: Spanned<u32>,
    /// The window, e.g. `1h`, `24h`, `10m`.
    #[schemars(with = "String")]
    pub per: SpannedString,
}

/// A size: a number of bytes, or a number with a unit such as `64KiB` or `1MiB`.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum RawSize {
    /// Bytes.
    Bytes(u64),
    /// A number with a unit: `B`, `KiB`, `MiB`, `GiB`, `kB`, `MB`, `GB`.
    Text(String),
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
