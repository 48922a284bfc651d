//! The two calls that answer with tokens, login and refresh, and the session built from their
//! answers. Whether and when they run is decided in [`super::flight`].

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use auth_spec::extract::{Answer, Expiry, Extracted, SecretJson};
use auth_spec::judge::{FailureMeaning, judge};
use auth_spec::model::{Rotation, TokenEndpoint};
use tracing::Instrument as _;

use crate::stats::Event;

use super::Authenticator;
use crate::clock::instant_for;
use crate::error::{AuthError, AuthErrorKind};
use crate::limits::{self, Allowance, Rule};
use crate::policy;
use crate::request::{self, RetryScope};
use crate::session::{Current, Flow, Session};

/// A failed login or refresh, and whether the vendor may have acted on it anyway (a timeout
/// after sending, a 5xx, or a success answer that could not be read): a rotating refresh token
/// then counts as spent, and a login as possibly open.
pub(super) struct Failed {
    pub(super) error: AuthError,
    pub(super) maybe_processed: bool,
}

impl Failed {
    fn answered(error: AuthError) -> Self {
        Self {
            error,
            maybe_processed: false,
        }
    }
}

/// Why a refresh did not produce a session.
pub(super) enum RefreshFailure {
    /// The vendor says the session is over: log in again.
    SessionOver,
    /// Anything else.
    Failed(Failed),
}

/// What a successful login or refresh produced.
pub(super) struct Renewed {
    /// The session to keep (in memory and in the store).
    pub(super) session: Session,
    /// The monotonic deadline of a relative expiry, counted from when the request was sent.
    pub(super) monotonic: Option<Instant>,
    /// The whole answer, kept in memory only (typed access by generated clients).
    pub(super) answer: Option<SecretJson>,
}

impl Authenticator {
    /// How many requests the next login may make, waiting first when `min_login_interval`
    /// asks for no longer than `max_login_wait`; otherwise (or when `login_limit` is spent) a
    /// typed error saying when. `recorded` are the login request times in the store;
    /// `stored_login` (the stored session's login) and the engine's own last login count for
    /// spacing too, for stores that could not or did not record requests.
    pub(super) async fn allow_login(
        &self,
        recorded: &[SystemTime],
        stored_login: Option<SystemTime>,
        last_login: Option<Instant>,
    ) -> Result<u32, AuthError> {
        let spec = &self.inner.spec;
        let mut waited = false;
        loop {
            let wall = self.inner.clock.wall();
            let mine = last_login.and_then(|t| {
                wall.checked_sub(self.inner.clock.now().saturating_duration_since(t))
            });
            let last = stored_login.into_iter().chain(mine).max();
            let allowance = limits::allowance(
                &spec.policy,
                wall,
                recorded,
                last,
                self.inner.retry.max_attempts,
            );
            let (at, rule) = match allowance {
                Allowance::Now { attempts } => return Ok(attempts),
                Allowance::NotBefore { at, rule } => (at, rule),
            };
            let wait = at.duration_since(wall).unwrap_or_default();
            // Spacing is waited for once, briefly; a spent budget fails at once.
            if waited || !matches!(rule, Rule::Spacing(_)) || wait > self.inner.max_login_wait {
                return Err(AuthErrorKind::LoginNotAllowedYet {
                    provider: spec.name.clone(),
                    rule,
                    next_allowed_at: at,
                    wait,
                }
                .into());
            }
            tracing::debug!(provider = %spec.name, wait_ms = wait.as_millis() as u64, "spacing logins");
            self.inner.clock.sleep(wait).await;
            waited = true;
        }
    }

    /// The environment variables of the credentials, for "check ..." hints.
    fn credential_vars(&self) -> String {
        let vars: Vec<&str> = self
            .inner
            .spec
            .credentials
            .iter()
            .map(|c| c.env.as_str())
            .collect();
        vars.join(", ")
    }

    /// Sends a token request with at most `max_attempts` attempts (`sent` counts them); a
    /// failure says whether the vendor may have acted on it.
    async fn send_tracked(
        &self,
        prepared: &request::Prepared,
        endpoint: &str,
        scope: RetryScope,
        max_attempts: u32,
        sent: &mut u32,
    ) -> Result<Answer, Failed> {
        self.send_counted(prepared, scope, max_attempts, sent)
            .await
            .map_err(|failure| Failed {
                maybe_processed: failure.maybe_processed(),
                error: self.send_error(endpoint, failure),
            })
    }

    /// Sends the login. Not retried after a timeout: that login may have opened a session, and
    /// a second one would open another. `previous` is the session it replaces, which the login's
    /// templates may name (vendors that end it when the new login carries it). At most
    /// `max_attempts` requests are sent (a login budget may allow fewer); `requests` counts them.
    pub(super) async fn login(
        &self,
        generation: u64,
        last_login: &mut Option<Instant>,
        previous: Option<&Session>,
        max_attempts: u32,
        requests: &mut u32,
    ) -> Result<Renewed, Failed> {
        let spec = &self.inner.spec;
        let endpoint = format!("login {}", spec.login.request.path);
        let span = tracing::info_span!("auth.login", provider = %spec.name, flow = "login", generation, endpoint = %spec.login.request.path, outcome = tracing::field::Empty, duration_ms = tracing::field::Empty);
        async {
            let started = Instant::now();
            let prepared = self
                .prepare_login(&endpoint, previous)
                .map_err(Failed::answered)?;
            *last_login = Some(self.inner.clock.now());
            let sent = self.inner.clock.now();
            let sent_wall = self.inner.clock.wall();
            let result = self
                .send_tracked(
                    &prepared,
                    &endpoint,
                    RetryScope::Answered,
                    max_attempts,
                    requests,
                )
                .await;
            let span = tracing::Span::current();
            span.record("duration_ms", started.elapsed().as_millis() as u64);
            let answer = match result {
                Ok(answer) => answer,
                Err(e) => {
                    span.record("outcome", "unreachable");
                    return Err(e);
                }
            };
            if let Some(verdict) = judge(&spec.login.request.failures, &answer) {
                span.record("outcome", "rejected");
                let excerpt = self.excerpt(&answer.body, None);
                return Err(Failed::answered(match verdict.means {
                    FailureMeaning::CredentialsRejected => AuthErrorKind::CredentialsRejected {
                        provider: spec.name.clone(),
                        endpoint,
                        status: answer.status,
                        hint: format!("{} ({})", self.credential_vars(), verdict.detail),
                        excerpt,
                    }
                    .into(),
                    _ => AuthErrorKind::UnexpectedResponse {
                        provider: spec.name.clone(),
                        endpoint,
                        status: answer.status,
                        detail: verdict.detail,
                        excerpt,
                    }
                    .into(),
                }));
            }
            if !spec.login.request.is_success(answer.status) {
                span.record("outcome", "rejected");
                let maybe_processed = answer.status >= 500;
                if spec
                    .policy
                    .credentials_rejected_status
                    .contains(&answer.status)
                {
                    return Err(Failed::answered(
                        AuthErrorKind::CredentialsRejected {
                            provider: spec.name.clone(),
                            endpoint,
                            status: answer.status,
                            hint: self.credential_vars(),
                            excerpt: self.excerpt(&answer.body, previous),
                        }
                        .into(),
                    ));
                }
                return Err(Failed {
                    maybe_processed,
                    error: AuthErrorKind::UnexpectedResponse {
                        provider: spec.name.clone(),
                        endpoint,
                        status: answer.status,
                        detail: "the status is not a success".into(),
                        excerpt: self.excerpt(&answer.body, previous),
                    }
                    .into(),
                });
            }
            let extracted = spec.login.response.extract(&answer).map_err(|e| {
                span.record("outcome", "unexpected");
                // A success the spec does not describe may still have opened a session.
                Failed {
                    maybe_processed: true,
                    error: AuthError::unexpected(
                        &spec.name,
                        &endpoint,
                        answer.status,
                        &e,
                        self.excerpt(&answer.body, previous),
                    ),
                }
            })?;
            let extracted = self.skew_corrected(extracted, &answer, sent_wall);
            span.record("outcome", "ok");
            self.record(Event::Login);
            tracing::info!(generation, "logged in");
            Ok(self.session_from(extracted, generation, sent, sent_wall, sent_wall, None))
        }
        .instrument(span)
        .await
    }

    /// Sends the refresh with `previous`'s refresh token.
    pub(super) async fn refresh(
        &self,
        previous: &Session,
        generation: u64,
    ) -> Result<Renewed, RefreshFailure> {
        let spec = &self.inner.spec;
        let Some(TokenEndpoint { request, response }) = &spec.refresh else {
            return Err(RefreshFailure::SessionOver);
        };
        let endpoint = format!("refresh {}", request.path);
        let span = tracing::info_span!("auth.refresh", provider = %spec.name, flow = "refresh", generation, endpoint = %request.path, outcome = tracing::field::Empty, duration_ms = tracing::field::Empty);
        async {
            let started = Instant::now();
            let prepared = self
                .prepare(request, &endpoint, Some(previous))
                .map_err(|e| RefreshFailure::Failed(Failed::answered(e)))?;
            let sent = self.inner.clock.now();
            let sent_wall = self.inner.clock.wall();
            // A rotating refresh token must not be sent twice: retry only what the vendor
            // cannot have processed.
            let scope = match spec.policy.rotation {
                Rotation::Rotates => RetryScope::NotProcessed,
                Rotation::Reusable => RetryScope::Transient,
            };
            let mut attempts = 0;
            let result = self
                .send_tracked(
                    &prepared,
                    &endpoint,
                    scope,
                    self.inner.retry.max_attempts,
                    &mut attempts,
                )
                .await;
            let span = tracing::Span::current();
            span.record("duration_ms", started.elapsed().as_millis() as u64);
            let answer = match result {
                Ok(answer) => answer,
                Err(e) => {
                    span.record("outcome", "unreachable");
                    return Err(RefreshFailure::Failed(e));
                }
            };
            if let Some(verdict) = judge(&request.failures, &answer) {
                if verdict.means == FailureMeaning::SessionOver {
                    span.record("outcome", "session_over");
                    tracing::info!(detail = %verdict.detail, "session over; logging in again");
                    return Err(RefreshFailure::SessionOver);
                }
                span.record("outcome", "rejected");
                return Err(RefreshFailure::Failed(Failed::answered(
                    AuthErrorKind::UnexpectedResponse {
                        provider: spec.name.clone(),
                        endpoint,
                        status: answer.status,
                        detail: verdict.detail,
                        excerpt: self.excerpt(&answer.body, Some(previous)),
                    }
                    .into(),
                )));
            }
            if !request.is_success(answer.status) {
                if spec.policy.session_over_status.contains(&answer.status) {
                    span.record("outcome", "session_over");
                    tracing::info!(status = answer.status, "session over; logging in again");
                    return Err(RefreshFailure::SessionOver);
                }
                span.record("outcome", "rejected");
                return Err(RefreshFailure::Failed(Failed {
                    // A 5xx may come after the vendor rotated the token; a 4xx rejected it.
                    maybe_processed: answer.status >= 500,
                    error: AuthErrorKind::UnexpectedResponse {
                        provider: spec.name.clone(),
                        endpoint,
                        status: answer.status,
                        detail: "the status is not a success".into(),
                        excerpt: self.excerpt(&answer.body, Some(previous)),
                    }
                    .into(),
                }));
            }
            let extracted = response.extract(&answer).map_err(|e| {
                span.record("outcome", "unexpected");
                // The vendor accepted the refresh: a rotating token is spent.
                RefreshFailure::Failed(Failed {
                    maybe_processed: true,
                    error: AuthError::unexpected(
                        &spec.name,
                        &endpoint,
                        answer.status,
                        &e,
                        self.excerpt(&answer.body, Some(previous)),
                    ),
                })
            })?;
            let extracted = self.skew_corrected(extracted, &answer, sent_wall);
            span.record("outcome", "ok");
            self.record(Event::Refresh);
            tracing::info!(generation, "refreshed");
            Ok(self.session_from(
                extracted,
                generation,
                sent,
                sent_wall,
                previous.login_at,
                Some(previous),
            ))
        }
        .instrument(span)
        .await
    }

    /// A session from a token answer. `previous` is the session a refresh replaced: its refresh
    /// token and expiry are kept when the answer carries no new refresh token.
    fn session_from(
        &self,
        extracted: Extracted,
        generation: u64,
        sent: Instant,
        sent_wall: SystemTime,
        login_at: SystemTime,
        previous: Option<&Session>,
    ) -> Renewed {
        // Relative lifetimes count from the monotonic instant the request was sent. Vendor
        // numbers are untrusted: a lifetime past what the clocks can hold means "far future".
        let monotonic = match extracted.access_expiry {
            Expiry::In(d) => Some(sent.checked_add(d).unwrap_or_else(|| far_instant(sent))),
            _ => None,
        };
        let wall = |expiry: Expiry| match expiry {
            Expiry::Unknown => None,
            Expiry::In(d) => Some(later(sent_wall, d)),
            Expiry::At(t) => Some(t),
            Expiry::SinceLogin(d) => Some(later(login_at, d)),
            // A time whose zone is unknown, read as its earliest: used while ahead; one that
            // is behind may still be valid, so the token lasts until the vendor says otherwise.
            Expiry::AtEarliest(t) => (t > sent_wall).then_some(t),
        };
        let (refresh_token, refresh_expires_at) = match (extracted.refresh_token, previous) {
            (Some(token), _) => (Some(token), wall(extracted.refresh_expiry)),
            (None, Some(prev)) => (prev.refresh_token.clone(), prev.refresh_expires_at),
            (None, None) => (None, None),
        };
        let kept = extracted
            .body
            .as_ref()
            .and_then(|body| crate::kept::prune(body.expose(), &self.inner.kept_paths))
            .map(SecretJson::new);
        // A refresh answer renews the values it declares; the others are carried over.
        let mut values = previous.map(|p| p.values.clone()).unwrap_or_default();
        values.extend(extracted.values);
        let session = Session {
            access_token: extracted.access_token,
            refresh_token,
            access_expires_at: wall(extracted.access_expiry),
            refresh_expires_at,
            issued_at: sent_wall,
            login_at,
            generation,
            last_response: kept,
            last_flow: if previous.is_some() {
                Flow::Refresh
            } else {
                Flow::Login
            },
            values,
            response_headers: extracted.headers,
        };
        Renewed {
            session,
            monotonic,
            answer: extracted.body,
        }
    }

    /// The in-memory view of a session: wall times become monotonic deadlines. A fresh answer
    /// passes the monotonic deadline of a relative expiry (`sent + lifetime`) so that a wall
    /// clock jump cannot move it.
    pub(super) fn current_from(&self, session: Session, monotonic: Option<Instant>) -> Current {
        let now = self.inner.clock.now();
        let wall_now = self.inner.clock.wall();
        let to_instant = |t: SystemTime| instant_for(t, now, wall_now);
        let issued = to_instant(session.issued_at);
        let access_deadline = monotonic.or_else(|| session.access_expires_at.map(to_instant));
        let refresh_deadline = session.refresh_expires_at.map(to_instant);
        // A token answer is a use of the session; a stored one may know a later use.
        let last_used = session.issued_at;
        let mut current = Current::new(
            Arc::new(session),
            policy::fresh_until(&self.inner.spec.policy, issued, access_deadline),
            access_deadline,
            refresh_deadline,
            false,
        );
        current.idle = self.idle_from(last_used);
        current
    }
}

/// `t + d`, or the latest time the clock can hold.
fn later(t: SystemTime, d: Duration) -> SystemTime {
    t.checked_add(d)
        .unwrap_or_else(|| crate::clock::far_wall(t))
}

/// An instant far enough ahead to mean "never" for a token.
fn far_instant(now: Instant) -> Instant {
    crate::clock::far_instant(now)
}
