//! Single flight: whoever asks for a token that is not usable, exactly one renewal runs for
//! this engine (an async mutex) and for every engine sharing the store (the store's lock), and
//! a rotating refresh token is sent at most once, even across crashes.
//!
//! The store protocol (see [`crate::store`]): a valid stored session is used without a lock;
//! under the lock, a renewal is recorded as [`Pending`] before it is sent and its outcome after;
//! a pending refresh found under the lock was left by a holder that is gone, so its refresh
//! token counts as spent and the next renewal is a login.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::{Authenticator, Landing};
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
    /// Everything but the cached fast path. `foreground`: a renewal the policy calls for is
    /// awaited instead of started in the background.
    pub(super) async fn slow_path(&self, foreground: bool) -> Result<AccessToken, AuthError> {
        // The common case here, a token that cannot be used, needs only the decision and the
        // generation seen: read them through a guard, without taking a reference that every
        // one of thousands of waiters would add to and drop from one shared count.
        let needed = {
            let current = self.inner.current.load();
            match self.decide(current.as_deref()) {
                Action::Use | Action::UseAndRefresh => None,
                _ if current.as_ref().is_some_and(|c| c.idle.is_some()) => None,
                _ => Some(current.as_ref().map(|c| c.session.generation)),
            }
        };
        if let Some(seen) = needed {
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
        // Subscribed before trying the lock: a renewal that ends from now on is seen.
        let mut landed = self.inner.landed.subscribe();
        let started = landed.borrow().seq;
        let last_login = match self.inner.flight.try_lock() {
            Ok(guard) => guard,
            // Someone is renewing: wait for their outcome and share it.
            Err(_) => return self.follow(&mut landed, started, seen, why).await,
        };
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
            Box::pin(self.renew_locked(last_login, seen, why.margin(), &mut held)),
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
                span.record("outcome", error.kind());
                self.record(Event::Failure);
            }
        }
        self.inner.landed.send_modify(|landing| {
            landing.seq += 1;
            landing.error = result.as_ref().err().cloned();
        });
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
        landed: &mut tokio::sync::watch::Receiver<Landing>,
        started: u64,
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
                .ok_or_else(|| {
                    AuthError::Config("no session to refresh in the background".into())
                });
        }
        self.record(Event::Wait);
        let span = tracing::debug_span!(
            "auth.wait",
            provider = %self.inner.spec.name,
            seen = ?seen,
            outcome = tracing::field::Empty,
        );
        let landing = match tracing::Instrument::instrument(
            landed.wait_for(|l| l.seq > started),
            span.clone(),
        )
        .await
        {
            Ok(landing) => landing.clone(),
            // The engine is being dropped.
            Err(_) => {
                span.record("outcome", "shut_down");
                return Err(AuthError::Config("the engine was shut down".into()));
            }
        };
        if let Some(error) = landing.error {
            span.record("outcome", error.kind());
            return Err(error);
        }
        span.record("outcome", "shared");
        // Through a guard, not a reference of its own: thousands of waiters get here at once.
        let shared = {
            let current = self.inner.current.load();
            match current.as_ref() {
                Some(c) if Some(c.session.generation) != seen || c.is_fresh() => Some(c.token()),
                _ => None,
            }
        };
        match shared {
            Some(token) => Ok(token),
            // Renewed and already stale again, or logged out: go round once more.
            None => Box::pin(self.slow_path(why != Renewal::Needed)).await,
        }
    }

    /// The renewal under the flight lock; the store's lock, once taken, goes into `held` for
    /// the caller to release.
    async fn renew_locked(
        &self,
        mut last_login: tokio::sync::MutexGuard<'_, Option<Instant>>,
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
                self.refresh_recorded(c, &mut entry, &mut expected, generation, &mut last_login)
                    .await?
            }
            _ => {
                let stored_login = current.as_deref().map(|c| c.session.login_at);
                self.login_recorded(
                    &mut entry,
                    &mut expected,
                    generation,
                    &mut last_login,
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
