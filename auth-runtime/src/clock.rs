//! Time, behind a trait so tests can move it without sleeping.
//!
//! Deadlines inside a process are monotonic ([`Instant`]): a wall-clock jump must not expire or
//! revive a token. Wall-clock time ([`SystemTime`]) is only used for what is persisted or shown,
//! and converted to a monotonic deadline when a session is loaded.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

/// A boxed future of a [`Clock::sleep`].
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Work for [`Clock::schedule`].
pub type Task = Box<dyn FnOnce() + Send>;

/// A source of monotonic and wall-clock time.
pub trait Clock: Send + Sync + 'static {
    /// Monotonic now.
    fn now(&self) -> Instant;
    /// Wall-clock now.
    fn wall(&self) -> SystemTime;
    /// Waits `duration` (backoff between retries, spacing between logins).
    fn sleep(&self, duration: Duration) -> Sleep;
    /// Runs `task` once `at` has passed (never before). The engine uses it to flag a token as
    /// due for renewal, so that the hot path reads a flag instead of the clock.
    fn schedule(&self, at: Instant, task: Task);
}

/// The real clocks.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[inline]
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
    }

    fn schedule(&self, at: Instant, task: Task) {
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                handle.spawn(async move {
                    tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
                    task();
                });
            }
            // No runtime to wait on: run it now, which only sends callers to the slow path
            // (where the clock is read) early; never late.
            Err(_) => task(),
        }
    }
}

/// A clock that only moves when told to (or when something sleeps on it), for tests: both
/// readings advance together, and scheduled tasks run when time passes their instant.
pub struct ManualClock {
    start: Instant,
    wall_start: SystemTime,
    offset_nanos: AtomicU64,
    scheduled: Mutex<Vec<(Instant, Task)>>,
}

impl std::fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManualClock")
            .field("offset", &self.offset())
            .finish_non_exhaustive()
    }
}

impl ManualClock {
    /// A clock starting at the real current time.
    pub fn new() -> Self {
        Self::starting_at(SystemTime::now())
    }

    /// A clock whose wall reading starts at `wall`.
    pub fn starting_at(wall: SystemTime) -> Self {
        Self {
            start: Instant::now(),
            wall_start: wall,
            offset_nanos: AtomicU64::new(0),
            scheduled: Mutex::new(Vec::new()),
        }
    }

    /// Moves time forward, running the scheduled tasks that fall due.
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.offset_nanos.fetch_add(nanos, Ordering::SeqCst);
        self.run_due();
    }

    fn run_due(&self) {
        let now = self.now();
        let due: Vec<Task> = {
            let mut scheduled = self
                .scheduled
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut *scheduled)
                .into_iter()
                .partition(|(at, _)| *at <= now);
            *scheduled = later;
            due.into_iter().map(|(_, task)| task).collect()
        };
        due.into_iter().for_each(|task| task());
    }

    fn offset(&self) -> Duration {
        Duration::from_nanos(self.offset_nanos.load(Ordering::SeqCst))
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        self.start + self.offset()
    }

    fn wall(&self) -> SystemTime {
        self.wall_start + self.offset()
    }

    /// Does not wait: moves the clock forward by `duration` instead, so tests of backoff and
    /// login spacing run instantly and still see the time pass.
    fn sleep(&self, duration: Duration) -> Sleep {
        self.advance(duration);
        Box::pin(std::future::ready(()))
    }

    fn schedule(&self, at: Instant, task: Task) {
        self.scheduled
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((at, task));
        self.run_due();
    }
}

/// The monotonic instant matching wall time `at`, as seen from (`now`, `wall_now`). Times too
/// far ahead for the clock to hold (vendor numbers are untrusted) become [`far_instant`].
pub(crate) fn instant_for(at: SystemTime, now: Instant, wall_now: SystemTime) -> Instant {
    match at.duration_since(wall_now) {
        Ok(ahead) => now.checked_add(ahead).unwrap_or_else(|| far_instant(now)),
        Err(behind) => now.checked_sub(behind.duration()).unwrap_or(now),
    }
}

/// About a century: as good as "never" for a token, and within what every clock can hold.
const FAR: Duration = Duration::from_secs(100 * 365 * 86_400);

/// An instant so far ahead that it means "never" for a token.
pub(crate) fn far_instant(now: Instant) -> Instant {
    now.checked_add(FAR).unwrap_or(now)
}

/// A wall time so far after `t` that it means "never" for a token.
pub(crate) fn far_wall(t: SystemTime) -> SystemTime {
    t.checked_add(FAR).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_both_readings() {
        let clock = ManualClock::new();
        let (i, w) = (clock.now(), clock.wall());
        clock.advance(Duration::from_secs(90));
        assert_eq!(clock.now() - i, Duration::from_secs(90));
        assert_eq!(
            clock.wall().duration_since(w).ok(),
            Some(Duration::from_secs(90))
        );
    }

    #[test]
    fn manual_clock_runs_tasks_when_due() {
        let clock = ManualClock::new();
        let ran = std::sync::Arc::new(AtomicU64::new(0));
        let r = std::sync::Arc::clone(&ran);
        clock.schedule(
            clock.now() + Duration::from_secs(10),
            Box::new(move || {
                r.fetch_add(1, Ordering::SeqCst);
            }),
        );
        clock.advance(Duration::from_secs(9));
        assert_eq!(ran.load(Ordering::SeqCst), 0, "never early");
        clock.advance(Duration::from_secs(1));
        assert_eq!(ran.load(Ordering::SeqCst), 1);
        let r = std::sync::Arc::clone(&ran);
        clock.schedule(
            clock.now(),
            Box::new(move || {
                r.fetch_add(1, Ordering::SeqCst);
            }),
        );
        assert_eq!(ran.load(Ordering::SeqCst), 2, "already due: runs at once");
    }

    #[test]
    fn wall_times_map_to_instants() {
        let now = Instant::now();
        let wall = SystemTime::now();
        let later = wall + Duration::from_secs(10);
        assert_eq!(instant_for(later, now, wall) - now, Duration::from_secs(10));
        let earlier = wall - Duration::from_secs(10);
        assert!(instant_for(earlier, now, wall) <= now);
    }

    #[test]
    fn wall_times_beyond_the_clock_do_not_overflow() {
        let now = Instant::now();
        let wall = SystemTime::now();
        let year_9999 = SystemTime::UNIX_EPOCH + Duration::from_secs(253_402_300_799);
        assert!(instant_for(year_9999, now, wall) > now);
        let extreme = SystemTime::UNIX_EPOCH + Duration::from_secs(i64::MAX as u64 / 2);
        assert!(instant_for(extreme, now, wall) >= now);
        assert!(far_wall(extreme) >= extreme);
    }
}
