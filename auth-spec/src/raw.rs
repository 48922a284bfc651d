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

mod endpoint;
mod policy;
mod response;
mod source;
mod usage;

pub use endpoint::{
    RawBasicAuth, RawCondition, RawEncoding, RawEndpoint, RawFailure, RawMeaning, RawMethod,
};
pub use policy::{RawLoginLimit, RawPolicy, RawRefreshTiming, RawRetry, RawRotation, RawSize};
pub use response::{
    RawExample, RawExpiresAt, RawExpiresIn, RawExpirySource, RawTimeFormat, RawTokenResponse,
    RawUnit,
};
pub use source::{RawSource, RawSourceSchema};
pub use usage::{RawExpiredSignal, RawUnknown, RawUsage, RawUsageField, RawUsageSchema};

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
