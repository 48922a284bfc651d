//! What an engine has done since it was built: counters a user can read
//! ([`crate::Authenticator::stats`]) and, with the `metrics` feature, the same counts through the
//! `metrics` facade (labelled with the provider), for Prometheus or any other recorder.

use std::sync::atomic::{AtomicU64, Ordering};

/// The `auth.replay` span of a request sent again after an answer ended the token of
/// generation `stale`; `generation` (the renewed token's) and `outcome` are recorded into it.
/// One definition for the reqwest middleware and the tower layer, so both say the same.
pub(crate) fn replay_span(provider: &str, stale: u64) -> tracing::Span {
    tracing::debug_span!(
        "auth.replay",
        provider = %provider,
        stale,
        generation = tracing::field::Empty,
        outcome = tracing::field::Empty,
    )
}

/// Counts since the engine was built. Every renewal is one login or one refresh (or one
/// failure), however many callers waited for it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Logins that gave a session.
    pub logins: u64,
    /// Refreshes that gave a new token.
    pub refreshes: u64,
    /// Renewals (login or refresh) that failed; their callers got the error.
    pub failures: u64,
    /// Requests sent again after an expired-token or session-over answer.
    pub replays: u64,
    /// Callers that waited for a renewal another caller had started, instead of sending one.
    pub waits: u64,
}

/// One thing counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Event {
    Login,
    Refresh,
    Failure,
    Replay,
    Wait,
}

impl Event {
    /// The `metrics` counter name.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    pub(crate) fn metric(self) -> &'static str {
        match self {
            Event::Login => "auth_logins_total",
            Event::Refresh => "auth_refreshes_total",
            Event::Failure => "auth_renewal_failures_total",
            Event::Replay => "auth_replays_total",
            Event::Wait => "auth_renewal_waits_total",
        }
    }
}

/// The engine's counters: relaxed atomics, off the hot path (a cached token counts nothing).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    logins: AtomicU64,
    refreshes: AtomicU64,
    failures: AtomicU64,
    replays: AtomicU64,
    waits: AtomicU64,
    /// Waits already passed to the `metrics` facade: waits are passed on in bulk when the
    /// renewal they waited for ends, so that each of thousands of waiters costs one atomic
    /// add, not a metrics key of its own.
    #[cfg(feature = "metrics")]
    waits_reported: AtomicU64,
}

impl Counters {
    /// Counts `event` for `provider`.
    pub(crate) fn record(&self, provider: &str, event: Event) {
        let counter = match event {
            Event::Login => &self.logins,
            Event::Refresh => &self.refreshes,
            Event::Failure => &self.failures,
            Event::Replay => &self.replays,
            Event::Wait => &self.waits,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        if event != Event::Wait {
            metrics::counter!(event.metric(), "provider" => provider.to_owned()).increment(1);
        }
        #[cfg(not(feature = "metrics"))]
        let _ = provider;
    }

    /// Passes the waits counted since the last call to the `metrics` facade (called when a
    /// renewal ends).
    pub(crate) fn report_waits(&self, provider: &str) {
        #[cfg(feature = "metrics")]
        {
            let waits = self.waits.load(Ordering::Relaxed);
            let before = self.waits_reported.swap(waits, Ordering::Relaxed);
            if waits > before {
                metrics::counter!(Event::Wait.metric(), "provider" => provider.to_owned())
                    .increment(waits - before);
            }
        }
        #[cfg(not(feature = "metrics"))]
        let _ = provider;
    }

    /// The counts now.
    pub(crate) fn snapshot(&self) -> Stats {
        Stats {
            logins: self.logins.load(Ordering::Relaxed),
            refreshes: self.refreshes.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            replays: self.replays.load(Ordering::Relaxed),
            waits: self.waits.load(Ordering::Relaxed),
        }
    }
}
