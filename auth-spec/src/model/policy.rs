//! Refresh and re-login rules: timing, rotation, retries, login budgets, clock skew.

use std::time::Duration;

use super::ValueSource;
use crate::timefmt::TimeFormat;

/// When a token is refreshed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefreshTiming {
    /// Only after the access token expired (premature refresh is an error at the vendor).
    AfterExpiry,
    /// Within the margin before expiry, or any time after.
    AheadOfExpiry,
    /// Within the margin before expiry, only while still valid; after expiry, log in.
    BeforeExpiry,
}

/// What a refresh does to the refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rotation {
    /// Each refresh issues a new refresh token; the old one is dead.
    Rotates,
    /// The refresh token stays valid.
    Reusable,
}

/// Retries of token requests on transient faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Retry {
    /// Attempts in all, including the first.
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubled each time.
    pub initial_backoff: Duration,
    /// Cap on one backoff.
    pub max_backoff: Duration,
}

/// Refresh and re-login rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// When to refresh.
    pub refresh: RefreshTiming,
    /// How long before expiry a refresh starts (zero for `AfterExpiry`).
    pub margin: Duration,
    /// The margin never exceeds this fraction of the token's lifetime.
    pub max_margin_fraction: f64,
    /// What refresh does to the refresh token (`Reusable` when there is no refresh endpoint).
    pub rotation: Rotation,
    /// Refresh answers that mean the session is over (log in again).
    pub session_over_status: Vec<u16>,
    /// Login answers that mean the credentials were rejected.
    pub credentials_rejected_status: Vec<u16>,
    /// Retries on transient faults.
    pub retry: Retry,
    /// Minimum time between two logins.
    pub min_login_interval: Option<Duration>,
    /// The largest token answer read, in bytes (`max_answer_size`, default 1 MiB).
    pub max_answer_bytes: u64,
    /// A budget of login requests in a sliding window (`login_limit`).
    pub login_limit: Option<LoginLimit>,
    /// Where token answers say the vendor's current time, when the spec says to correct
    /// absolute expiry times for clock skew.
    pub server_time: Option<ServerTime>,
    /// The session ends after this long without a call (a sliding session).
    pub idle_timeout: Option<Duration>,
}

/// At most `requests` login requests in any window of length `per` ("20 token requests per
/// hour"). Every request sent counts, retries included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LoginLimit {
    /// Requests allowed in one window, at least 1.
    pub requests: u32,
    /// The window's length, more than zero.
    pub per: Duration,
}

impl LoginLimit {
    /// The most requests a budget may allow per window; the store keeps one record per request.
    pub const MAX_REQUESTS: u32 = 10_000;
    /// The longest window a budget may have: 31 days.
    pub const MAX_WINDOW: Duration = Duration::from_secs(31 * 86_400);
}

/// Where a token answer says the vendor's current time (`policy.server_time`).
#[derive(Debug, Clone, PartialEq)]
pub struct ServerTime {
    /// Where the time is (e.g. `@header:Date`).
    pub source: ValueSource,
    /// How it is written.
    pub format: TimeFormat,
}

impl Policy {
    /// The cap on token answers when a spec declares none: 1 MiB.
    pub const DEFAULT_MAX_ANSWER_BYTES: u64 = 1 << 20;
    /// The smallest cap a spec may declare: 1 KiB.
    pub const MIN_MAX_ANSWER_BYTES: u64 = 1 << 10;
    /// The largest cap a spec may declare: 64 MiB.
    pub const MAX_MAX_ANSWER_BYTES: u64 = 64 << 20;
}
