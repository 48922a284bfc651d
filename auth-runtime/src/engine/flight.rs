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
use std::time::{Instant, SystemTime};

use auth_spec::model::Rotation;

use super::flows::{Failed, RefreshFailure, Renewed};
use super::{Authenticator, Landing};
use crate::error::{AuthError, StoreError};
use crate::limits;
use crate::policy::Action;
use crate::session::{AccessToken, Current, Flow, Session};
use crate::store::{Entry, MAX_REVISION, Pending, StoreLock};

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
        if let Some(current) = self.inner.current.load_full() {
            self.touch_if_due(&current).await;
        }
        let current = self.inner.current.load_full();
        match (self.decide(current.as_deref()), current) {
            (Action::Use, Some(current)) => {
                tracing::debug!(provider = %self.inner.spec.name, generation = current.session.generation, "the cached token is still valid; no request sent");
                Ok(current.token())
            }
            (Action::UseAndRefresh, Some(current)) if foreground => self.renew_due(&current).await,
            (Action::UseAndRefresh, Some(current)) => {
                self.spawn_background_refresh(current.session.generation);
                Ok(current.token())
            }
            (_, current) => {
                let token = self
                    .renew(current.map(|c| c.session.generation), Renewal::Needed)
                    .await?;
                // A stored idle session adopted past a quarter of its timeout: its use is
                // recorded (and a keep-alive sent) before the token is handed out.
                if let Some(c) = self.inner.current.load_full()
                    && c.session.generation == token.generation()
                    && c.idle.is_some()
                {
                    self.touch_if_due(&c).await;
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
                match self.inner.current.load_full() {
                    Some(c)
                        if foreground
                            && c.session.generation == token.generation()
                            && self.decide(Some(&c)) == Action::UseAndRefresh =>
                    {
                        self.renew_due(&c).await
                    }
                    _ => Ok(token),
                }
            }
        }
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
        let span = tracing::debug_span!("auth.renew", provider = %self.inner.spec.name, seen = ?seen, margin = why.margin());
        let mut held = None;
        let result = tracing::Instrument::instrument(
            self.renew_locked(last_login, seen, why.margin(), &mut held),
            span,
        )
        .await;
        self.inner.landed.send_modify(|landing| {
            landing.seq += 1;
            landing.error = result.as_ref().err().cloned();
        });
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
        tracing::debug!(provider = %self.inner.spec.name, "waiting for the renewal in flight");
        let landing = match landed.wait_for(|l| l.seq > started).await {
            Ok(landing) => landing.clone(),
            // The engine is being dropped.
            Err(_) => return Err(AuthError::Config("the engine was shut down".into())),
        };
        if let Some(error) = landing.error {
            return Err(error);
        }
        match self.inner.current.load_full() {
            Some(current) if Some(current.session.generation) != seen || current.is_fresh() => {
                Ok(current.token())
            }
            // Renewed and already stale again, or logged out: go round once more.
            _ => Box::pin(self.slow_path(why != Renewal::Needed)).await,
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

    /// A refresh, recorded in the store before it is sent when the refresh token rotates.
    async fn refresh_recorded(
        &self,
        current: &Current,
        entry: &mut Entry,
        expected: &mut Option<u64>,
        generation: u64,
        last_login: &mut Option<Instant>,
    ) -> Result<Renewed, AuthError> {
        let rotates = self.inner.spec.policy.rotation == Rotation::Rotates;
        if rotates {
            // If this write fails, nothing is sent.
            entry.pending = Some(self.pending(Flow::Refresh, current.session.generation));
            self.write_entry(entry, expected).await?;
        }
        match self.refresh(&current.session, generation).await {
            Ok(renewed) => Ok(renewed),
            Err(RefreshFailure::SessionOver) => {
                // The refresh token is dead: never send it again, here or from another process,
                // even if the new login below fails (the login's record drops it from the store).
                self.drop_refresh_token(current, true);
                if let Some(s) = entry
                    .session
                    .as_mut()
                    .filter(|s| s.generation == current.session.generation)
                {
                    s.refresh_token = None;
                    s.refresh_expires_at = None;
                }
                self.login_recorded(
                    entry,
                    expected,
                    generation,
                    last_login,
                    Some(current.session.login_at),
                )
                .await
                .map_err(|e| AuthError::SessionExpired {
                    provider: self.inner.spec.name.clone(),
                    relogin: Box::new(e),
                })
            }
            Err(RefreshFailure::Failed(Failed {
                error,
                maybe_processed,
            })) => {
                if rotates {
                    if maybe_processed {
                        // The vendor may have rotated it: the record stays, and this process
                        // forgets the token too. The next renewal logs in.
                        tracing::warn!(provider = %self.inner.spec.name, "the refresh may have been processed; its refresh token counts as spent");
                        self.drop_refresh_token(current, false);
                    } else {
                        entry.pending = None;
                        if let Err(e) = self.write_entry(entry, expected).await {
                            tracing::warn!(provider = %self.inner.spec.name, error = %e, "could not clear the refresh record");
                        }
                    }
                }
                Err(error)
            }
        }
    }

    /// A login, recorded in the store before it is sent, so that a process that dies before
    /// recording its outcome leaves a trace (`status` says a session may be open at the vendor).
    async fn login_recorded(
        &self,
        entry: &mut Entry,
        expected: &mut Option<u64>,
        generation: u64,
        last_login: &mut Option<Instant>,
        stored_login: Option<SystemTime>,
    ) -> Result<Renewed, AuthError> {
        let policy = &self.inner.spec.policy;
        let attempts = self
            .allow_login(&entry.login_requests, stored_login, *last_login)
            .await?;
        // Every attempt the login may make is recorded before it is sent, and corrected to
        // the attempts made afterwards: a process that dies mid-login has used them all.
        let now = self.inner.clock.wall();
        limits::prune(policy, now, &mut entry.login_requests);
        let before = entry.login_requests.len();
        if limits::kept_for(policy).is_some() {
            entry
                .login_requests
                .extend(std::iter::repeat_n(now, attempts as usize));
        }
        let of = entry.session.as_ref().map_or(0, |s| s.generation);
        entry.pending = Some(self.pending(Flow::Login, of));
        self.write_entry(entry, expected).await?;
        // The session this login replaces, as the store holds it under the lock.
        let previous = entry.session.clone();
        let mut sent = 0;
        let result = self
            .login(
                generation,
                last_login,
                previous.as_ref(),
                attempts,
                &mut sent,
            )
            .await;
        if limits::kept_for(policy).is_some() {
            entry.login_requests.truncate(before + sent.max(1) as usize);
        }
        match result {
            // The caller writes the new session, with the corrected record.
            Ok(renewed) => Ok(renewed),
            Err(Failed {
                error,
                maybe_processed,
            }) => {
                // The vendor answered: no session was opened, so the record goes. Otherwise
                // it stays, for the next process to find; the request count is corrected.
                if !maybe_processed {
                    entry.pending = None;
                }
                if let Err(e) = self.write_entry(entry, expected).await {
                    tracing::warn!(provider = %self.inner.spec.name, error = %e, "could not update the login record");
                }
                Err(error)
            }
        }
    }

    /// Resolves a renewal recorded by a holder that is gone (it would still hold the lock).
    fn settle_pending(&self, entry: &mut Entry) {
        let Some(pending) = entry.pending.take() else {
            return;
        };
        let provider = &self.inner.spec.name;
        match pending.flow {
            Flow::Refresh => {
                if self.inner.spec.policy.rotation == Rotation::Reusable {
                    return;
                }
                tracing::warn!(%provider, pid = pending.pid, generation = pending.generation, "a refresh was sent and its outcome never recorded; its refresh token counts as spent, so the next renewal logs in");
                if let Some(s) = entry
                    .session
                    .as_mut()
                    .filter(|s| s.generation == pending.generation)
                {
                    s.refresh_token = None;
                    s.refresh_expires_at = None;
                }
                if let Some(c) = self.inner.current.load_full()
                    && c.session.generation == pending.generation
                {
                    self.drop_refresh_token(&c, false);
                }
                // A stored session of that generation is adopted without its refresh token.
                if let Some(s) = &entry.session
                    && s.generation == pending.generation
                    && self
                        .inner
                        .current
                        .load()
                        .as_ref()
                        .is_none_or(|c| c.session.generation < s.generation)
                {
                    self.install(self.current_from(s.clone(), None));
                }
            }
            Flow::Login => {
                tracing::warn!(%provider, pid = pending.pid, "a login was sent and its outcome never recorded; the vendor may hold a session from it");
                entry.abandoned_login = Some(pending);
            }
        }
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

    /// The entry in the store; an unreadable one counts as none (it is replaced).
    pub(super) async fn load_entry(&self) -> Result<Option<Entry>, AuthError> {
        match self.inner.store.load(&self.inner.key).await {
            Ok(entry) => Ok(entry),
            Err(error @ StoreError::Corrupt { .. }) => {
                tracing::warn!(provider = %self.inner.spec.name, %error, "ignoring an unreadable stored session");
                Ok(None)
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Forgets the session (logout), keeping the login request times that a `login_limit` or
    /// `min_login_interval` still counts: logging out does not reset the vendor's budget.
    /// Called with the store's lock held.
    pub(super) async fn forget_session(&self) -> Result<(), AuthError> {
        let policy = &self.inner.spec.policy;
        let loaded = self.load_entry().await?;
        let mut requests = loaded
            .as_ref()
            .map(|e| e.login_requests.clone())
            .unwrap_or_default();
        limits::prune(policy, self.inner.clock.wall(), &mut requests);
        match loaded {
            Some(old) if !requests.is_empty() => {
                let mut expected = Some(old.revision);
                let mut entry = Entry {
                    revision: old.revision,
                    login_requests: requests,
                    ..Entry::default()
                };
                self.write_entry(&mut entry, &mut expected).await
            }
            _ => Ok(self.inner.store.remove(&self.inner.key).await?),
        }
    }

    /// Writes `entry` on the revision last read or written, and moves `expected` on.
    pub(super) async fn write_entry(
        &self,
        entry: &mut Entry,
        expected: &mut Option<u64>,
    ) -> Result<(), AuthError> {
        let next = expected
            .unwrap_or(0)
            .max(entry.revision)
            .checked_add(1)
            .filter(|r| *r < MAX_REVISION)
            .ok_or_else(|| self.out_of_range("revision"))?;
        entry.revision = next.max(entry.session.as_ref().map_or(0, |s| s.generation));
        self.inner
            .store
            .compare_and_set(&self.inner.key, *expected, entry)
            .await?;
        *expected = Some(entry.revision);
        Ok(())
    }

    pub(super) fn next_generation(
        &self,
        entry: &Entry,
        current: Option<&Current>,
    ) -> Result<u64, AuthError> {
        entry
            .session
            .as_ref()
            .map(|s| s.generation)
            .max(current.map(|c| c.session.generation))
            .unwrap_or(0)
            .checked_add(1)
            .filter(|g| *g < MAX_REVISION)
            .ok_or_else(|| self.out_of_range("generation"))
    }

    fn out_of_range(&self, what: &str) -> AuthError {
        AuthError::Store(StoreError::Corrupt {
            path: "token store".into(),
            key: self.inner.key.clone(),
            message: format!("the {what} cannot grow any more; log out to start over"),
        })
    }

    fn pending(&self, flow: Flow, generation: u64) -> Pending {
        Pending {
            flow,
            started_at: self.inner.clock.wall(),
            pid: std::process::id(),
            generation,
        }
    }

    /// Makes `current` the engine's token, and asks the clock to flag it when it is due for
    /// renewal.
    pub(super) fn install(&self, current: Current) -> Arc<Current> {
        let current = Arc::new(current);
        // An idle session is flagged when its use is to be recorded, too.
        let flag_at = match (current.fresh_until, current.idle.map(|i| i.touch_at)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // Already due (a stored session adopted late in its life): flagged now, not by a clock
        // task that may run after the hot path has handed the token out.
        if flag_at.is_some_and(|at| at <= self.inner.clock.now()) {
            current.due.store(true, Ordering::Release);
        } else if let Some(at) = flag_at {
            let weak = Arc::downgrade(&current);
            self.inner.clock.schedule(
                at,
                Box::new(move || {
                    if let Some(current) = weak.upgrade() {
                        current.due.store(true, Ordering::Release);
                    }
                }),
            );
        }
        self.inner.current.store(Some(Arc::clone(&current)));
        current
    }

    /// Keeps the session in memory without its refresh token (spent or dead). `invalidated`:
    /// the access token is not to be used either (the session is over).
    /// Ends `current` for good: invalidated, and without a refresh token.
    pub(super) fn forget_refresh_token(&self, current: &Current) {
        self.drop_refresh_token(current, true);
    }

    fn drop_refresh_token(&self, current: &Current, invalidated: bool) {
        let mut session = Session::clone(&current.session);
        session.refresh_token = None;
        session.refresh_expires_at = None;
        let next = current.with_session(Arc::new(session), invalidated || current.invalidated);
        // Installed, not just stored: the clock flags the new view when it is due.
        self.install(next);
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
