//! A session: the tokens a login or refresh produced, when they expire, and its generation.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime};

use auth_spec::extract::SecretJson;
use secrecy::SecretString;

use crate::per_thread::PerThread;

/// What is kept between calls (and, with a file store, between processes).
///
/// Times are wall-clock here because they are persisted; in memory the engine works with
/// monotonic deadlines derived from them.
#[derive(Clone)]
pub struct Session {
    /// The access token.
    pub access_token: SecretString,
    /// The refresh token, if the vendor issued one.
    pub refresh_token: Option<SecretString>,
    /// When the access token expires; `None` = unknown (only an expired-token answer ends it).
    pub access_expires_at: Option<SystemTime>,
    /// When the refresh token / session expires; `None` = unknown.
    pub refresh_expires_at: Option<SystemTime>,
    /// When the request that produced the access token was sent.
    pub issued_at: SystemTime,
    /// When the login that started this session was sent.
    pub login_at: SystemTime,
    /// Increases by one with every login or refresh; an expired-token answer seen with
    /// generation N only triggers a refresh while N is still current.
    pub generation: u64,
    /// The values of the last token answer that later requests name (`${response.PATH}`
    /// templates), at their paths; `None` when no template needs any.
    pub last_response: Option<SecretJson>,
    /// Which call produced `last_response`.
    pub last_flow: Flow,
    /// The named values of the session (`${session.NAME}`: `values:` of the token answers), by
    /// name. A refresh answer that does not declare one carries it over; an ordinary API answer
    /// may renew one (`usage.renewed_by_answers`).
    pub values: BTreeMap<String, SecretString>,
    /// The response headers of the last token answer that templates name
    /// (`${response.@header:NAME}`), by lower-cased name.
    pub response_headers: BTreeMap<String, SecretString>,
}

/// The two calls that answer with tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Flow {
    /// The login with credentials.
    #[default]
    Login,
    /// The refresh with a refresh token.
    Refresh,
}

impl Flow {
    /// `login` or `refresh`, as span fields and logs name them.
    pub fn as_str(self) -> &'static str {
        match self {
            Flow::Login => "login",
            Flow::Refresh => "refresh",
        }
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("access_token", &"[redacted]")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("access_expires_at", &self.access_expires_at)
            .field("refresh_expires_at", &self.refresh_expires_at)
            .field("issued_at", &self.issued_at)
            .field("login_at", &self.login_at)
            .field("generation", &self.generation)
            .field("last_flow", &self.last_flow)
            // Names only: the values are secrets.
            .field("values", &self.values.keys().collect::<Vec<_>>())
            .field(
                "response_headers",
                &self.response_headers.keys().collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// The engine's in-memory view of a session: monotonic deadlines computed once, and the
/// handles given to callers.
pub(crate) struct Current {
    pub(crate) session: Arc<Session>,
    /// Until this instant the token is used as is (`None` = no known expiry).
    pub(crate) fresh_until: Option<Instant>,
    /// When the access token expires (`None` = unknown).
    pub(crate) access_deadline: Option<Instant>,
    /// When the refresh token expires (`None` = unknown).
    pub(crate) refresh_deadline: Option<Instant>,
    /// Set when an API call answered "expired" for this generation.
    pub(crate) invalidated: bool,
    /// Set by a clock task once `fresh_until` has passed: the hot path reads this flag instead
    /// of the clock. Only ever goes from false to true.
    pub(crate) due: AtomicBool,
    /// The whole token answer this session came from, in the process that received it (the
    /// session itself keeps only what later requests need).
    pub(crate) answer: Option<SecretJson>,
    /// The idle (sliding) session's deadlines, when the spec declares `idle_timeout`.
    pub(crate) idle: Option<Idle>,
    /// Several handles to the same token, each its own allocation on its own cache lines.
    /// Threads clone different ones, so handing out a token does not make cores fight over one
    /// reference count.
    shards: PerThread<Shard>,
}

/// When an idle session must be used again (its use recorded) and when it is dead.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Idle {
    /// After this, the next caller records a use (in the store) before taking the token.
    pub(crate) touch_at: Instant,
    /// After this, the last quarter of the idle timeout: a `keep_alive` is sent first.
    pub(crate) keep_alive_at: Instant,
    /// From this on the session counts as ended at the vendor: log in again.
    pub(crate) dead_at: Instant,
}

/// One handle of a [`Current`]; aligned so that two never share a cache line.
#[repr(align(128))]
pub(crate) struct Shard {
    pub(crate) session: Arc<Session>,
    /// The headers and query parameters `usage` puts on API calls, rendered once per token on
    /// each handle: a request carries a clone of a header value, and each handle's values
    /// count their references on their own cache line, so that threads putting the token on
    /// requests do not contend on one count.
    pub(crate) usage: OnceLock<RenderedUsage>,
}

/// What [`crate::Authenticator::apply`] adds to a request, computed once per token handle.
pub(crate) struct RenderedUsage {
    pub(crate) headers: Vec<(http::HeaderName, http::HeaderValue)>,
    pub(crate) query: Vec<(String, String)>,
}

impl RenderedUsage {
    /// Puts the headers on a request's map (a reqwest or an `http` request: the same map),
    /// replacing any of the same name.
    pub(crate) fn put_headers(&self, headers: &mut http::HeaderMap) {
        for (name, value) in &self.headers {
            headers.insert(name.clone(), value.clone());
        }
    }
}

impl Current {
    pub(crate) fn new(
        session: Arc<Session>,
        fresh_until: Option<Instant>,
        access_deadline: Option<Instant>,
        refresh_deadline: Option<Instant>,
        invalidated: bool,
    ) -> Self {
        let shards = PerThread::new(|| Shard {
            session: Arc::clone(&session),
            usage: OnceLock::new(),
        });
        Self {
            session,
            fresh_until,
            access_deadline,
            refresh_deadline,
            invalidated,
            due: AtomicBool::new(invalidated),
            answer: None,
            idle: None,
            shards,
        }
    }

    /// The same deadlines and answer for another version of the session (a refresh token
    /// dropped, an expired-token answer seen).
    pub(crate) fn with_session(&self, session: Arc<Session>, invalidated: bool) -> Self {
        let mut next = Self::new(
            session,
            self.fresh_until,
            self.access_deadline,
            self.refresh_deadline,
            invalidated,
        );
        next.answer = self.answer.clone();
        next.idle = self.idle;
        next
    }

    /// Whether the token can be handed out without any check of the clock.
    #[inline]
    pub(crate) fn is_fresh(&self) -> bool {
        !self.invalidated && !self.due.load(Ordering::Acquire)
    }

    /// The calling thread's handle to the token, borrowed while this view is held. Threads
    /// use different handles, so that a clone of one (a token kept by a request in flight)
    /// counts on a cache line no other thread writes.
    #[inline]
    pub(crate) fn shard(&self) -> &Arc<Shard> {
        self.shards.mine()
    }

    /// A handle for the calling thread.
    #[inline]
    pub(crate) fn token(&self) -> AccessToken {
        AccessToken(Arc::clone(self.shard()))
    }
}

/// A valid access token handed to a caller, with the generation it belongs to.
#[derive(Clone)]
pub struct AccessToken(pub(crate) Arc<Shard>);

impl AccessToken {
    /// The token. Do not log it.
    pub fn secret(&self) -> &SecretString {
        &self.0.session.access_token
    }

    /// The generation of the session this token belongs to; pass it to
    /// [`crate::Authenticator::invalidate`] when an API call says the token expired.
    pub fn generation(&self) -> u64 {
        self.0.session.generation
    }

    /// When the token expires, if known.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.0.session.access_expires_at
    }

    /// The session this token belongs to.
    pub fn session(&self) -> &Session {
        &self.0.session
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"[redacted]")
            .field("generation", &self.generation())
            .field("expires_at", &self.expires_at())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_handle_puts_a_header_value_of_its_own() {
        let auth = crate::testing::engine(&crate::testing::fixture("alternative_paths"));
        let current = crate::testing::current("t-1");
        let mut seen = Vec::new();
        for shard in current.shards.each() {
            let mut request = http::Request::new(());
            *request.uri_mut() = http::Uri::from_static("https://api.example.com/x");
            auth.apply_http_from(shard, &mut request, false)
                .expect("applied");
            let value = request.headers()["authorization"].clone();
            assert_eq!(value, "Bearer t-1");
            assert!(value.is_sensitive());
            seen.push(value.as_bytes().as_ptr());
        }
        seen.sort();
        seen.dedup();
        // Shared bytes would share one reference count, which every request changes twice.
        assert_eq!(seen.len(), crate::per_thread::SLOTS, "one value per handle");
    }
}
