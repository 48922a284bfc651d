//! What can go wrong, in terms a caller can act on. No variant ever carries a secret: bodies are
//! shown as short excerpts with token-like values and known secrets removed.

use std::sync::Arc;
use std::time::Duration;

use auth_spec::extract::ExtractError;

/// An authentication failure: what went wrong is its [`kind`](Self::kind). Cloneable, so that
/// every caller waiting for one renewal gets its outcome.
///
/// One pointer wide, as `std::io::Error` and `reqwest::Error` are: a
/// `Result<AccessToken, AuthError>` is two words and comes back in registers, which is most of
/// what awaiting a cached token costs over [`Authenticator::cached`](crate::Authenticator::cached)
/// (the `hot_path` benchmark).
#[derive(Clone, thiserror::Error)]
#[error(transparent)]
pub struct AuthError(Box<AuthErrorKind>);

impl AuthError {
    /// What went wrong, to match on.
    pub fn kind(&self) -> &AuthErrorKind {
        &self.0
    }

    /// What went wrong, owned.
    pub fn into_kind(self) -> AuthErrorKind {
        *self.0
    }

    /// A short label of what went wrong (`credentials_rejected`, `unreachable`, `store`, ...),
    /// for span fields and metrics: never a value from a request or an answer.
    pub fn label(&self) -> &'static str {
        self.0.label()
    }

    /// Whether the failure is about rejected credentials (as opposed to the network or the vendor).
    pub fn is_credentials_rejected(&self) -> bool {
        match self.kind() {
            AuthErrorKind::CredentialsRejected { .. } => true,
            AuthErrorKind::SessionExpired { relogin, .. } => relogin.is_credentials_rejected(),
            _ => false,
        }
    }

    pub(crate) fn unexpected(
        provider: &str,
        endpoint: &str,
        status: u16,
        detail: &ExtractError,
        excerpt: String,
    ) -> Self {
        AuthErrorKind::UnexpectedResponse {
            provider: provider.to_owned(),
            endpoint: endpoint.to_owned(),
            status,
            detail: detail.to_string(),
            excerpt,
        }
        .into()
    }

    /// [`AuthErrorKind::Config`]: the request or the setup is wrong.
    pub(crate) fn config(message: impl Into<String>) -> Self {
        AuthErrorKind::Config(message.into()).into()
    }
}

impl std::fmt::Debug for AuthError {
    // The kind's, as if there were no box.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<AuthErrorKind> for AuthError {
    fn from(kind: AuthErrorKind) -> Self {
        Self(Box::new(kind))
    }
}

impl From<StoreError> for AuthError {
    fn from(error: StoreError) -> Self {
        AuthErrorKind::Store(error).into()
    }
}

/// What went wrong in an [`AuthError`].
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AuthErrorKind {
    /// The vendor rejected the credentials (login answered with a rejection status). Not retried.
    #[error(
        "{provider}: the credentials were rejected (HTTP {status} from {endpoint}); check {hint}"
    )]
    CredentialsRejected {
        /// Provider name.
        provider: String,
        /// The endpoint called.
        endpoint: String,
        /// HTTP status.
        status: u16,
        /// Which variables to check.
        hint: String,
        /// Redacted body excerpt.
        excerpt: String,
    },
    /// The session ended (refresh refused) and logging in again failed too.
    #[error("{provider}: the session expired and logging in again failed: {relogin}")]
    SessionExpired {
        /// Provider name.
        provider: String,
        /// Why the new login failed.
        relogin: AuthError,
    },
    /// The vendor could not be reached, or kept failing, after every retry.
    #[error("{provider}: {endpoint} unreachable after {attempts} attempt(s): {last}")]
    Unreachable {
        /// Provider name.
        provider: String,
        /// The endpoint called.
        endpoint: String,
        /// Attempts made.
        attempts: u32,
        /// The last failure (network error or status), without secrets.
        last: String,
    },
    /// The vendor answered something the spec does not describe.
    #[error(
        "{provider}: unexpected answer from {endpoint} (HTTP {status}): {detail}; body: {excerpt}"
    )]
    UnexpectedResponse {
        /// Provider name.
        provider: String,
        /// The endpoint called.
        endpoint: String,
        /// HTTP status.
        status: u16,
        /// What was wrong (which path was missing, ...).
        detail: String,
        /// Redacted body excerpt.
        excerpt: String,
    },
    /// A credential the spec needs was not supplied.
    #[error("{provider}: credential `{name}` is missing; set the environment variable {env}")]
    MissingCredential {
        /// Provider name.
        provider: String,
        /// Credential name.
        name: String,
        /// Its environment variable.
        env: String,
    },
    /// No base URL: the spec's environment has none and none was given.
    #[error(
        "{provider}: environment `{environment}` has no base URL; supply one (the vendor's documents name no host)"
    )]
    MissingBaseUrl {
        /// Provider name.
        provider: String,
        /// Environment name.
        environment: String,
    },
    /// The configuration is invalid (unknown environment, bad base URL, ...).
    #[error("{0}")]
    Config(String),
    /// A template needed a value the session does not have.
    #[error("{provider}: {reference} is not available for {endpoint}")]
    MissingValue {
        /// Provider name.
        provider: String,
        /// The endpoint whose request needed it.
        endpoint: String,
        /// The placeholder.
        reference: String,
    },
    /// A path placeholder's value would leave its segment empty, `.` or `..`, so the path would
    /// name another resource. Nothing was sent; the value is not shown (it may be a secret).
    #[error(
        "{provider}: the value of {reference} cannot fill a path segment of {endpoint} (it is empty, `.` or `..`); nothing was sent"
    )]
    PathValueRefused {
        /// Provider name.
        provider: String,
        /// The endpoint whose path needed it.
        endpoint: String,
        /// The placeholder.
        reference: String,
    },
    /// A request to another origin than the base URL's (or one allowed with
    /// [`crate::AuthenticatorBuilder::allow_origin`]) was to carry the token. Nothing was sent.
    #[error(
        "{provider}: the token is only sent to {allowed}; refusing to send it to {origin} (allow that origin explicitly: `AuthenticatorBuilder::allow_origin`, or `--allow-origin` on the command line)"
    )]
    TokenOriginRefused {
        /// Provider name.
        provider: String,
        /// The refused request's origin (`scheme://host:port`).
        origin: String,
        /// The origins the token may go to.
        allowed: String,
    },
    /// A token endpoint answered with a redirect to another origin. It was not followed, so the
    /// credentials were not sent there.
    #[error(
        "{provider}: {endpoint} answered HTTP {status}, a redirect to {to}, another origin; token requests never follow a redirect to another origin, and the credentials were not sent there (check the base URL)"
    )]
    RedirectRefused {
        /// Provider name.
        provider: String,
        /// The endpoint called.
        endpoint: String,
        /// The redirect's status.
        status: u16,
        /// The origin the redirect points to.
        to: String,
    },
    /// The HTTP client given to [`crate::AuthenticatorBuilder::http_client`] followed a redirect
    /// of a token request to another origin. The answer was refused, but the credentials may have
    /// been sent there.
    #[error(
        "{provider}: the HTTP client followed a redirect of {endpoint} to {to}, another origin: the credentials may have been sent there (change them unless {to} is the vendor's); its answer was refused. Build the client from auth_runtime::http::client_builder(), which never follows a redirect to another origin"
    )]
    RedirectFollowed {
        /// Provider name.
        provider: String,
        /// The endpoint called.
        endpoint: String,
        /// The origin the answer came from.
        to: String,
    },
    /// A token answer's body was larger than the cap (`policy.max_answer_size`, default 1 MiB).
    /// Reading stopped at the cap.
    #[error(
        "{provider}: the answer from {endpoint} (HTTP {status}) exceeded {limit} bytes, the cap on token answers; it was not read further (the spec's `policy.max_answer_size` sets the cap)"
    )]
    AnswerTooLarge {
        /// Provider name.
        provider: String,
        /// The endpoint called.
        endpoint: String,
        /// HTTP status.
        status: u16,
        /// The cap in bytes.
        limit: u64,
    },
    /// A token answer broke off: the connection closed, or the body timed out, before its end.
    #[error("{provider}: the answer from {endpoint} (HTTP {status}) was cut off: {reason}")]
    AnswerIncomplete {
        /// Provider name.
        provider: String,
        /// The endpoint called.
        endpoint: String,
        /// HTTP status.
        status: u16,
        /// What happened (connection closed, timed out), and how much had arrived.
        reason: String,
    },
    /// The token store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The spec declares a fact `unknown` (the vendor's document does not give it) that this
    /// call needs, and the caller did not supply it. Nothing was sent.
    #[error("{provider}: the vendor's document does not say {fact}; {remedy}")]
    NotInDocument {
        /// Provider name.
        provider: String,
        /// What is unknown.
        fact: String,
        /// How to supply it.
        remedy: String,
    },
    /// A login is not allowed yet: the spec's `login_limit` is spent, or `min_login_interval`
    /// asks for a longer wait than the engine may wait (`max_login_wait`). Nothing was sent.
    #[error(
        "{provider}: {rule}; the next login is allowed at {} (in {})",
        humantime::format_rfc3339_seconds(*.next_allowed_at),
        humantime::format_duration(std::time::Duration::from_secs(.wait.as_secs().max(1)))
    )]
    LoginNotAllowedYet {
        /// Provider name.
        provider: String,
        /// The rule that holds the login back.
        rule: crate::limits::Rule,
        /// When the next login is allowed.
        next_allowed_at: std::time::SystemTime,
        /// How long that is from now.
        wait: Duration,
    },
    /// A computed credential (a signed JWT) could not be made: its key is not a key of its
    /// algorithm, or a value it names is missing. Names the credential and the key, never a value.
    #[error("{provider}: cannot compute credential `{credential}`: {reason}")]
    SigningFailed {
        /// Provider name.
        provider: String,
        /// The computed credential.
        credential: String,
        /// The credential that signs it.
        key: String,
        /// What is wrong (never a value).
        reason: String,
    },
    /// The spec declares alternative credential sets and none is complete.
    #[error("{provider}: no credential set is complete: {}", describe_sets(sets))]
    NoCredentialSet {
        /// Provider name.
        provider: String,
        /// Each set (credential names, in the spec's order) with the environment variables it
        /// lacks.
        sets: Vec<(Vec<String>, Vec<String>)>,
    },
}

impl AuthErrorKind {
    /// A short label of what went wrong (`credentials_rejected`, `unreachable`, `store`, ...),
    /// for span fields and metrics: never a value from a request or an answer.
    pub fn label(&self) -> &'static str {
        match self {
            AuthErrorKind::CredentialsRejected { .. } => "credentials_rejected",
            AuthErrorKind::SessionExpired { .. } => "session_expired",
            AuthErrorKind::Unreachable { .. } => "unreachable",
            AuthErrorKind::UnexpectedResponse { .. } => "unexpected_response",
            AuthErrorKind::MissingCredential { .. } => "missing_credential",
            AuthErrorKind::MissingBaseUrl { .. } => "missing_base_url",
            AuthErrorKind::Config(_) => "config",
            AuthErrorKind::MissingValue { .. } => "missing_value",
            AuthErrorKind::PathValueRefused { .. } => "path_value_refused",
            AuthErrorKind::TokenOriginRefused { .. } => "token_origin_refused",
            AuthErrorKind::RedirectRefused { .. } => "redirect_refused",
            AuthErrorKind::RedirectFollowed { .. } => "redirect_followed",
            AuthErrorKind::AnswerTooLarge { .. } => "answer_too_large",
            AuthErrorKind::AnswerIncomplete { .. } => "answer_incomplete",
            AuthErrorKind::Store(_) => "store",
            AuthErrorKind::NotInDocument { .. } => "not_in_document",
            AuthErrorKind::LoginNotAllowedYet { .. } => "login_not_allowed_yet",
            AuthErrorKind::SigningFailed { .. } => "signing_failed",
            AuthErrorKind::NoCredentialSet { .. } => "no_credential_set",
        }
    }
}

/// A token store failure.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Reading or writing the store failed.
    #[error("token store {path}: {source}")]
    Io {
        /// The store's location.
        path: String,
        /// The I/O error.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The store holds something this version cannot read.
    #[error("token store {path}: {message}")]
    Format {
        /// The store's location.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Another writer changed the entry first (compare-and-set on the revision failed).
    #[error(
        "token store: session `{key}` changed concurrently (expected revision {}, found {})",
        revision(.expected),
        revision(.found)
    )]
    Conflict {
        /// The session key.
        key: String,
        /// The revision the writer based its update on (`None`: nothing stored).
        expected: Option<u64>,
        /// The revision found.
        found: Option<u64>,
    },
    /// One entry cannot be read (written by something else, or damaged). Other entries are
    /// unaffected; the engine treats this one as absent and replaces it at the next renewal.
    #[error(
        "token store {path}: the session `{key}` cannot be read ({message}); it will be replaced"
    )]
    Corrupt {
        /// The store's location.
        path: String,
        /// The session key.
        key: String,
        /// What is wrong (never the content).
        message: String,
    },
    /// Another holder kept the session's lock for longer than the renewal may wait.
    #[error(
        "token store {store}: the session `{key}` is locked by {holder}; gave up after {waited:?} (if that process is stuck, stop it)"
    )]
    LockTimeout {
        /// The store's location.
        store: String,
        /// The session key.
        key: String,
        /// How long this renewal waited.
        waited: Duration,
        /// Who holds it, as far as the store knows (a process id).
        holder: String,
    },
    /// A shared store (Redis) cannot be reached or answered with an error. Cached valid tokens
    /// are still served; a renewal that needs the store fails with this, and nothing is sent.
    #[error("token store {store} is unavailable: {message}")]
    Unavailable {
        /// The store (its URL without a password).
        store: String,
        /// What failed.
        message: String,
    },
}

fn revision(r: &Option<u64>) -> String {
    r.map_or_else(|| "none".to_owned(), |r| r.to_string())
}

/// `[email, password] lacks ACME_EMAIL; [username, password] lacks ...`.
fn describe_sets(sets: &[(Vec<String>, Vec<String>)]) -> String {
    sets.iter()
        .map(|(names, lacking)| format!("[{}] lacks {}", names.join(", "), lacking.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}
