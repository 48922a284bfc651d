//! Building an [`Authenticator`]: where requests go, the store and its key, the HTTP client, timeouts and waits; and the default store key.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use auth_spec::ProviderSpec;
use auth_spec::model::Retry;
use secrecy::ExposeSecret;
use url::Url;

use crate::clock::{Clock, SystemClock};
use crate::credentials::Credentials;
use crate::error::{AuthError, AuthErrorKind};
use crate::origin;
use crate::store::{MemoryStore, TokenStore};

use super::{Authenticator, Inner, unknown};

/// Builds an [`Authenticator`].
pub struct AuthenticatorBuilder {
    spec: Arc<ProviderSpec>,
    credentials: Credentials,
    environment: Option<String>,
    base_url: Option<String>,
    allowed_origins: Vec<String>,
    store: Option<Arc<dyn TokenStore>>,
    store_key: Option<String>,
    http: Option<reqwest::Client>,
    timeout: Duration,
    clock: Arc<dyn Clock>,
    retry: Option<Retry>,
    lock_wait: Duration,
    max_login_wait: Duration,
    supplied: unknown::Supplied,
}

/// How long a login waits for the spec's `min_login_interval` by default.
pub const DEFAULT_MAX_LOGIN_WAIT: Duration = Duration::from_secs(10);

impl AuthenticatorBuilder {
    /// How long a renewal waits for another holder of the session's lock in the store (another
    /// process renewing the same session) before it gives up with
    /// [`StoreError::LockTimeout`](crate::StoreError::LockTimeout) naming the holder (default
    /// [`crate::store::DEFAULT_LOCK_WAIT`]). A valid cached or stored token never waits.
    pub fn lock_wait(mut self, wait: Duration) -> Self {
        self.lock_wait = wait;
        self
    }

    /// How long a login may wait for the spec's `min_login_interval` (default
    /// [`DEFAULT_MAX_LOGIN_WAIT`]); a longer wait fails at once with
    /// [`AuthErrorKind::LoginNotAllowedYet`], which says when the next login is allowed. A spent
    /// `login_limit` never waits.
    pub fn max_login_wait(mut self, wait: Duration) -> Self {
        self.max_login_wait = wait;
        self
    }

    /// For a spec with `usage: unknown` (the vendor's document does not say how the token is
    /// sent): puts the token on API calls in this header, a template such as
    /// `Bearer ${session.access_token}` (it may also name the spec's credentials). Repeatable.
    /// [`Self::build`] refuses it for a spec that states its `usage`.
    pub fn token_header(mut self, name: impl Into<String>, template: impl Into<String>) -> Self {
        self.supplied
            .token_headers
            .push((name.into(), template.into()));
        self
    }

    /// For endpoints with `encoding: unknown` (the vendor's document does not say how the
    /// body is encoded): sends their bodies as [`auth_spec::model::Encoding::Json`] or
    /// [`auth_spec::model::Encoding::Form`]. [`Self::build`] refuses it when no endpoint
    /// leaves the encoding unknown.
    pub fn body_encoding(mut self, encoding: auth_spec::model::Encoding) -> Self {
        self.supplied.body_encoding = Some(encoding);
        self
    }

    /// Uses the named environment of the spec instead of its default.
    pub fn environment(mut self, name: impl Into<String>) -> Self {
        self.environment = Some(name.into());
        self
    }

    /// Uses this base URL (an origin such as `https://api.example.com`) instead of the
    /// environment's. Required when the spec's environment names no host.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Also lets the token go to this origin (`https://api.example.com`; plain http only to a
    /// loopback host). By default [`Authenticator::apply`], [`Authenticator::authorize`] and the
    /// middleware put the token only on requests to the base URL's origin, and refuse any other
    /// with [`AuthErrorKind::TokenOriginRefused`]: a vendor whose API lives on another host than its
    /// token endpoint needs this. Repeatable.
    pub fn allow_origin(mut self, url: impl Into<String>) -> Self {
        self.allowed_origins.push(url.into());
        self
    }

    /// Keeps sessions in this store (default: a fresh [`MemoryStore`]).
    pub fn store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The key the session is stored under (default: derived from provider, base URL and the
    /// credential identity; see [`Authenticator::store_key`]).
    pub fn store_key(mut self, key: impl Into<String>) -> Self {
        self.store_key = Some(key.into());
        self
    }

    /// Sends token requests with this client (default: [`crate::http::client_builder`] with
    /// `timeout`). It must not carry the auth middleware. Start from
    /// [`crate::http::client_builder`] to add proxies or TLS settings: it never follows a
    /// redirect to another origin. With a client that does, an answer that came from another
    /// origin is refused ([`AuthErrorKind::RedirectFollowed`]), but the credentials may already have
    /// been sent there.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Timeout of each token request (default 30 s); ignored with [`Self::http_client`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Uses this clock (tests move time with [`crate::ManualClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Overrides the spec's retry settings.
    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Checks the configuration and builds the engine.
    pub fn build(self) -> Result<Authenticator, AuthError> {
        let spec = unknown::resolve(self.spec, self.supplied)?;
        // The first complete credential set; the other sets' credentials are left out.
        let credentials = self.credentials.resolved(&spec)?;
        let optional: Vec<String> = spec
            .credentials
            .iter()
            .filter(|c| spec.is_optional(&c.name))
            .map(|c| c.name.clone())
            .collect();
        let environment = match self.environment {
            Some(name) => spec
                .environment(&name)
                .ok_or_else(|| {
                    let known: Vec<&str> =
                        spec.environments.iter().map(|e| e.name.as_str()).collect();
                    AuthError::config(format!(
                        "{}: unknown environment `{name}` (known: {})",
                        spec.name,
                        known.join(", ")
                    ))
                })?
                .clone(),
            None => spec.default_environment().clone(),
        };
        let base = match (&self.base_url, &environment.base_url) {
            (Some(url), _) | (None, Some(url)) => url.clone(),
            (None, None) => {
                return Err(AuthErrorKind::MissingBaseUrl {
                    provider: spec.name.clone(),
                    environment: environment.name.clone(),
                }
                .into());
            }
        };
        let base_url = origin::check_url(&spec.name, "base URL", &base)?;
        let custom_base_url = self.base_url.is_some();
        let allowed_origins = self
            .allowed_origins
            .iter()
            .map(|raw| origin::check_url(&spec.name, "allowed origin", raw))
            .collect::<Result<Vec<_>, _>>()?;
        let written_origins = std::iter::once(&base_url)
            .chain(&allowed_origins)
            .filter_map(origin::Written::of)
            .collect();
        let http = match self.http {
            Some(client) => client,
            None => crate::http::client_builder_with_timeout(self.timeout)
                .build()
                .map_err(|e| AuthError::config(format!("HTTP client: {e}")))?,
        };
        let key = self
            .store_key
            .unwrap_or_else(|| store_key(&spec, &base_url, &credentials));
        let retry = self.retry.unwrap_or(spec.policy.retry);
        let kept_paths = crate::kept::needed_paths(&spec);
        Ok(Authenticator {
            inner: Arc::new(Inner {
                environment: environment.name.clone(),
                spec,
                base_url,
                custom_base_url,
                allowed_origins,
                written_origins,
                credentials,
                optional,
                http,
                store: self.store.unwrap_or_else(|| Arc::new(MemoryStore::new())),
                key,
                clock: self.clock,
                retry,
                current: ArcSwapOption::empty(),
                flight: tokio::sync::Mutex::new(None),
                landings: Default::default(),
                background: AtomicBool::new(false),
                closing: AtomicBool::new(false),
                lock_wait: self.lock_wait,
                max_login_wait: self.max_login_wait,
                kept_paths,
                counters: Default::default(),
            }),
        })
    }
}

/// The default store key: `provider|base URL|identity`, where the identity is a hash of the
/// credential values, so the key never contains a secret but differs per account.
pub fn store_key(spec: &ProviderSpec, base_url: &Url, credentials: &Credentials) -> String {
    // FNV-1a over the values; a collision only means two accounts share a cache slot name,
    // and the slot is still checked against nothing secret.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (name, value) in credentials.iter() {
        for byte in name
            .as_bytes()
            .iter()
            .chain(b"=")
            .chain(value.expose_secret().as_bytes())
            .chain(b"\0")
        {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!(
        "{}|{}|{hash:016x}",
        spec.name,
        base_url.as_str().trim_end_matches('/')
    )
}

impl Authenticator {
    /// Starts building an engine for `spec` with `credentials`.
    pub fn builder(spec: Arc<ProviderSpec>, credentials: Credentials) -> AuthenticatorBuilder {
        AuthenticatorBuilder {
            spec,
            credentials,
            environment: None,
            base_url: None,
            allowed_origins: Vec::new(),
            store: None,
            store_key: None,
            http: None,
            timeout: Duration::from_secs(30),
            clock: Arc::new(SystemClock),
            retry: None,
            lock_wait: crate::store::DEFAULT_LOCK_WAIT,
            max_login_wait: DEFAULT_MAX_LOGIN_WAIT,
            supplied: unknown::Supplied::default(),
        }
    }
}
