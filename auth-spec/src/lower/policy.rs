//! Lowering of `policy`: refresh timing and margin, rotation, statuses, retries, login spacing
//! and budgets, answer size, server time, idle timeout; and whether the refresh timing can
//! learn the expiry it needs.

use std::time::Duration;

use serde_json::Value;
use serde_saphyr::Spanned;

use super::Lowerer;
use super::sources::part_locations;
use crate::model::*;
use crate::raw::*;
use crate::timefmt::{TimeFormat, Zone, pattern_has_offset};

impl Lowerer<'_> {
    pub(super) fn policy(&mut self, raw: &RawSpec) -> Option<Policy> {
        let p = &raw.policy;
        let at = p.refresh.referenced;
        let before = self.diags.len();
        let refresh = match p.refresh.value {
            RawRefreshTiming::AfterExpiry => RefreshTiming::AfterExpiry,
            RawRefreshTiming::AheadOfExpiry => RefreshTiming::AheadOfExpiry,
            RawRefreshTiming::BeforeExpiry => RefreshTiming::BeforeExpiry,
        };
        let margin = match (refresh, &p.margin) {
            (RefreshTiming::AfterExpiry, Some(m)) => {
                self.error(
                    m.referenced,
                    "`margin` has no meaning with `refresh: after_expiry`",
                    Some("remove it, or refresh `ahead_of_expiry`".into()),
                );
                Duration::ZERO
            }
            (RefreshTiming::AfterExpiry, None) => Duration::ZERO,
            (_, Some(m)) => self.nonzero_duration(m, "a margin").unwrap_or_default(),
            (_, None) => {
                self.error(
                    at,
                    "refreshing ahead of expiry needs a `margin`",
                    Some("e.g. `margin: 60s`".into()),
                );
                Duration::ZERO
            }
        };
        let max_margin_fraction = match &p.max_margin_fraction {
            Some(f) if !(f.value > 0.0 && f.value <= 1.0) => {
                self.error(
                    f.referenced,
                    format!(
                        "`max_margin_fraction` is {}; it must be above 0 and at most 1",
                        f.value
                    ),
                    Some(
                        "e.g. 0.5: never refresh earlier than half-way through the token's life"
                            .into(),
                    ),
                );
                0.5
            }
            Some(f) => f.value,
            None => 0.5,
        };
        let rotation = match (&raw.refresh, p.rotation.as_ref()) {
            (Some(_), Some(r)) if r.value == RawRotation::Rotates => Rotation::Rotates,
            (Some(_), Some(_)) => Rotation::Reusable,
            (Some(_), None) => {
                self.error(at, "the spec has a refresh endpoint but the policy does not say whether refresh tokens rotate", Some("add `rotation: rotates` (each refresh issues a new refresh token) or `rotation: reusable`".into()));
                Rotation::Reusable
            }
            (None, Some(r)) => {
                self.error(
                    r.referenced,
                    "`rotation` is declared but the spec has no refresh endpoint",
                    Some("remove `rotation`, or add a `refresh` endpoint".into()),
                );
                Rotation::Reusable
            }
            (None, None) => Rotation::Reusable,
        };
        let session_over_status = self.statuses(
            &p.session_over_status,
            &[400, 401, 403],
            "`session_over_status`",
        );
        let credentials_rejected_status = self.statuses(
            &p.credentials_rejected_status,
            &[400, 401, 403],
            "`credentials_rejected_status`",
        );
        let retry = {
            let r = p.retry.as_ref();
            let max_attempts = match r.and_then(|r| r.max_attempts.as_ref()) {
                Some(n) if n.value == 0 || n.value > 10 => {
                    self.error(
                        n.referenced,
                        format!("`max_attempts` is {}; it must be between 1 and 10", n.value),
                        Some("attempts include the first one; 3 is typical".into()),
                    );
                    3
                }
                Some(n) => n.value,
                None => 3,
            };
            let initial_backoff = r
                .and_then(|r| r.initial_backoff.as_ref())
                .and_then(|d| self.duration(d))
                .unwrap_or(Duration::from_millis(200));
            let max_backoff = r
                .and_then(|r| r.max_backoff.as_ref())
                .and_then(|d| self.duration(d))
                .unwrap_or(Duration::from_secs(10));
            if let Some(d) = r
                .and_then(|r| r.max_backoff.as_ref())
                .filter(|_| max_backoff < initial_backoff)
            {
                self.error(
                    d.referenced,
                    "`max_backoff` is shorter than `initial_backoff`",
                    Some("the backoff doubles from `initial_backoff` up to `max_backoff`; make `max_backoff` the larger".into()),
                );
            }
            Retry {
                max_attempts,
                initial_backoff,
                max_backoff,
            }
        };
        let min_login_interval = p.min_login_interval.as_ref().and_then(|d| self.duration(d));
        let max_answer_bytes = match &p.max_answer_size {
            Some(size) => self.answer_size(size),
            None => Policy::DEFAULT_MAX_ANSWER_BYTES,
        };
        let login_limit = p.login_limit.as_ref().and_then(|l| self.login_limit(l));
        let server_time = p.server_time.as_ref().and_then(|t| self.server_time(t));
        let idle_timeout = p
            .idle_timeout
            .as_ref()
            .and_then(|d| self.nonzero_duration(d, "an idle timeout"));
        (self.diags.len() == before).then_some(Policy {
            refresh,
            margin,
            max_margin_fraction,
            rotation,
            session_over_status,
            credentials_rejected_status,
            retry,
            min_login_interval,
            max_answer_bytes,
            login_limit,
            server_time,
            idle_timeout,
        })
    }

    /// Checks that the refresh timing can learn what it needs: the expiry to refresh ahead of
    /// it, the expiry or an `expired` signal to refresh after it.
    pub(super) fn check_expiry_known(
        &mut self,
        raw: &RawSpec,
        policy: Option<&Policy>,
        login_response: Option<&TokenResponse>,
        usage: Option<&Usage>,
    ) {
        // A rejected expiry source was reported already; do not add a misleading "no expiry".
        if let (Some(policy), Some(login), false) = (policy, login_response, self.expiry_rejected) {
            let expiry_known = !login.access_token_expiry.is_empty();
            match policy.refresh {
                RefreshTiming::AfterExpiry
                    if !expiry_known && usage.as_ref().is_some_and(|u| u.expired.is_none()) =>
                {
                    self.error(
                        raw.policy.refresh.referenced,
                        "`after_expiry` needs a way to learn that the token expired, but the login response declares no `access_token_expiry` and `usage` no `expired` signal",
                        Some("add an expiry source (`jwt_exp`, `expires_in`, `lifetime`, ...) or `usage.expired: { status: [401] }`".into()),
                    );
                }
                RefreshTiming::AheadOfExpiry | RefreshTiming::BeforeExpiry if !expiry_known => {
                    self.error(
                        raw.policy.refresh.referenced,
                        "refreshing ahead of expiry needs to know the expiry, but the login response declares no `access_token_expiry`",
                        Some("add an expiry source, or use `refresh: after_expiry` with an `expired` signal".into()),
                    );
                }
                _ => {}
            }
            // A time in an unknown zone may turn out not to tell (see `Expiry::AtEarliest`).
            let unknown_zone = |e: &ExpirySource| matches!(e, ExpirySource::ExpiresAt { format: TimeFormat::Pattern { zone, .. }, .. } if zone.is_unknown());
            if expiry_known
                && login.access_token_expiry.iter().all(unknown_zone)
                && usage.as_ref().is_some_and(|u| u.expired.is_none())
            {
                self.error(
                    raw.policy.refresh.referenced,
                    "the only access-token expiry is a time in an unknown zone, which may not tell when the token ends, and `usage` declares no `expired` signal",
                    Some("add `usage.expired` (e.g. `{ status: [401] }`) or another expiry source".into()),
                );
            }
        }
    }

    /// The time format of an `expires_at` (or `server_time`): its `format`, `pattern` and
    /// `timezone`; `None` after an error.
    pub(super) fn time_format(&mut self, e: &RawExpiresAt) -> Option<TimeFormat> {
        let format = match (e.format, &e.pattern, &e.timezone) {
            (RawTimeFormat::Pattern, Some(pattern), zone) => {
                if jiff::fmt::strtime::format(
                    &pattern.value,
                    &jiff::Timestamp::UNIX_EPOCH.to_zoned(jiff::tz::TimeZone::UTC),
                )
                .is_err()
                {
                    self.error(
                        pattern.referenced,
                        format!("`{}` is not a valid strftime pattern", pattern.value),
                        Some("patterns use strftime directives, e.g. `%Y-%m-%d %H:%M:%S`".into()),
                    );
                    return None;
                }
                let zone = match zone {
                    Some(z) if z.value == Zone::UNKNOWN => Zone::unknown(),
                    Some(z) => match Zone::parse(&z.value) {
                        Ok(zone) => zone,
                        Err(message) => {
                            self.error(z.referenced, message, Some("abbreviations such as CEST are ambiguous; write `+02:00` or `Europe/Berlin`".into()));
                            return None;
                        }
                    },
                    // The text carries its own offset: no zone is needed.
                    None if pattern_has_offset(&pattern.value) => Zone::utc(),
                    None => {
                        self.error(
                            pattern.referenced,
                            format!("`{}` reads no offset, and no `timezone` says which zone the time is in", pattern.value),
                            Some("declare the zone the document gives (`timezone: UTC`, `+02:00`, `Europe/Warsaw`), or `timezone: unknown` when it does not say".into()),
                        );
                        return None;
                    }
                };
                TimeFormat::Pattern {
                    pattern: pattern.value.clone(),
                    zone,
                }
            }
            (RawTimeFormat::Pattern, None, _) => {
                self.error(
                    e.path.referenced,
                    "this `expires_at` has `format: pattern` but no `pattern`",
                    Some("e.g. `pattern: \"%Y-%m-%d %H:%M:%S\"`".into()),
                );
                return None;
            }
            (other, pattern, zone) => {
                if let Some(p) = pattern {
                    self.error(
                        p.referenced,
                        "`pattern` is only used with `format: pattern`",
                        Some("set `format: pattern`, or remove `pattern`".into()),
                    );
                }
                if let Some(z) = zone {
                    self.error(z.referenced, "`timezone` is only used with `format: pattern` (the other formats carry their own offset)", Some("remove `timezone`, or read the time with `format: pattern`".into()));
                }
                match other {
                    RawTimeFormat::EpochSeconds => TimeFormat::EpochSeconds,
                    RawTimeFormat::EpochMilliseconds => TimeFormat::EpochMilliseconds,
                    RawTimeFormat::Rfc3339 => TimeFormat::Rfc3339,
                    RawTimeFormat::HttpDate => TimeFormat::HttpDate,
                    RawTimeFormat::Pattern => return None,
                }
            }
        };
        Some(format)
    }

    /// `policy.server_time`: a source and a time format, read in the token answers' examples.
    fn server_time(&mut self, raw: &Spanned<RawExpiresAt>) -> Option<ServerTime> {
        let e = &raw.value;
        let source = self.source(&e.path)?;
        let format = self.time_format(e)?;
        let examples = self.response_examples.clone();
        let fmt = format.clone();
        let check = move |v: &Value| fmt.parse_value(v).map(|_| ()).map_err(|e| (e, None));
        let before = self.diags.len();
        self.check_in_examples(
            e.path.referenced,
            &part_locations(&e.path),
            &source,
            &examples,
            "server_time",
            false,
            &check,
        );
        (self.diags.len() == before).then_some(ServerTime { source, format })
    }

    /// `max_answer_size`: a size between the bounds of [`Policy`].
    fn answer_size(&mut self, size: &SpannedString) -> u64 {
        let hint = "e.g. `1MiB` (the default) or `64KiB`; bytes without a unit are allowed";
        match crate::size::parse_size(&size.value) {
            Ok(bytes)
                if (Policy::MIN_MAX_ANSWER_BYTES..=Policy::MAX_MAX_ANSWER_BYTES)
                    .contains(&bytes) =>
            {
                bytes
            }
            Ok(bytes) => {
                self.error(
                    size.referenced,
                    format!(
                        "`max_answer_size` is {bytes} bytes; it must be between 1 KiB and 64 MiB"
                    ),
                    Some(hint.into()),
                );
                Policy::DEFAULT_MAX_ANSWER_BYTES
            }
            Err(message) => {
                self.error(
                    size.referenced,
                    format!("`max_answer_size`: {message}"),
                    Some(hint.into()),
                );
                Policy::DEFAULT_MAX_ANSWER_BYTES
            }
        }
    }
}
