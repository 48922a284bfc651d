//! The refresh policy: given a session and the time, what to do.
//!
//! Rules from the spec's `policy` (see DESIGN.md "Refresh policy"):
//! - `after_expiry`: use the token until it expires, then refresh (Intergiro rejects an earlier
//!   refresh).
//! - `ahead_of_expiry`: within `margin` of expiry, refresh in the background while callers keep
//!   the still-valid token; once expired, callers wait for the refresh.
//! - `before_expiry`: like `ahead_of_expiry`, but an expired token cannot be refreshed: log in.
//! - The margin never exceeds `max_margin_fraction` of the token's lifetime, so a short-lived
//!   token is not refreshed on every call.
//! - A refresh needs a refresh endpoint, a refresh token, and a session that has not expired;
//!   otherwise the only way forward is a login.

use std::time::{Duration, Instant};

use auth_spec::model::{Policy, RefreshTiming};

use crate::session::Current;

/// What the engine should do for a caller asking for a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The token is good: use it.
    Use,
    /// The token is good, but a refresh should start in the background.
    UseAndRefresh,
    /// The token cannot be used: refresh, and wait for it.
    Refresh,
    /// No usable session: log in, and wait for it.
    Login,
}

/// The effective margin for a token issued at `issued` and expiring at `deadline`.
pub fn effective_margin(policy: &Policy, issued: Instant, deadline: Instant) -> Duration {
    if policy.refresh == RefreshTiming::AfterExpiry {
        return Duration::ZERO;
    }
    let lifetime = deadline.saturating_duration_since(issued);
    policy
        .margin
        .min(lifetime.mul_f64(policy.max_margin_fraction))
}

/// Until when a token can be used with no action at all.
pub(crate) fn fresh_until(
    policy: &Policy,
    issued: Instant,
    deadline: Option<Instant>,
) -> Option<Instant> {
    deadline.map(|d| {
        let margin = effective_margin(policy, issued, d);
        d.checked_sub(margin).unwrap_or(d)
    })
}

/// Decides what to do with `current` at `now`. `can_refresh` says whether the spec has a
/// refresh endpoint.
pub(crate) fn decide(
    policy: &Policy,
    can_refresh: bool,
    current: Option<&Current>,
    now: Instant,
) -> Action {
    let Some(current) = current else {
        return Action::Login;
    };
    // An idle session past its idle end is over at the vendor: its tokens are never sent.
    let idle_dead = current.idle.is_some_and(|idle| now >= idle.dead_at);
    let refreshable = can_refresh
        && !idle_dead
        && current.session.refresh_token.is_some()
        && current.refresh_deadline.is_none_or(|d| now < d);
    let expired =
        idle_dead || current.invalidated || current.access_deadline.is_some_and(|d| now >= d);
    if expired {
        let refresh_allowed = refreshable && policy.refresh != RefreshTiming::BeforeExpiry;
        // `before_expiry` vendors cannot refresh an expired token, except that an expired-token
        // answer before our own deadline (clock skew) still leaves the refresh token usable.
        let skewed = current.invalidated && current.access_deadline.is_none_or(|d| now < d);
        return if refresh_allowed || (refreshable && skewed) {
            Action::Refresh
        } else {
            Action::Login
        };
    }
    match current.fresh_until {
        Some(t) if now >= t && refreshable => Action::UseAndRefresh,
        _ => Action::Use,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Session;
    use auth_spec::model::{Retry, Rotation};
    use secrecy::SecretString;
    use std::time::SystemTime;

    fn policy(refresh: RefreshTiming, margin: u64) -> Policy {
        Policy {
            refresh,
            margin: Duration::from_secs(margin),
            max_margin_fraction: 0.5,
            rotation: Rotation::Rotates,
            session_over_status: vec![400, 401],
            credentials_rejected_status: vec![401],
            retry: Retry {
                max_attempts: 3,
                initial_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(10),
            },
            min_login_interval: None,
            max_answer_bytes: Policy::DEFAULT_MAX_ANSWER_BYTES,
            login_limit: None,
            server_time: None,
            idle_timeout: None,
        }
    }

    fn current(p: &Policy, issued: Instant, lifetime: Option<u64>, refresh: bool) -> Current {
        let deadline = lifetime.map(|s| issued + Duration::from_secs(s));
        Current::new(
            std::sync::Arc::new(Session {
                access_token: SecretString::from("a"),
                refresh_token: refresh.then(|| SecretString::from("r")),
                access_expires_at: None,
                refresh_expires_at: None,
                issued_at: SystemTime::now(),
                login_at: SystemTime::now(),
                generation: 1,
                last_response: None,
                last_flow: crate::session::Flow::Login,
                values: Default::default(),
                response_headers: Default::default(),
            }),
            fresh_until(p, issued, deadline),
            deadline,
            None,
            false,
        )
    }

    #[test]
    fn after_expiry_never_refreshes_early() {
        let p = policy(RefreshTiming::AfterExpiry, 0);
        let t0 = Instant::now();
        let c = current(&p, t0, Some(600), true);
        assert_eq!(
            decide(&p, true, Some(&c), t0 + Duration::from_secs(599)),
            Action::Use
        );
        assert_eq!(
            decide(&p, true, Some(&c), t0 + Duration::from_secs(600)),
            Action::Refresh
        );
        assert_eq!(
            decide(&p, false, Some(&c), t0 + Duration::from_secs(600)),
            Action::Login
        );
        assert_eq!(decide(&p, true, None, t0), Action::Login);
    }

    #[test]
    fn ahead_of_expiry_refreshes_in_the_margin_capped_by_lifetime() {
        let p = policy(RefreshTiming::AheadOfExpiry, 60);
        let t0 = Instant::now();
        let c = current(&p, t0, Some(1800), true);
        assert_eq!(
            decide(&p, true, Some(&c), t0 + Duration::from_secs(1739)),
            Action::Use
        );
        assert_eq!(
            decide(&p, true, Some(&c), t0 + Duration::from_secs(1740)),
            Action::UseAndRefresh
        );
        assert_eq!(
            decide(&p, true, Some(&c), t0 + Duration::from_secs(1800)),
            Action::Refresh
        );
        // A 30 s token: the margin is capped at 15 s, not 60 s (which would refresh every call).
        let short = current(&p, t0, Some(30), true);
        assert_eq!(
            decide(&p, true, Some(&short), t0 + Duration::from_secs(14)),
            Action::Use
        );
        assert_eq!(
            decide(&p, true, Some(&short), t0 + Duration::from_secs(15)),
            Action::UseAndRefresh
        );
    }

    #[test]
    fn before_expiry_logs_in_once_expired() {
        let p = policy(RefreshTiming::BeforeExpiry, 60);
        let t0 = Instant::now();
        let c = current(&p, t0, Some(600), true);
        assert_eq!(
            decide(&p, true, Some(&c), t0 + Duration::from_secs(550)),
            Action::UseAndRefresh
        );
        assert_eq!(
            decide(&p, true, Some(&c), t0 + Duration::from_secs(600)),
            Action::Login
        );
    }

    #[test]
    fn unknown_expiry_is_used_until_invalidated() {
        let p = policy(RefreshTiming::AfterExpiry, 0);
        let t0 = Instant::now();
        let mut c = current(&p, t0, None, true);
        assert_eq!(
            decide(&p, true, Some(&c), t0 + Duration::from_secs(86_400)),
            Action::Use
        );
        c.invalidated = true;
        assert_eq!(decide(&p, true, Some(&c), t0), Action::Refresh);
    }

    #[test]
    fn dead_session_means_login() {
        let p = policy(RefreshTiming::AfterExpiry, 0);
        let t0 = Instant::now();
        let mut c = current(&p, t0, Some(60), true);
        c.refresh_deadline = Some(t0 + Duration::from_secs(30));
        assert_eq!(
            decide(&p, true, Some(&c), t0 + Duration::from_secs(61)),
            Action::Login
        );
        let no_refresh_token = current(&p, t0, Some(60), false);
        assert_eq!(
            decide(
                &p,
                true,
                Some(&no_refresh_token),
                t0 + Duration::from_secs(61)
            ),
            Action::Login
        );
    }
}
