//! The validated model of a provider spec: what code generation, the runtime and the CLI read.
//!
//! Every value here has been checked: paths and templates are parsed, durations are
//! [`Duration`]s, URLs are https (or loopback), every reference names something that exists.

use std::time::Duration;

use crate::template::Template;

mod endpoint;
mod policy;
mod response;
mod usage;

pub use endpoint::{BasicAuth, BodyValue, Encoding, Endpoint, Method, TokenEndpoint};
pub use policy::{LoginLimit, Policy, RefreshTiming, Retry, Rotation, ServerTime};
pub use response::{Example, ExpirySource, TokenResponse, Unit, ValueSource};
pub use usage::{ExpiredSignal, RenewedByAnswer, SessionSlot, Usage, challenge_error};

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
