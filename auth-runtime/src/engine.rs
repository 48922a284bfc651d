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
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use auth_spec::ProviderSpec;
use auth_spec::model::Retry;
use url::Url;

use crate::clock::Clock;
use crate::credentials::Credentials;
use crate::error::AuthError;
use crate::policy::{self, Action};
use crate::session::{AccessToken, Current};
use crate::store::TokenStore;

mod answers;
mod builder;
mod current;
mod flight;
mod flows;
mod idle;
mod landing;
mod logout;
mod recorded;
mod rolling;
mod send;
mod skew;
mod status;
mod unknown;
mod usage;

pub use builder::{AuthenticatorBuilder, DEFAULT_MAX_LOGIN_WAIT, store_key};
pub use logout::LogoutOutcome;
pub(crate) use rolling::Sent;
pub use status::{SessionStatus, Status};

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
    /// The base URL's origin and the allowed ones, as a URI plainly writes them.
    written_origins: Vec<crate::origin::Written>,
    credentials: Credentials,
    http: reqwest::Client,
    store: Arc<dyn TokenStore>,
    key: String,
    clock: Arc<dyn Clock>,
    retry: Retry,
    current: ArcSwapOption<Current>,
    /// Held for the whole of a renewal; the value is when this engine last logged in. Taken
    /// through [`landing::Flight`], which announces on `landings` when it is let go.
    flight: tokio::sync::Mutex<Option<Instant>>,
    /// Where each holder of `flight` announces that it let go (with a renewal's error), so that
    /// the callers who waited share the outcome instead of each trying again in turn.
    landings: landing::Landings,
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
    /// What it has done: [`Authenticator::stats`].
    counters: crate::stats::Counters,
}

impl Authenticator {
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
    ///
    /// The future is ready at its first poll when the cached token can be used; that poll is
    /// inlined into the caller, so awaiting a cached token costs about what [`Self::cached`]
    /// does.
    #[inline]
    pub fn access_token(&self) -> AccessTokenFuture<'_> {
        AccessTokenFuture {
            step: Step::Cached(self),
        }
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
        drop(self.flight().await);
    }

    /// The cached token if it can be used as is, without waiting: no lock, no clock read (a
    /// clock task flags the token once it is due), one `Arc` clone.
    #[inline]
    pub fn cached(&self) -> Option<AccessToken> {
        self.with_fresh(Current::token)
    }

    /// `f` on the engine's view of the session while it is held, if its token can be used as
    /// is: what [`Self::cached`] hands out and [`Self::with_cached_hit`] lends.
    #[inline]
    fn with_fresh<R>(&self, f: impl FnOnce(&Current) -> R) -> Option<R> {
        match &*self.inner.current.load() {
            Some(current) if current.is_fresh() => Some(f(current)),
            _ => None,
        }
    }

    /// [`Self::cached`], reported as a cache hit (a TRACE event): what a caller takes first
    /// ([`AccessTokenFuture`]'s first poll, the layers).
    ///
    /// Only the level check is inline: the event, when TRACE is on, is built out of line, so
    /// that a hit with TRACE off costs two loads and a test over `cached()`, with no stack
    /// frame of its own (the event's arguments made one, which every hit paid for).
    #[inline]
    pub(crate) fn cached_hit(&self) -> Option<AccessToken> {
        self.with_cached_hit(|shard| AccessToken(Arc::clone(shard)))
    }

    /// [`Self::cached_hit`] lent rather than handed out: `f` reads the token while the engine's
    /// view of it is held, and nothing is counted (no `Arc` clone, no drop). For the layers,
    /// which need the token only to write it on a request.
    #[inline]
    pub(crate) fn with_cached_hit<R>(
        &self,
        f: impl FnOnce(&Arc<crate::session::Shard>) -> R,
    ) -> Option<R> {
        self.with_fresh(|current| {
            let shard = current.shard();
            if tracing::level_enabled!(tracing::Level::TRACE) {
                self.trace_hit(shard.session.generation);
            }
            f(shard)
        })
    }

    /// Whether an API answer can call for its request to be sent again: the spec says how an
    /// expired token is answered (`usage.expired`), or, where the body is read (`body`: the
    /// reqwest middleware), that an answer can end the session (`usage.failures`). Otherwise
    /// the layers keep no copy of a request for a replay that cannot come.
    #[inline]
    pub(crate) fn answers_may_replay(&self, body: bool) -> bool {
        let usage = &self.inner.spec.usage;
        usage.expired.is_some()
            || (body
                && usage
                    .failures
                    .iter()
                    .any(|r| r.means == auth_spec::judge::FailureMeaning::SessionOver))
    }

    /// The cache hit's TRACE event.
    #[cold]
    #[inline(never)]
    fn trace_hit(&self, generation: u64) {
        tracing::trace!(provider = %self.inner.spec.name, generation, "cached token");
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
}

/// The future of [`Authenticator::access_token`].
///
/// A named type rather than an `async fn`'s, so that its first poll, which hands out the cached
/// token, can be inlined across crates: the hot path pays no state machine. Two words (the
/// engine, or once the cached token proved unusable, the boxed rest), as little as a caller's
/// own state machine can hold and move. Anything else is boxed: for a caller that finds a
/// renewal in flight, a small wait; for the rarer steps, the whole slow path.
#[must_use = "futures do nothing unless awaited"]
pub struct AccessTokenFuture<'a> {
    step: Step<'a>,
}

enum Step<'a> {
    /// Not polled yet: the cached token is looked at first.
    Cached(&'a Authenticator),
    /// The cached token was unusable: the renewal or the wait, which holds the engine.
    Slow(SlowPath<'a>),
}

type SlowPath<'a> = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<AccessToken, AuthError>> + Send + 'a>,
>;

// The two-word size the hot path relies on (the box's vtable pointer holds the step's tag).
const _: () = assert!(std::mem::size_of::<AccessTokenFuture<'static>>() == 2 * size_of::<usize>());

impl std::future::Future for AccessTokenFuture<'_> {
    type Output = Result<AccessToken, AuthError>;

    #[inline]
    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let this = self.get_mut();
        if let Step::Cached(auth) = this.step
            && let Some(token) = auth.cached_hit()
        {
            return std::task::Poll::Ready(Ok(token));
        }
        this.poll_slow(cx)
    }
}

impl AccessTokenFuture<'_> {
    /// Everything but a cached token's hand-out, out of line: inlined, it made the inlined hit
    /// path measurably slower.
    #[inline(never)]
    fn poll_slow(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<AccessToken, AuthError>> {
        loop {
            match &mut self.step {
                Step::Slow(slow) => return slow.as_mut().poll(cx),
                // The cached token was just found unusable: from here on, the slow path.
                Step::Cached(auth) => self.step = Step::Slow(slow_path(auth)),
            }
        }
    }
}

/// What a caller whose cached token is unusable awaits: most find a renewal in flight and only
/// wait for it, in a box a fraction of the whole slow path's size.
fn slow_path(auth: &Authenticator) -> SlowPath<'_> {
    match auth.join() {
        flight::Joined::Wait(waiting) => Box::pin(async move {
            match waiting.await? {
                Some(token) => Ok(token),
                // Go round: the token it waited for is stale already, or none came.
                None => Box::pin(auth.slow_path(false)).await,
            }
        }),
        flight::Joined::Lead(flight, seen) => Box::pin(auth.lead_needed(flight, seen)),
        flight::Joined::Slow => Box::pin(auth.slow_path(false)),
    }
}

impl std::fmt::Debug for AccessTokenFuture<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTokenFuture")
            .field("renewing", &matches!(self.step, Step::Slow(_)))
            .finish()
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
