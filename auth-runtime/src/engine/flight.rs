//! Single flight: whoever asks for a token that is not usable, exactly one renewal runs for
//! this engine (an async mutex) and for every engine sharing the store (the store's lock), and
//! a rotating refresh token is sent at most once, even across crashes.
//!
//! The store protocol (see [`crate::store`]): a valid stored session is used without a lock;
//! under the lock, a renewal is recorded as [`Pending`] before it is sent and its outcome after;
//! a pending refresh found under the lock was left by a holder that is gone, so its refresh
//! token counts as spent and the next renewal is a login.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use super::Authenticator;
use super::landing::{Flight, Landed};
use crate::error::AuthError;
use crate::policy::Action;
use crate::session::{AccessToken, Current};
use crate::stats::Event;
use crate::store::{Entry, StoreLock};

/// Why a renewal runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Renewal {
    /// The token cannot be used: renew, and wait for it.
    Needed,
    /// The token is still valid but inside the policy's margin. `wait`: the caller waits for
    /// the renewal (a process about to exit); otherwise it keeps the current token meanwhile.
    Due {
        /// Whether the caller waits for the outcome.
        wait: bool,
    },
}

impl Renewal {
    fn margin(self) -> bool {
        matches!(self, Renewal::Due { .. })
    }
}

impl Authenticator {
    /// The generation a caller saw (`None` inside: no session) when its token cannot be used
    /// and it can only wait for a renewal; `None` when the slow path must look closer (the token
    /// is usable after all, or the session is idle).
    ///
    /// Read through a guard, without taking a reference that every one of thousands of waiters
    /// would add to and drop from one shared count.
    fn needed(&self) -> Option<Option<u64>> {
        let current = self.inner.current.load();
        match self.decide(current.as_deref()) {
            Action::Use | Action::UseAndRefresh => None,
            _ if current.as_ref().is_some_and(|c| c.idle.is_some()) => None,
            _ => Some(current.as_ref().map(|c| c.session.generation)),
        }
    }

    /// The first step of [`Self::access_token`] once the cached token turned out unusable,
    /// taken without allocating: most such callers find a renewal in flight and only wait.
    pub(super) fn join(&self) -> Joined<'_> {
        // Idle sessions record their use after a renewal: the whole slow path.
        if self.inner.spec.policy.idle_timeout.is_some() {
            return Joined::Slow;
        }
        let Some(seen) = self.needed() else {
            return Joined::Slow;
        };
        match self.flight_or_landing() {
            Ok(flight) => Joined::Lead(flight, seen),
            Err(landed) => Joined::Wait(self.waiting(landed, seen)),
        }
    }

    /// The renewal lock, or, when someone holds it, the landing that ends their hold. Watched
    /// before the lock is tried, so that a hold that ends in between is seen.
    fn flight_or_landing(&self) -> Result<Flight<'_>, Landed<'_>> {
        let landed = self.inner.landings.next();
        self.try_flight().ok_or(landed)
    }

    /// Everything but the cached fast path. `foreground`: a renewal the policy calls for is
    /// awaited instead of started in the background.
    pub(super) async fn slow_path(&self, foreground: bool) -> Result<AccessToken, AuthError> {
        if let Some(seen) = self.needed() {
            return self.renew_needed(seen, foreground).await;
        }
        // The rare steps are boxed, so that a caller waiting on a renewal holds a small future.
        if let Some(current) = self.inner.current.load_full() {
            Box::pin(self.touch_if_due(&current)).await;
        }
        let current = self.inner.current.load_full();
        match (self.decide(current.as_deref()), current) {
            (Action::Use, Some(current)) => {
                tracing::debug!(provider = %self.inner.spec.name, generation = current.session.generation, "the cached token is still valid; no request sent");
                Ok(current.token())
            }
            (Action::UseAndRefresh, Some(current)) if foreground => {
                Box::pin(self.renew_due(&current)).await
            }
            (Action::UseAndRefresh, Some(current)) => {
                self.spawn_background_refresh(current.session.generation);
                Ok(current.token())
            }
            (_, current) => {
                self.renew_needed(current.map(|c| c.session.generation), foreground)
                    .await
            }
        }
    }

    /// A renewal the caller cannot do without (`seen`: the generation it saw, if any), then
    /// what the renewed session may still call for before its token is handed out.
    async fn renew_needed(
        &self,
        seen: Option<u64>,
        foreground: bool,
    ) -> Result<AccessToken, AuthError> {
        let token = self.renew(seen, Renewal::Needed).await?;
        self.after_needed(token, foreground).await
    }

    /// [`Self::renew_needed`] by a caller that already holds the lock.
    pub(super) async fn lead_needed(
        &self,
        flight: Flight<'_>,
        seen: Option<u64>,
    ) -> Result<AccessToken, AuthError> {
        let token = self.lead(flight, seen, Renewal::Needed).await?;
        self.after_needed(token, false).await
    }

    /// What a renewed session may still call for before its `token` is handed out.
    async fn after_needed(
        &self,
        token: AccessToken,
        foreground: bool,
    ) -> Result<AccessToken, AuthError> {
        let renewed = |c: &Current| c.session.generation == token.generation();
        // A stored idle session adopted past a quarter of its timeout: its use is recorded
        // (and a keep-alive sent) before the token is handed out.
        if let Some(c) = self.current_where(|c| renewed(c) && c.idle.is_some()) {
            Box::pin(self.touch_if_due(&c)).await;
            if self
                .inner
                .current
                .load()
                .as_ref()
                .is_some_and(|n| !Arc::ptr_eq(n, &c))
            {
                return Box::pin(self.slow_path(foreground)).await;
            }
        }
        // The renewal may have found a stored session that is itself due.
        if foreground
            && let Some(c) =
                self.current_where(|c| renewed(c) && self.decide(Some(c)) == Action::UseAndRefresh)
        {
            return Box::pin(self.renew_due(&c)).await;
        }
        Ok(token)
    }

    /// The current session if `keep` says so. Decided through a guard, so that the many
    /// callers for whom it does not (waiters on a renewal) take no reference to it.
    fn current_where(&self, keep: impl FnOnce(&Current) -> bool) -> Option<Arc<Current>> {
        self.inner
            .current
            .load()
            .as_ref()
            .filter(|c| keep(c))
            .map(Arc::clone)
    }

    /// Renews a still-valid token in the foreground; if that fails, the token is still good.
    async fn renew_due(&self, current: &Arc<Current>) -> Result<AccessToken, AuthError> {
        match self
            .renew(
                Some(current.session.generation),
                Renewal::Due { wait: true },
            )
            .await
        {
            Ok(token) => Ok(token),
            Err(error) => {
                tracing::warn!(provider = %self.inner.spec.name, %error, "renewal ahead of expiry failed; the current token stays in use");
                match self.inner.current.load_full() {
                    Some(c)
                        if matches!(self.decide(Some(&c)), Action::Use | Action::UseAndRefresh) =>
                    {
                        Ok(c.token())
                    }
                    _ => Err(error),
                }
            }
        }
    }

    pub(super) fn spawn_background_refresh(&self, generation: u64) {
        if self.inner.closing.load(Ordering::Acquire)
            || self.inner.background.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            self.inner.background.store(false, Ordering::Release);
            return;
        };
        let this = self.clone();
        handle.spawn(async move {
            if let Err(error) = this
                .renew(Some(generation), Renewal::Due { wait: false })
                .await
            {
                tracing::warn!(provider = %this.inner.spec.name, %error, "background refresh failed; the current token stays in use");
            }
            this.inner.background.store(false, Ordering::Release);
        });
    }

    /// Login or refresh, once for everyone waiting. `seen` is the generation the caller saw.
    pub(super) async fn renew(
        &self,
        seen: Option<u64>,
        why: Renewal,
    ) -> Result<AccessToken, AuthError> {
        match self.flight_or_landing() {
            Ok(flight) => self.lead(flight, seen, why).await,
            // Someone is renewing: wait for their outcome and share it.
            Err(landed) => self.follow(landed, seen, why).await,
        }
    }

    /// The renewal, by the caller holding the lock. Its outcome is announced to the waiters as
    /// the lock is let go.
    async fn lead(
        &self,
        mut flight: Flight<'_>,
        seen: Option<u64>,
        why: Renewal,
    ) -> Result<AccessToken, AuthError> {
        let span = tracing::debug_span!(
            "auth.renew",
            provider = %self.inner.spec.name,
            seen = ?seen,
            margin = why.margin(),
            flow = tracing::field::Empty,
            generation = tracing::field::Empty,
            outcome = tracing::field::Empty,
        );
        let mut held = None;
        // Boxed: the renewal's state (flows, store calls) is kilobytes, and every caller's
        // future would otherwise carry it, the thousands waiting on this one included.
        let result = tracing::Instrument::instrument(
            Box::pin(self.renew_locked(flight.last_login(), seen, why.margin(), &mut held)),
            span.clone(),
        )
        .await;
        match &result {
            Ok(token) => {
                span.record("flow", token.session().last_flow.as_str());
                span.record("generation", token.generation());
                span.record("outcome", "ok");
            }
            Err(error) => {
                span.record("outcome", error.label());
                self.record(Event::Failure);
                flight.failed(error.clone());
            }
        }
        drop(flight);
        self.inner.counters.report_waits(&self.inner.spec.name);
        // Waiters here have the outcome; now other processes may take the lock.
        if let Some(lock) = held {
            lock.release().await;
        }
        result
    }

    /// Waits for the renewal in flight and takes its result.
    async fn follow(
        &self,
        landed: Landed<'_>,
        seen: Option<u64>,
        why: Renewal,
    ) -> Result<AccessToken, AuthError> {
        if why == (Renewal::Due { wait: false }) {
            // Someone is already renewing; the current token stays in use meanwhile.
            return self
                .inner
                .current
                .load()
                .as_ref()
                .map(|c| c.token())
                .ok_or_else(|| AuthError::config("no session to refresh in the background"));
        }
        match self.waiting(landed, seen).await? {
            Some(token) => Ok(token),
            // Renewed and already stale again, logged out, or the holder renewed nothing: go
            // round once more.
            None => Box::pin(self.slow_path(why != Renewal::Needed)).await,
        }
    }

    /// A wait on `landed`, counted and under an `auth.wait` span.
    fn waiting<'a>(&'a self, landed: Landed<'a>, seen: Option<u64>) -> Waiting<'a> {
        self.record(Event::Wait);
        let span = tracing::debug_span!(
            "auth.wait",
            provider = %self.inner.spec.name,
            seen = ?seen,
            outcome = tracing::field::Empty,
        );
        Waiting {
            auth: self,
            landed,
            seen,
            span,
        }
    }

    /// What a waiter takes once the lock was let go: the renewal's error, the token now
    /// current, or `None` when that is the one it saw and it is stale (go round).
    fn after_landing(
        &self,
        error: Option<AuthError>,
        seen: Option<u64>,
        span: &tracing::Span,
    ) -> Result<Option<AccessToken>, AuthError> {
        if let Some(error) = error {
            span.record("outcome", error.label());
            return Err(error);
        }
        span.record("outcome", "shared");
        // Through a guard, not a reference of its own: thousands of waiters get here at once.
        let current = self.inner.current.load();
        Ok(match current.as_ref() {
            Some(c) if Some(c.session.generation) != seen || c.is_fresh() => Some(c.token()),
            _ => None,
        })
    }

    /// The renewal under the flight lock; the store's lock, once taken, goes into `held` for
    /// the caller to release.
    async fn renew_locked(
        &self,
        last_login: &mut Option<std::time::Instant>,
        seen: Option<u64>,
        margin: bool,
        held: &mut Option<Box<dyn StoreLock>>,
    ) -> Result<AccessToken, AuthError> {
        // Another task may have renewed just before this one took the lock.
        if let Some(token) = self.usable_after_wait(seen, margin) {
            return Ok(token);
        }
        // Another process may have renewed: a valid stored session needs no lock.
        let unlocked = self.load_entry().await?;
        if let Some(token) = self.adopt(unlocked.as_ref(), seen, margin) {
            return Ok(token);
        }
        *held = Some(
            self.inner
                .store
                .lock(&self.inner.key, self.inner.lock_wait)
                .await?,
        );
        // Under the lock the store is the truth.
        let loaded = self.load_entry().await?;
        let mut expected = loaded.as_ref().map(|e| e.revision);
        if let Some(token) = self.adopt(loaded.as_ref(), seen, margin) {
            return Ok(token);
        }
        let mut entry = loaded.unwrap_or_default();
        self.settle_pending(&mut entry);
        let current = self.inner.current.load_full();
        let action = match self.decide(current.as_deref()) {
            Action::UseAndRefresh if margin => Action::Refresh,
            Action::Use | Action::UseAndRefresh => {
                if let Some(c) = current {
                    return Ok(c.token());
                }
                Action::Login
            }
            other => other,
        };
        let generation = self.next_generation(&entry, current.as_deref())?;
        let renewed = match (action, current.as_deref()) {
            (Action::Refresh, Some(c)) => {
                self.refresh_recorded(c, &mut entry, &mut expected, generation, last_login)
                    .await?
            }
            _ => {
                let stored_login = current.as_deref().map(|c| c.session.login_at);
                self.login_recorded(
                    &mut entry,
                    &mut expected,
                    generation,
                    last_login,
                    stored_login,
                )
                .await?
            }
        };
        entry.pending = None;
        entry.session = Some(renewed.session.clone());
        if let Err(error) = self.write_entry(&mut entry, &mut expected).await {
            // The tokens are good: use them in memory. The record left in the store makes the
            // next process log in rather than resend a refresh token.
            tracing::warn!(provider = %self.inner.spec.name, %error, "the new session could not be stored; it is used in memory only");
        }
        let mut current = self.current_from(renewed.session, renewed.monotonic);
        current.answer = renewed.answer;
        Ok(self.install(current).token())
    }

    /// Installs a stored session newer than this engine's, and returns its token if it can
    /// be used as is.
    fn adopt(&self, entry: Option<&Entry>, seen: Option<u64>, margin: bool) -> Option<AccessToken> {
        let stored = entry?.session.as_ref()?;
        let mine = self
            .inner
            .current
            .load()
            .as_ref()
            .map(|c| c.session.generation);
        if mine.is_some_and(|g| stored.generation <= g) {
            return None;
        }
        let mut adopted = self.current_from(stored.clone(), None);
        if let Some(used) = entry?.last_used {
            adopted.idle = self.idle_from(used.max(stored.issued_at));
        }
        let adopted = self.install(adopted);
        let usable = match self.decide(Some(&adopted)) {
            Action::Use => true,
            Action::UseAndRefresh => !(margin && seen == Some(adopted.session.generation)),
            _ => false,
        };
        usable.then(|| {
            tracing::debug!(provider = %self.inner.spec.name, generation = adopted.session.generation, "the stored token is still valid; no request sent");
            adopted.token()
        })
    }

    fn usable_after_wait(&self, seen: Option<u64>, margin: bool) -> Option<AccessToken> {
        let current = self.inner.current.load_full()?;
        let renewed = Some(current.session.generation) != seen;
        match self.decide(Some(&current)) {
            Action::Use => Some(current.token()),
            Action::UseAndRefresh if renewed || !margin => Some(current.token()),
            _ => None,
        }
    }
}

/// How a caller whose cached token cannot be used goes on ([`Authenticator::join`]).
pub(super) enum Joined<'a> {
    /// A renewal is in flight: wait for it, inline.
    Wait(Waiting<'a>),
    /// This caller took the lock: it renews (the generation it saw).
    Lead(Flight<'a>, Option<u64>),
    /// Anything else: the whole slow path.
    Slow,
}

pin_project_lite::pin_project! {
    /// A caller waiting for whoever holds the renewal lock to let go, then taking the outcome
    /// ([`Authenticator::after_landing`]). A named future, so that [`super::AccessTokenFuture`]
    /// boxes only this: thousands of waiters on one login hold a small box each, not the
    /// state of the whole slow path.
    pub(super) struct Waiting<'a> {
        auth: &'a Authenticator,
        #[pin]
        landed: Landed<'a>,
        seen: Option<u64>,
        span: tracing::Span,
    }
}

impl Future for Waiting<'_> {
    type Output = Result<Option<AccessToken>, AuthError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let error = {
            let _entered = this.span.enter();
            std::task::ready!(this.landed.poll(cx))
        };
        Poll::Ready(this.auth.after_landing(error, *this.seen, this.span))
    }
}
