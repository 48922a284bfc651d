//! The store protocol under the lock: a renewal recorded as pending before it is sent and its outcome after, and settling what a holder that is gone left behind (its refresh token counts as spent).

use super::Authenticator;
use super::flows::{Failed, RefreshFailure, Renewed};
use crate::error::{AuthError, AuthErrorKind, StoreError};
use crate::limits;
use crate::session::{Current, Flow};
use crate::store::{Entry, Pending};
use auth_spec::model::Rotation;
use std::time::{Instant, SystemTime};

impl Authenticator {
    /// A refresh, recorded in the store before it is sent when the refresh token rotates.
    pub(super) async fn refresh_recorded(
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
                .map_err(|e| {
                    AuthErrorKind::SessionExpired {
                        provider: self.inner.spec.name.clone(),
                        relogin: e,
                    }
                    .into()
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
    pub(super) async fn login_recorded(
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
    pub(super) fn settle_pending(&self, entry: &mut Entry) {
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

    pub(super) fn pending(&self, flow: Flow, generation: u64) -> Pending {
        Pending {
            flow,
            started_at: self.inner.clock.wall(),
            pid: std::process::id(),
            generation,
        }
    }

    pub(super) fn out_of_range(&self, what: &str) -> AuthError {
        AuthErrorKind::Store(StoreError::Corrupt {
            path: "token store".into(),
            key: self.inner.key.clone(),
            message: format!("the {what} cannot grow any more; log out to start over"),
        })
        .into()
    }
}
