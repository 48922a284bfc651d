//! Requests to the vendor (`login`, `refresh`, `logout`, `keep_alive`) and the answers that
//! mean they failed (`failures`).

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{RawTokenResponse, SpannedString};
use crate::node::Node;

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
