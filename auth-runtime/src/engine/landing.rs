//! The renewal lock ([`Flight`]), the board where each holder announces that it let go
//! ([`Landings`]), and the named future a caller waits on for the next announcement ([`Landed`]).
//!
//! A named future rather than a `watch` receiver's `async fn`: a caller that finds a renewal in
//! flight waits on it in a small box of its own ([`super::AccessTokenFuture`]), so that each of
//! 10,000 callers waiting on one login touches a few cache lines when woken.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use arc_swap::ArcSwap;
use tokio::sync::Notify;

use super::Authenticator;
use crate::error::AuthError;

/// This engine's renewal lock, held. Whoever lets go of it announces a landing, however it was
/// used (a renewal, a keep-alive, renewed values, a logout): a caller who found it taken waits
/// for that announcement, and a holder that renewed nothing must not leave it waiting.
pub(super) struct Flight<'a> {
    // Declared first, so dropped first: the lock is free before the announcement, and a waiter
    // woken by it that goes round finds it so.
    last_login: tokio::sync::MutexGuard<'a, Option<Instant>>,
    announcer: Announcer<'a>,
}

impl Flight<'_> {
    /// When this engine last logged in (kept under the lock, for `min_login_interval`).
    pub(super) fn last_login(&mut self) -> &mut Option<Instant> {
        &mut self.last_login
    }

    /// Announces `error` as the outcome when the lock is let go: the waiters share it.
    pub(super) fn failed(&mut self, error: AuthError) {
        self.announcer.error = Some(error);
    }
}

/// Announces a landing when dropped (with [`Flight`], after the lock is let go).
struct Announcer<'a> {
    landings: &'a Landings,
    error: Option<AuthError>,
}

impl Drop for Announcer<'_> {
    fn drop(&mut self) {
        self.landings.announce(self.error.take());
    }
}

impl Authenticator {
    /// The renewal lock, if no one holds it.
    pub(super) fn try_flight(&self) -> Option<Flight<'_>> {
        let guard = self.inner.flight.try_lock().ok()?;
        Some(self.flight_of(guard))
    }

    /// The renewal lock, once whoever holds it lets go.
    pub(super) async fn flight(&self) -> Flight<'_> {
        let guard = self.inner.flight.lock().await;
        self.flight_of(guard)
    }

    fn flight_of<'a>(&'a self, guard: tokio::sync::MutexGuard<'a, Option<Instant>>) -> Flight<'a> {
        Flight {
            last_login: guard,
            announcer: Announcer {
                landings: &self.inner.landings,
                error: None,
            },
        }
    }
}

/// The end of a renewal, as announced to the callers waiting for it.
#[derive(Debug, Default)]
struct Landing {
    /// Counts renewals that ended.
    seq: u64,
    /// Why the last one failed, if it did.
    error: Option<AuthError>,
}

/// Announces the end of each renewal, with its error if it failed, so that the callers who
/// waited for it share its outcome instead of each trying again in turn.
#[derive(Debug, Default)]
pub(super) struct Landings {
    last: ArcSwap<Landing>,
    notify: Notify,
}

impl Landings {
    /// Announces that a renewal ended (`error`: why it failed) and wakes every waiter.
    pub(super) fn announce(&self, error: Option<AuthError>) {
        self.last.rcu(|last| Landing {
            seq: last.seq + 1,
            error: error.clone(),
        });
        self.notify.notify_waiters();
    }

    /// A future ready at the first announcement made after this call.
    pub(super) fn next(&self) -> Landed<'_> {
        // Registered before the count is read: an announcement between the two still wakes it.
        let notified = self.notify.notified();
        let started = self.last.load().seq;
        Landed {
            board: self,
            notified,
            started,
        }
    }
}

pin_project_lite::pin_project! {
    /// Ready, with the renewal's error if it failed, at the first announcement after it was made.
    pub(super) struct Landed<'a> {
        board: &'a Landings,
        #[pin]
        notified: tokio::sync::futures::Notified<'a>,
        started: u64,
    }
}

impl Future for Landed<'_> {
    type Output = Option<AuthError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let last = this.board.last.load();
            if last.seq > *this.started {
                return Poll::Ready(last.error.clone());
            }
            std::task::ready!(this.notified.as_mut().poll(cx));
            // Woken by an announcement this future had already counted: watch for the next,
            // registered before the count is read again.
            this.notified.set(this.board.notify.notified());
        }
    }
}

impl std::fmt::Debug for Landed<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Landed")
            .field("started", &self.started)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AuthErrorKind;
    use std::sync::Arc;

    fn poll<F: Future + ?Sized>(future: Pin<&mut F>) -> Poll<F::Output> {
        future.poll(&mut Context::from_waker(std::task::Waker::noop()))
    }

    #[test]
    fn a_waiter_sees_only_announcements_made_after_it_started() {
        let board = Landings::default();
        board.announce(None);
        let mut landed = std::pin::pin!(board.next());
        assert!(poll(landed.as_mut()).is_pending());
        board.announce(Some(AuthError::config("down")));
        match poll(landed.as_mut()) {
            Poll::Ready(Some(error)) => match error.kind() {
                AuthErrorKind::Config(detail) => assert_eq!(detail, "down"),
                other => panic!("expected the failed landing, got {other:?}"),
            },
            other => panic!("expected the failed landing, got {other:?}"),
        }
    }

    #[test]
    fn an_announcement_before_the_first_poll_is_not_lost() {
        let board = Landings::default();
        let mut landed = std::pin::pin!(board.next());
        board.announce(None);
        assert!(matches!(poll(landed.as_mut()), Poll::Ready(None)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_waiter_is_woken() {
        let board = Arc::new(Landings::default());
        let mut waiters = Vec::new();
        for _ in 0..200 {
            let board = Arc::clone(&board);
            let (ready, registered) = tokio::sync::oneshot::channel();
            waiters.push((
                tokio::spawn(async move {
                    let landed = board.next();
                    let _ = ready.send(());
                    landed.await
                }),
                registered,
            ));
        }
        let mut handles = Vec::new();
        for (handle, registered) in waiters {
            registered.await.expect("registered");
            handles.push(handle);
        }
        board.announce(None);
        for handle in handles {
            assert!(handle.await.expect("waiter").is_none());
        }
    }
}
