//! The engine: one [`Authenticator`] per provider, environment and credentials.
//!
//! - Hot path: a valid cached token is an `ArcSwap` load, one comparison and an `Arc` clone. No
//!   lock, no allocation.
//! - Single flight: renewals (login or refresh) run under one async mutex per engine, and under
//!   the store's lock across engines and processes. Whoever gets the lock re-checks the state, so
//!   1,000 callers on an expired token cause one request.
//! - Generations: every renewal increments the session's generation. An expired-token answer
//!   seen with generation N only invalidates the token if N is still current.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwapOption;
use auth_spec::ProviderSpec;
use auth_spec::model::{Endpoint, Retry};
use auth_spec::template::Reference;
use secrecy::ExposeSecret;
use url::Url;

use crate::clock::{Clock, SystemClock};
use crate::credentials::Credentials;
use crate::error::{AuthError, StoreError};
use crate::middleware::AuthMiddleware;
use crate::origin;
use crate::policy::{self, Action};
use crate::redact::excerpt;
use crate::request::{self, RetryScope, SendFailure, TemplateContext};
use crate::session::{AccessToken, Current, Flow, RenderedUsage, Session};
use crate::store::{MemoryStore, Pending, TokenStore};

mod answers;
mod flight;
mod flows;
mod idle;
mod logout;
mod rolling;
mod skew;
mod unknown;

pub use logout::LogoutOutcome;

/// Gets and keeps valid tokens for one provider, as its spec says.
///
/// Cheap to clone; clones share the session.
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

struct Inner {
    spec: Arc<ProviderSpec>,
    environment: String,
    base_url: Url,
    /// Whether the base URL was given instead of taken from the environment.
    custom_base_url: bool,
    /// Origins besides the base URL's that the token may be sent to.
    allowed_origins: Vec<Url>,
    credentials: Credentials,
    http: reqwest::Client,
    store: Arc<dyn TokenStore>,
    key: String,
    clock: Arc<dyn Clock>,
    retry: Retry,
    current: ArcSwapOption<Current>,
    /// Held for the whole of a renewal; the value is when this engine last logged in.
    flight: tokio::sync::Mutex<Option<Instant>>,
    /// Announces the end of each renewal, with its error if it failed, so that the callers who
    /// waited for it share its outcome instead of each trying again in turn.
    landed: tokio::sync::watch::Sender<Landing>,
    background: AtomicBool,
    /// Set by [`Authenticator::shutdown`]: no more background renewals.
    closing: AtomicBool,
    /// How long a renewal waits for the store's lock.
    lock_wait: Duration,
    /// How long a login may wait for `min_login_interval` before failing instead.
    max_login_wait: Duration,
    /// The answer paths later requests name; only those are kept in the session.
    kept_paths: Vec<auth_spec::path::FieldPath>,
    /// Credentials that may be absent: their entries are left out when they are.
    optional: Vec<String>,
}

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
    /// [`StoreError::LockTimeout`] naming the holder (default
    /// [`crate::store::DEFAULT_LOCK_WAIT`]). A valid cached or stored token never waits.
    pub fn lock_wait(mut self, wait: Duration) -> Self {
        self.lock_wait = wait;
        self
    }

    /// How long a login may wait for the spec's `min_login_interval` (default
    /// [`DEFAULT_MAX_LOGIN_WAIT`]); a longer wait fails at once with
    /// [`AuthError::LoginNotAllowedYet`], which says when the next login is allowed. A spent
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
    /// with [`AuthError::TokenOriginRefused`]: a vendor whose API lives on another host than its
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
    /// origin is refused ([`AuthError::RedirectFollowed`]), but the credentials may already have
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
                    AuthError::Config(format!(
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
                return Err(AuthError::MissingBaseUrl {
                    provider: spec.name.clone(),
                    environment: environment.name.clone(),
                });
            }
        };
        let base_url = origin::check_url(&spec.name, "base URL", &base)?;
        let custom_base_url = self.base_url.is_some();
        let allowed_origins = self
            .allowed_origins
            .iter()
            .map(|raw| origin::check_url(&spec.name, "allowed origin", raw))
            .collect::<Result<Vec<_>, _>>()?;
        let http = match self.http {
            Some(client) => client,
            None => crate::http::client_builder_with_timeout(self.timeout)
                .build()
                .map_err(|e| AuthError::Config(format!("HTTP client: {e}")))?,
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
                credentials,
                optional,
                http,
                store: self.store.unwrap_or_else(|| Arc::new(MemoryStore::new())),
                key,
                clock: self.clock,
                retry,
                current: ArcSwapOption::empty(),
                flight: tokio::sync::Mutex::new(None),
                landed: tokio::sync::watch::Sender::new(Landing::default()),
                background: AtomicBool::new(false),
                closing: AtomicBool::new(false),
                lock_wait: self.lock_wait,
                max_login_wait: self.max_login_wait,
                kept_paths,
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

/// The end of a renewal, as announced to the callers waiting for it.
#[derive(Clone, Default)]
struct Landing {
    /// Counts renewals that ended.
    seq: u64,
    /// Why the last one failed, if it did.
    error: Option<AuthError>,
}

/// What [`Authenticator::status`] reports: times and state, never secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Provider name.
    pub provider: String,
    /// Environment name.
    pub environment: String,
    /// Base URL in use.
    pub base_url: String,
    /// Whether the base URL was given ([`AuthenticatorBuilder::base_url`]) instead of taken
    /// from the environment: then `environment` only names the spec's environment whose
    /// settings apply, not where requests go.
    pub custom_base_url: bool,
    /// The stored session, if any.
    pub session: Option<SessionStatus>,
    /// A renewal recorded in the store whose outcome is not (yet) recorded: one in flight in
    /// another process, or one whose process died (then a login may have left a session open
    /// at the vendor, and a refresh's token counts as spent).
    pub pending: Option<Pending>,
    /// A login whose process died before recording its outcome: the vendor may hold a session
    /// from it.
    pub abandoned_login: Option<Pending>,
    /// Why the stored entry cannot be read, if it cannot (it is replaced at the next renewal).
    pub unreadable: Option<String>,
}

/// Times of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStatus {
    /// Generation (logins + refreshes so far in this session's lineage).
    pub generation: u64,
    /// When the session's login was sent.
    pub login_at: SystemTime,
    /// When the current access token was requested.
    pub issued_at: SystemTime,
    /// When the access token expires, if known.
    pub access_expires_at: Option<SystemTime>,
    /// When the refresh token / session expires, if known.
    pub refresh_expires_at: Option<SystemTime>,
    /// Whether a refresh token is held.
    pub has_refresh_token: bool,
    /// Whether the access token is still valid by its known expiry.
    pub access_valid: bool,
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

    /// The spec this engine runs.
    pub fn spec(&self) -> &Arc<ProviderSpec> {
        &self.inner.spec
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }

    /// The key the session is stored under.
    pub fn store_key(&self) -> &str {
        &self.inner.key
    }

    /// A valid access token: the cached one if still good, else one from a login or refresh
    /// (exactly one for all concurrent callers).
    pub async fn access_token(&self) -> Result<AccessToken, AuthError> {
        if let Some(token) = self.cached() {
            return Ok(token);
        }
        // Boxed so that this future stays small: the renewal's state is large, and the hot
        // path should not pay for setting it up.
        Box::pin(self.slow_path(false)).await
    }

    /// A valid access token, renewed first when the policy says a renewal is due even though
    /// the current token is still valid (inside the margin of `ahead_of_expiry` or
    /// `before_expiry`).
    ///
    /// For callers that ask once and exit (scripts, the CLI): [`Self::access_token`] starts
    /// that renewal in the background and hands out the current token, and a background task
    /// dies with its process, so a vendor that allows refresh only *before* expiry would never
    /// be refreshed. If the renewal fails, the still-valid token is returned (the failure is
    /// logged).
    pub async fn renew_if_due(&self) -> Result<AccessToken, AuthError> {
        if let Some(token) = self.cached() {
            return Ok(token);
        }
        Box::pin(self.slow_path(true)).await
    }

    /// Waits for a renewal in flight (such as a background refresh started by
    /// [`Self::access_token`]) to end, and starts no more background renewals. Call it before a
    /// short-lived program exits, so that a refresh already sent is not cut off before its
    /// answer is stored. Foreground calls keep working afterwards.
    pub async fn shutdown(&self) {
        self.inner.closing.store(true, Ordering::Release);
        // A background renewal already spawned (maybe not yet started) is waited for without
        // taking the renewal lock: holding it, even briefly, would make that renewal step
        // aside as if another were in flight.
        while self.inner.background.load(Ordering::Acquire) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Then any renewal still in flight (no background one can start any more).
        drop(self.inner.flight.lock().await);
    }

    /// The cached token if it can be used as is, without waiting: no lock, no clock read (a
    /// clock task flags the token once it is due), one `Arc` clone.
    #[inline]
    pub fn cached(&self) -> Option<AccessToken> {
        match &*self.inner.current.load() {
            Some(current) if current.is_fresh() => Some(current.token()),
            _ => None,
        }
    }

    fn decide(&self, current: Option<&Current>) -> Action {
        policy::decide(
            &self.inner.spec.policy,
            self.inner.spec.refresh.is_some(),
            current,
            self.inner.clock.now(),
        )
    }

    /// Marks the token of `generation` as expired (an API call answered with the spec's
    /// expired-token signal). Does nothing if a newer token is already current, so a burst of
    /// such answers costs one refresh.
    pub fn invalidate(&self, generation: u64) {
        self.inner.current.rcu(|current| match current {
            Some(c) if c.session.generation == generation && !c.invalidated => {
                Some(Arc::new(c.with_session(Arc::clone(&c.session), true)))
            }
            other => other.clone(),
        });
    }

    fn template_context<'a>(&'a self, session: Option<&'a Session>) -> TemplateContext<'a> {
        TemplateContext {
            credentials: &self.inner.credentials,
            session,
            leave_out_session: false,
            now: self.inner.clock.wall(),
            optional: &self.inner.optional,
        }
    }

    /// A short excerpt of an answer's body for an error, with every secret this engine knows
    /// (credentials, and the tokens of `session`) removed, in every form a request carried it.
    fn excerpt(&self, body: &str, session: Option<&Session>) -> String {
        let spec = &self.inner.spec;
        let endpoints = std::iter::once(&spec.login.request)
            .chain(spec.refresh.as_ref().map(|r| &r.request))
            .chain(spec.logout.as_ref());
        let secrets = self.template_context(session).secrets(endpoints);
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        excerpt(body, &secrets)
    }

    fn prepare(
        &self,
        endpoint: &Endpoint,
        name: &str,
        session: Option<&Session>,
    ) -> Result<request::Prepared, AuthError> {
        self.prepare_with(endpoint, name, self.template_context(session))
    }

    /// The login, carrying the `previous` session's values where its templates name them, and
    /// leaving those entries out when there is none.
    fn prepare_login(
        &self,
        name: &str,
        previous: Option<&Session>,
    ) -> Result<request::Prepared, AuthError> {
        let ctx = TemplateContext {
            leave_out_session: true,
            ..self.template_context(previous)
        };
        self.prepare_with(&self.inner.spec.login.request, name, ctx)
    }

    fn prepare_with(
        &self,
        endpoint: &Endpoint,
        name: &str,
        ctx: TemplateContext<'_>,
    ) -> Result<request::Prepared, AuthError> {
        if endpoint.encoding == auth_spec::model::Encoding::Unknown {
            let which = name.split_whitespace().next().unwrap_or(name);
            return Err(unknown::encoding_unknown(&self.inner.spec, which));
        }
        // Computed credentials are signed afresh for each request that sends them.
        let signed = crate::credentials::signed::for_endpoint(
            &self.inner.spec,
            endpoint,
            ctx.credentials,
            ctx.now,
        )?;
        let ctx = match &signed {
            Some(credentials) => TemplateContext { credentials, ..ctx },
            None => ctx,
        };
        request::prepare(&self.inner.base_url, endpoint, &ctx).map_err(|unfilled| match unfilled {
            request::Unfilled::Missing(reference) => AuthError::MissingValue {
                provider: self.inner.spec.name.clone(),
                endpoint: name.to_owned(),
                reference: reference.to_string(),
            },
            request::Unfilled::NotASegment(reference) => AuthError::PathValueRefused {
                provider: self.inner.spec.name.clone(),
                endpoint: name.to_owned(),
                reference: reference.to_string(),
            },
        })
    }

    async fn send(
        &self,
        prepared: &request::Prepared,
        endpoint: &str,
        scope: RetryScope,
    ) -> Result<auth_spec::extract::Answer, AuthError> {
        self.send_raw(prepared, scope)
            .await
            .map_err(|failure| self.send_error(endpoint, failure))
    }

    /// Sends with this engine's client, retries and answer cap.
    async fn send_raw(
        &self,
        prepared: &request::Prepared,
        scope: RetryScope,
    ) -> Result<auth_spec::extract::Answer, SendFailure> {
        let mut sent = 0;
        self.send_counted(prepared, scope, self.inner.retry.max_attempts, &mut sent)
            .await
    }

    /// Sends with at most `max_attempts` attempts (a login budget may allow fewer than the
    /// retry policy); `sent` says how many were made.
    async fn send_counted(
        &self,
        prepared: &request::Prepared,
        scope: RetryScope,
        max_attempts: u32,
        sent: &mut u32,
    ) -> Result<auth_spec::extract::Answer, SendFailure> {
        let retry = auth_spec::model::Retry {
            max_attempts: max_attempts.clamp(1, self.inner.retry.max_attempts.max(1)),
            ..self.inner.retry
        };
        request::send(
            &self.inner.http,
            prepared,
            &retry,
            scope,
            &*self.inner.clock,
            self.inner.spec.policy.max_answer_bytes,
            sent,
        )
        .await
    }

    /// The error a failed send means for the caller.
    fn send_error(&self, endpoint: &str, failure: SendFailure) -> AuthError {
        let provider = self.inner.spec.name.clone();
        let endpoint = endpoint.to_owned();
        match failure {
            SendFailure::GaveUp { attempts, last, .. } => AuthError::Unreachable {
                provider,
                endpoint,
                attempts,
                last,
            },
            SendFailure::RedirectRefused { status, to } => AuthError::RedirectRefused {
                provider,
                endpoint,
                status,
                to,
            },
            SendFailure::RedirectFollowed { to } => AuthError::RedirectFollowed {
                provider,
                endpoint,
                to,
            },
            SendFailure::TooLarge { status, limit } => AuthError::AnswerTooLarge {
                provider,
                endpoint,
                status,
                limit,
            },
            SendFailure::Incomplete { status, reason } => AuthError::AnswerIncomplete {
                provider,
                endpoint,
                status,
                reason,
            },
        }
    }

    /// Whether this engine knows how the token is sent on API calls: [`AuthError::NotInDocument`]
    /// for a spec with `usage: unknown` when no [`AuthenticatorBuilder::token_header`] was given.
    /// Lets a caller find out before any login.
    pub fn check_usage(&self) -> Result<(), AuthError> {
        if self.inner.spec.usage.unknown {
            return Err(unknown::usage_unknown(&self.inner.spec));
        }
        Ok(())
    }

    /// Puts the token on an outgoing request as the spec's `usage` says (headers, query).
    ///
    /// Only on a request to the base URL's origin or one allowed with
    /// [`AuthenticatorBuilder::allow_origin`]; any other is refused with
    /// [`AuthError::TokenOriginRefused`] and left untouched.
    pub fn apply(
        &self,
        token: &AccessToken,
        request: &mut reqwest::Request,
    ) -> Result<(), AuthError> {
        self.check_destination(request.url())?;
        if self.inner.spec.usage.unknown {
            return Err(unknown::usage_unknown(&self.inner.spec));
        }
        let fresh;
        let rendered = match token.0.usage.get() {
            Some(rendered) => rendered,
            // A usage naming the current time or a computed credential changes with every call.
            None if self.usage_is_timed() => {
                fresh = self.render_usage(&token.0.session)?;
                &fresh
            }
            None => {
                let rendered = self.render_usage(&token.0.session)?;
                token.0.usage.get_or_init(|| rendered)
            }
        };
        let headers = request.headers_mut();
        for (name, value) in &rendered.headers {
            headers.insert(name.clone(), value.clone());
        }
        if !rendered.query.is_empty() {
            let mut query = request.url_mut().query_pairs_mut();
            for (name, value) in &rendered.query {
                query.append_pair(name, value);
            }
        }
        Ok(())
    }

    /// Whether the token may go to `url`: its origin is the base URL's or an allowed one.
    fn check_destination(&self, url: &Url) -> Result<(), AuthError> {
        let inner = &self.inner;
        if origin::same_origin(url, &inner.base_url)
            || inner
                .allowed_origins
                .iter()
                .any(|allowed| origin::same_origin(url, allowed))
        {
            return Ok(());
        }
        let allowed: Vec<String> = std::iter::once(&inner.base_url)
            .chain(&inner.allowed_origins)
            .map(origin::origin)
            .collect();
        Err(AuthError::TokenOriginRefused {
            provider: inner.spec.name.clone(),
            origin: origin::origin(url),
            allowed: allowed.join(", "),
        })
    }

    /// Whether the usage templates name `${now.*}` or a computed credential.
    fn usage_is_timed(&self) -> bool {
        let spec = &self.inner.spec;
        let mut templates = spec
            .usage
            .headers
            .iter()
            .chain(&spec.usage.query)
            .map(|(_, t)| t);
        templates
            .clone()
            .any(|t| t.references().any(|r| matches!(r, Reference::Now(_))))
            || crate::credentials::signed::uses_computed(spec, &mut templates)
    }

    fn render_usage(&self, session: &Session) -> Result<RenderedUsage, AuthError> {
        let usage = &self.inner.spec.usage;
        let ctx = self.template_context(Some(session));
        let signed = if self.usage_is_timed() && !self.inner.spec.computed.is_empty() {
            Some(crate::credentials::signed::with_computed(
                &self.inner.spec,
                ctx.credentials,
                ctx.now,
            )?)
        } else {
            None
        };
        let ctx = match &signed {
            Some(credentials) => TemplateContext { credentials, ..ctx },
            None => ctx,
        };
        let missing = |reference: Reference| AuthError::MissingValue {
            provider: self.inner.spec.name.clone(),
            endpoint: "API call".into(),
            reference: reference.to_string(),
        };
        let mut headers = Vec::with_capacity(usage.headers.len());
        for (name, template) in &usage.headers {
            let Some(value) = ctx.render_entry(template).map_err(missing)? else {
                continue;
            };
            let mut value = http::HeaderValue::from_str(&value).map_err(|_| {
                AuthError::Config(format!(
                    "{}: header {name} has a value that is not valid in a header",
                    self.inner.spec.name
                ))
            })?;
            // Keeps the value out of http's Debug output.
            value.set_sensitive(true);
            let name = http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| AuthError::Config(format!("invalid header name {name}")))?;
            headers.push((name, value));
        }
        let mut query = Vec::with_capacity(usage.query.len());
        for (name, template) in &usage.query {
            if let Some(value) = ctx.render_entry(template).map_err(missing)? {
                query.push((name.clone(), value));
            }
        }
        Ok(RenderedUsage { headers, query })
    }

    /// Adds the token to a request being built.
    pub async fn authorize(
        &self,
        builder: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, AuthError> {
        let token = self.access_token().await?;
        let (client, request) = builder.build_split();
        let mut request =
            request.map_err(|e| AuthError::Config(format!("invalid request: {e}")))?;
        self.apply(&token, &mut request)?;
        Ok(reqwest::RequestBuilder::from_parts(client, request))
    }

    /// Whether an API answer says the token expired, per the spec's `usage.expired`.
    pub fn is_expired_answer(&self, status: u16, headers: &http::HeaderMap) -> bool {
        let Some(signal) = &self.inner.spec.usage.expired else {
            return false;
        };
        // Most answers are not a listed status: decide without looking at the headers.
        if !signal.status.contains(&status) {
            return false;
        }
        signal.matches(
            status,
            headers
                .iter()
                .filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?)))
                .collect::<Vec<_>>(),
        )
    }

    /// Whether an answer with this status can only be judged "expired" from its body (the
    /// spec's `usage.expired.body` conditions): then the body must be read to decide.
    pub fn expired_answer_needs_body(&self, status: u16) -> bool {
        self.inner
            .spec
            .usage
            .expired
            .as_ref()
            .is_some_and(|s| !s.body.is_empty() && s.status.contains(&status))
    }

    /// Whether an answer's body says the token expired, per `usage.expired.body`.
    pub fn is_expired_body(&self, status: u16, headers: &http::HeaderMap, body: &str) -> bool {
        let Some(signal) = &self.inner.spec.usage.expired else {
            return false;
        };
        let answer = auth_spec::extract::Answer {
            status,
            headers: headers
                .iter()
                .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                .collect(),
            body: body.to_owned(),
        };
        signal.matches_body(&answer)
    }

    /// A `reqwest_middleware` layer adding the token and refreshing on expired-token answers.
    pub fn middleware(&self) -> AuthMiddleware {
        AuthMiddleware::new(self.clone())
    }

    /// A client with [`Self::middleware`] over `client`.
    pub fn client(&self, client: reqwest::Client) -> reqwest_middleware::ClientWithMiddleware {
        reqwest_middleware::ClientBuilder::new(client)
            .with(self.middleware())
            .build()
    }

    /// Session state and times (from memory, else from the store). Never secrets.
    pub async fn status(&self) -> Result<Status, AuthError> {
        let (entry, unreadable) = match self.inner.store.load(&self.inner.key).await {
            Ok(entry) => (entry, None),
            Err(e @ StoreError::Corrupt { .. }) => (None, Some(e.to_string())),
            Err(e) => return Err(e.into()),
        };
        let entry = entry.unwrap_or_default();
        let session = match self.inner.current.load_full() {
            Some(c) => Some(Session::clone(&c.session)),
            None => entry.session,
        };
        let wall = self.inner.clock.wall();
        Ok(Status {
            provider: self.inner.spec.name.clone(),
            environment: self.inner.environment.clone(),
            base_url: self
                .inner
                .base_url
                .as_str()
                .trim_end_matches('/')
                .to_owned(),
            custom_base_url: self.inner.custom_base_url,
            session: session.map(|s| SessionStatus {
                generation: s.generation,
                login_at: s.login_at,
                issued_at: s.issued_at,
                access_expires_at: s.access_expires_at,
                refresh_expires_at: s.refresh_expires_at,
                has_refresh_token: s.refresh_token.is_some(),
                access_valid: s.access_expires_at.is_none_or(|t| wall < t),
            }),
            pending: entry.pending,
            abandoned_login: entry.abandoned_login,
            unreadable,
        })
    }

    /// The last token answer's JSON body and which call produced it, for typed access by
    /// generated clients. Holds secrets: do not log it.
    ///
    /// The whole answer is known only to the process that received it; a session read from the
    /// store keeps only the values later requests need (see [`Session::last_response`]).
    pub fn last_response(&self) -> Option<(Flow, auth_spec::extract::SecretJson)> {
        self.inner.current.load().as_ref().and_then(|c| {
            c.answer
                .clone()
                .or_else(|| c.session.last_response.clone())
                .map(|r| (c.session.last_flow, r))
        })
    }
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("provider", &self.inner.spec.name)
            .field("environment", &self.inner.environment)
            .field("base_url", &self.inner.base_url.as_str())
            .field("credentials", &self.inner.credentials)
            .finish_non_exhaustive()
    }
}
