//! The session this engine holds in memory (installed, invalidated, its refresh token dropped) and its entry in the store (loaded, written, forgotten).

use super::Authenticator;
use crate::error::{AuthError, StoreError};
use crate::limits;
use crate::session::{Current, Session};
use crate::store::{Entry, MAX_REVISION};
use std::sync::Arc;
use std::sync::atomic::Ordering;

impl Authenticator {
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

    /// Makes `current` the engine's token, and asks the clock to flag it when it is due for
    /// renewal.
    pub(super) fn install(&self, current: Current) -> Arc<Current> {
        let current = self.armed(current);
        self.inner.current.store(Some(Arc::clone(&current)));
        current
    }

    /// [`Self::install`], only if `previous` is still current: for the outcome of a step that
    /// ran while other callers could change the session (an expired-token answer invalidating
    /// it), so that what they did is not undone. Whether `next` was installed.
    pub(super) fn install_over(&self, previous: &Arc<Current>, next: Current) -> bool {
        let next = self.armed(next);
        let before = self.inner.current.compare_and_swap(previous, Some(next));
        before.as_ref().is_some_and(|b| Arc::ptr_eq(b, previous))
    }

    /// `current`, with the clock task that flags it when due.
    fn armed(&self, current: Current) -> Arc<Current> {
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
        current
    }

    /// Keeps the session in memory without its refresh token (spent or dead). `invalidated`:
    /// the access token is not to be used either (the session is over).
    /// Ends `current` for good: invalidated, and without a refresh token.
    pub(super) fn forget_refresh_token(&self, current: &Current) {
        self.drop_refresh_token(current, true);
    }

    pub(super) fn drop_refresh_token(&self, current: &Current, invalidated: bool) {
        let mut session = Session::clone(&current.session);
        session.refresh_token = None;
        session.refresh_expires_at = None;
        let next = current.with_session(Arc::new(session), invalidated || current.invalidated);
        // Installed, not just stored: the clock flags the new view when it is due.
        self.install(next);
    }
}
