//! Login budgets (`login_limit`) and spacing (`min_login_interval`): whether a login may be sent
//! now, and how many requests it may make.
//!
//! The record is the list of times login requests were sent, kept in the store's entry for the
//! session key, so that every process sharing the store shares the budget. Times are recorded
//! under the store's lock before the login is sent (one per attempt it may make, corrected to
//! the attempts it made once it is over): a process that dies mid-login has used its requests.

use std::time::{Duration, SystemTime};

use auth_spec::model::Policy;

/// Whether a login may be sent now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allowance {
    /// It may, with at most this many requests (attempts, retries included).
    Now {
        /// At least 1.
        attempts: u32,
    },
    /// Not before `at`.
    NotBefore {
        /// When the next login is allowed.
        at: SystemTime,
        /// The rule that says so.
        rule: Rule,
    },
}

/// The rule that holds a login back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// `min_login_interval`: a caller may wait for it (briefly).
    Spacing(Duration),
    /// `login_limit`: when it is spent, a login fails at once.
    Budget(auth_spec::model::LoginLimit),
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rule::Spacing(interval) => write!(
                f,
                "the vendor allows a login every {} (policy.min_login_interval)",
                humantime::format_duration(*interval)
            ),
            Rule::Budget(limit) => write!(
                f,
                "the vendor allows {} logins per {} (policy.login_limit)",
                limit.requests,
                humantime::format_duration(limit.per)
            ),
        }
    }
}

/// Decides whether a login may be sent at `now`, given the recorded login request times (any
/// order; times ahead of `now`, from a clock that went back, count as just sent), the last
/// login known otherwise (this process's, or the stored session's: for spacing only) and the
/// retry policy's `max_attempts`.
pub fn allowance(
    policy: &Policy,
    now: SystemTime,
    recorded: &[SystemTime],
    last_login: Option<SystemTime>,
    max_attempts: u32,
) -> Allowance {
    if let Some(interval) = policy.min_login_interval
        && let Some(last) = recorded.iter().copied().chain(last_login).max()
    {
        let since = now.duration_since(last).unwrap_or_default();
        if since < interval {
            return Allowance::NotBefore {
                at: now + (interval - since),
                rule: Rule::Spacing(interval),
            };
        }
    }
    let mut attempts = max_attempts.max(1);
    if let Some(limit) = policy.login_limit {
        let mut in_window: Vec<SystemTime> = recorded
            .iter()
            .copied()
            .filter(|t| now.duration_since(*t).unwrap_or_default() < limit.per)
            .collect();
        let used = u32::try_from(in_window.len()).unwrap_or(u32::MAX);
        if used >= limit.requests {
            in_window.sort();
            // The window gains a free slot when the oldest request that keeps it full leaves.
            let index = in_window.len() - limit.requests as usize;
            let leaves = in_window[index].min(now);
            return Allowance::NotBefore {
                at: leaves + limit.per,
                rule: Rule::Budget(limit),
            };
        }
        attempts = attempts.min(limit.requests - used);
    }
    Allowance::Now { attempts }
}

/// How long login request times are kept: the longest window a rule looks back.
pub fn kept_for(policy: &Policy) -> Option<Duration> {
    let budget = policy.login_limit.map(|l| l.per);
    let spacing = policy.min_login_interval;
    budget.into_iter().chain(spacing).max()
}

/// Drops the times no rule looks at any more (all of them when no rule is declared).
pub fn prune(policy: &Policy, now: SystemTime, recorded: &mut Vec<SystemTime>) {
    match kept_for(policy) {
        Some(keep) => recorded.retain(|t| now.duration_since(*t).unwrap_or_default() < keep),
        None => recorded.clear(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_spec::model::LoginLimit;

    fn policy(limit: Option<(u32, u64)>, interval: Option<u64>) -> Policy {
        Policy {
            refresh: auth_spec::model::RefreshTiming::AfterExpiry,
            margin: Duration::ZERO,
            max_margin_fraction: 0.5,
            rotation: auth_spec::model::Rotation::Reusable,
            session_over_status: vec![401],
            credentials_rejected_status: vec![401],
            retry: auth_spec::model::Retry {
                max_attempts: 3,
                initial_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(10),
            },
            min_login_interval: interval.map(Duration::from_secs),
            max_answer_bytes: Policy::DEFAULT_MAX_ANSWER_BYTES,
            login_limit: limit.map(|(requests, per)| LoginLimit {
                requests,
                per: Duration::from_secs(per),
            }),
            server_time: None,
            idle_timeout: None,
        }
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + secs)
    }

    #[test]
    fn no_rule_allows_every_attempt() {
        assert_eq!(
            allowance(&policy(None, None), at(0), &[at(0), at(0)], None, 3),
            Allowance::Now { attempts: 3 }
        );
    }

    #[test]
    fn a_budget_caps_the_attempts_and_says_when_a_slot_frees() {
        let p = policy(Some((3, 3600)), None);
        assert_eq!(
            allowance(&p, at(10), &[], None, 3),
            Allowance::Now { attempts: 3 }
        );
        assert_eq!(
            allowance(&p, at(10), &[at(0)], None, 3),
            Allowance::Now { attempts: 2 }
        );
        let spent = allowance(&p, at(700), &[at(600), at(0), at(300)], None, 3);
        match spent {
            Allowance::NotBefore { at: when, rule } => {
                assert_eq!(when, at(3600));
                assert!(rule.to_string().contains("3 logins per 1h"), "{rule}");
            }
            other => panic!("{other:?}"),
        }
        // At the window's end the oldest leaves.
        assert_eq!(
            allowance(&p, at(3600), &[at(600), at(0), at(300)], None, 3),
            Allowance::Now { attempts: 1 }
        );
    }

    #[test]
    fn times_from_a_clock_that_went_back_count_as_just_sent() {
        let p = policy(Some((1, 60)), None);
        match allowance(&p, at(0), &[at(500)], None, 3) {
            Allowance::NotBefore { at: when, .. } => assert_eq!(when, at(60)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn spacing_counts_from_the_last_request() {
        let p = policy(None, Some(120));
        match allowance(&p, at(100), &[at(0), at(50)], None, 3) {
            Allowance::NotBefore { at: when, rule } => {
                assert_eq!(when, at(170));
                assert!(rule.to_string().contains("a login every 2m"), "{rule}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            allowance(&p, at(170), &[at(0), at(50)], None, 3),
            Allowance::Now { attempts: 3 }
        );
    }

    #[test]
    fn pruning_keeps_the_longest_window() {
        let p = policy(Some((5, 3600)), Some(60));
        let mut times = vec![at(0), at(3000), at(3700)];
        prune(&p, at(3700), &mut times);
        assert_eq!(times, vec![at(3000), at(3700)]);
        let mut times = vec![at(0)];
        prune(&policy(None, None), at(1), &mut times);
        assert!(times.is_empty());
    }
}
