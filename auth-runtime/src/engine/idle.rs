//! Idle (sliding) sessions: a vendor ends a session after `policy.idle_timeout` without a call.
//!
//! The engine never sends a token of a session that may have ended that way. It knows the last
//! *recorded* use of the session (in the store entry, so processes sharing a file store agree),
//! and records a use at most once per quarter of the idle timeout: the hot path reads no clock
//! and writes nothing; a clock task flags the token once a quarter has passed, and the next
//! caller records the use (one store write under its lock). So the recorded use is at most a
//! quarter of the timeout earlier than the real one, and the idle end computed from it is never
//! later than the vendor's. The worst case costs one needless login (or keep-alive) when a
//! session is used again between three quarters of the timeout after its last recorded use and
//! the vendor's real end. A session is taken as ended a little before that end (a tenth of the
//! timeout, at most 10 s) so a request on its way does not arrive late.
//!
//! Within the last quarter of the idle timeout a `keep_alive` endpoint, when the spec declares
//! one, is called before the token is handed out; without one the call itself keeps the session
//! alive (vendors with sliding sessions reset the timer on every authenticated call).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::Authenticator;
use crate::clock::instant_for;
use crate::request::RetryScope;
use crate::session::{Current, Idle};

/// How long before the vendor's idle end a session counts as ended.
fn slack(timeout: Duration) -> Duration {
    (timeout / 10).min(Duration::from_secs(10))
}

impl Authenticator {
    /// The idle deadlines of a session last used at `last_used`, when the spec has idle
    /// sessions.
    pub(super) fn idle_from(&self, last_used: SystemTime) -> Option<Idle> {
        let timeout = self.inner.spec.policy.idle_timeout?;
        let now = self.inner.clock.now();
        let wall = self.inner.clock.wall();
        let at = |after: Duration| {
            let t = last_used.checked_add(after).unwrap_or(last_used);
            instant_for(t, now, wall)
        };
        Some(Idle {
            touch_at: at(timeout / 4),
            keep_alive_at: at(timeout - timeout / 4),
            dead_at: at(timeout.saturating_sub(slack(timeout))),
        })
    }

    /// Records a use of an idle session whose quarter has passed (first calling `keep_alive`
    /// in the last quarter). A dead session is left to the renewal (a login); a failed
    /// keep-alive marks the session over.
    pub(super) async fn touch_if_due(&self, current: &Arc<Current>) {
        let Some(idle) = current.idle else {
            return;
        };
        let now = self.inner.clock.now();
        if now < idle.touch_at || now >= idle.dead_at || current.invalidated {
            return;
        }
        // One renewal or touch at a time; meanwhile the token is still alive.
        let Some(_flight) = self.try_flight() else {
            return;
        };
        // Another caller may have touched it already.
        if self
            .inner
            .current
            .load()
            .as_ref()
            .is_none_or(|c| !Arc::ptr_eq(c, current))
        {
            return;
        }
        if now >= idle.keep_alive_at
            && let Some(endpoint) = &self.inner.spec.keep_alive
        {
            let name = format!("keep_alive {}", endpoint.path);
            let kept = match self.prepare(endpoint, &name, Some(&current.session)) {
                Ok(prepared) => self.send(&prepared, &name, RetryScope::Transient).await,
                Err(e) => Err(e),
            };
            match kept {
                Ok(answer) if endpoint.is_success(answer.status) => {
                    tracing::debug!(provider = %self.inner.spec.name, "idle session kept alive");
                }
                outcome => {
                    let detail = match outcome {
                        Ok(answer) => format!("status {}", answer.status),
                        Err(e) => e.to_string(),
                    };
                    tracing::warn!(provider = %self.inner.spec.name, %detail, "keep-alive failed; the session is taken as over");
                    self.install_over(
                        current,
                        current.with_session(Arc::clone(&current.session), true),
                    );
                    return;
                }
            }
        }
        let used = self.inner.clock.wall();
        self.record_use(current.session.generation, used).await;
        let mut next = current.with_session(Arc::clone(&current.session), false);
        next.idle = self.idle_from(used);
        // Not over a token refused meanwhile (an expired-token answer): the keep-alive spoke
        // for the session before that answer.
        self.install_over(current, next);
    }

    /// Writes the last use into the store entry of `generation`, under the store's lock. A
    /// failure only costs an earlier idle end in other processes.
    async fn record_use(&self, generation: u64, used: SystemTime) {
        let _ = self
            .under_store_lock(self.record_use_locked(generation, used))
            .await;
    }

    /// [`Self::record_use`] under the store's lock.
    async fn record_use_locked(&self, generation: u64, used: SystemTime) {
        let store = &self.inner.store;
        let Ok(Some(mut entry)) = store.load(&self.inner.key).await else {
            return;
        };
        if entry.session.as_ref().map(|s| s.generation) != Some(generation) {
            return;
        }
        let expected = Some(entry.revision);
        entry.last_used = Some(used.max(entry.last_used.unwrap_or(used)));
        let Some(revision) = entry
            .revision
            .checked_add(1)
            .filter(|r| *r < crate::store::MAX_REVISION)
        else {
            return;
        };
        entry.revision = revision;
        if let Err(error) = store
            .compare_and_set(&self.inner.key, expected, &entry)
            .await
        {
            tracing::warn!(provider = %self.inner.spec.name, %error, "the session's last use could not be stored");
        }
    }
}
