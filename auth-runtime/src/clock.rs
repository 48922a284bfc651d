//! Time, behind a trait so tests can move it without sleeping.
//!
//! Deadlines inside a process are monotonic ([`Instant`]): a wall-clock jump must not expire or
//! revive a token. Wall-clock time ([`SystemTime`]) is only used for what is persisted or shown,
//! and converted to a monotonic deadline when a session is loaded.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// A boxed future of a [`Clock::sleep`].
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A source of monotonic and wall-clock time.
pub trait Clock: Send + Sync + 'static {
    /// Monotonic now.
    fn now(&self) -> Instant;
    /// Wall-clock now.
    fn wall(&self) -> SystemTime;
    /// Waits `duration` (backoff between retries, spacing between logins).
    fn sleep(&self, duration: Duration) -> Sleep;
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
}

/// A clock that only moves when told to (or when something sleeps on it), for tests: both
/// readings advance together.
#[derive(Debug)]
pub struct ManualClock {
    start: Instant,
    wall_start: SystemTime,
    offset_nanos: AtomicU64,
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
        }
    }

    /// Moves time forward.
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.offset_nanos.fetch_add(nanos, Ordering::SeqCst);
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
}

/// The monotonic instant matching wall time `at`, as seen from (`now`, `wall_now`).
pub(crate) fn instant_for(at: SystemTime, now: Instant, wall_now: SystemTime) -> Instant {
    match at.duration_since(wall_now) {
        Ok(ahead) => now + ahead,
        Err(behind) => now.checked_sub(behind.duration()).unwrap_or(now),
    }
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
    fn wall_times_map_to_instants() {
        let now = Instant::now();
        let wall = SystemTime::now();
        let later = wall + Duration::from_secs(10);
        assert_eq!(instant_for(later, now, wall) - now, Duration::from_secs(10));
        let earlier = wall - Duration::from_secs(10);
        assert!(instant_for(earlier, now, wall) <= now);
    }
}
