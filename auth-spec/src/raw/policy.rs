//! `policy`: when to refresh, what a refresh token does, retries, login budgets.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::{RawExpiresAt, SpannedString};

/// When a token is refreshed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawRefreshTiming {
    /// Only once the access token has expired; refreshing earlier is an error at the vendor.
    AfterExpiry,
    /// Once within `margin` of expiry (in the background), or any time after.
    AheadOfExpiry,
    /// Within `margin` of expiry and only while the access token is still valid; once it has
    /// expired, a refresh is not possible and the runtime logs in again.
    BeforeExpiry,
}

/// What happens to the refresh token on refresh.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawRotation {
    /// Every refresh answer carries a new refresh token; the old one is dead. Keep the latest,
    /// never send one twice.
    Rotates,
    /// The refresh token stays valid across refreshes.
    Reusable,
}

/// Retries of token requests on transient faults (connect error, timeout, 5xx, 429).
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawRetry {
    /// Attempts in all, including the first (default 3, at most 10).
    #[serde(default)]
    #[schemars(with = "Option<u32>")]
    pub max_attempts: Option<Spanned<u32>>,
    /// Backoff before the second attempt, doubled each time (default `200ms`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub initial_backoff: Option<SpannedString>,
    /// Cap on one backoff (default `10s`). A `Retry-After` answer is honoured up to this cap.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub max_backoff: Option<SpannedString>,
}

/// The refresh and re-login rules.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawPolicy {
    /// When to refresh: `after_expiry`, `ahead_of_expiry` or `before_expiry`.
    #[schemars(with = "RawRefreshTiming")]
    pub refresh: Spanned<RawRefreshTiming>,
    /// How long before expiry a refresh starts (`ahead_of_expiry`, `before_expiry`), e.g. `60s`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub margin: Option<SpannedString>,
    /// The margin never exceeds this fraction of the token's lifetime (default 0.5), so a
    /// short-lived token is not refreshed on every call.
    #[serde(default)]
    #[schemars(with = "Option<f64>")]
    pub max_margin_fraction: Option<Spanned<f64>>,
    /// `rotates` or `reusable`. Required when there is a refresh endpoint.
    #[serde(default)]
    #[schemars(with = "Option<RawRotation>")]
    pub rotation: Option<Spanned<RawRotation>>,
    /// Refresh answers with these statuses mean the session is over: log in again with the
    /// credentials. Default `[400, 401, 403]`.
    #[serde(default)]
    #[schemars(with = "Option<Vec<u16>>")]
    pub session_over_status: Option<Vec<Spanned<u16>>>,
    /// Login answers with these statuses mean the credentials were rejected (no retry).
    /// Default `[400, 401, 403]`.
    #[serde(default)]
    #[schemars(with = "Option<Vec<u16>>")]
    pub credentials_rejected_status: Option<Vec<Spanned<u16>>>,
    /// Retries on transient faults.
    #[serde(default)]
    pub retry: Option<RawRetry>,
    /// The token endpoint punishes bursts: at least this long between two logins, e.g. `10s`.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub min_login_interval: Option<SpannedString>,
    /// The largest token answer (login, refresh, logout) read: bytes (`65536`) or a size with a
    /// unit (`64KiB`, `1MiB`), between 1 KiB and 64 MiB (default `1MiB`). A larger answer is an
    /// error, and reading stops at the cap.
    #[serde(default)]
    #[schemars(with = "Option<RawSize>")]
    pub max_answer_size: Option<SpannedString>,
    /// Where token answers say the vendor's current time (`{ path: "@header:Date", format:
    /// http_date }` or a body field): absolute expiry times in them are then corrected by the
    /// difference between the vendor's clock and ours. Never corrected without it.
    #[serde(default)]
    #[schemars(with = "Option<RawExpiresAt>")]
    pub server_time: Option<Spanned<RawExpiresAt>>,
    /// The session ends after this long without a call (a sliding session), e.g. `15m`: the
    /// runtime logs in again rather than send a token idle that long, and calls `keep_alive`
    /// (if declared) when a session nears its idle end.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub idle_timeout: Option<SpannedString>,
    /// A budget of login requests in a sliding window, e.g. `{ requests: 20, per: 1h }` for
    /// "20 token requests per hour". Counted in the session store, so that every process
    /// sharing it shares the budget; retries count. When it is spent, a login fails at once
    /// saying when the next one is allowed.
    #[serde(default)]
    #[schemars(with = "Option<RawLoginLimit>")]
    pub login_limit: Option<Spanned<RawLoginLimit>>,
}

/// `login_limit`: at most `requests` login requests in any window of length `per`.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RawLoginLimit {
    /// How many login requests (attempts, retries included) the window allows, at least 1.
    #[schemars(with = "u32")]
    pub requests: Spanned<u32>,
    /// The window, e.g. `1h`, `24h`, `10m`.
    #[schemars(with = "String")]
    pub per: SpannedString,
}

/// A size: a number of bytes, or a number with a unit such as `64KiB` or `1MiB`.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum RawSize {
    /// Bytes.
    Bytes(u64),
    /// A number with a unit: `B`, `KiB`, `MiB`, `GiB`, `kB`, `MB`, `GB`.
    Text(String),
}
