//! The login endpoint: credentials, `login_limit` and `min_login_interval`, session ends.

use std::time::{Duration, SystemTime};

use auth_spec::judge::FailureMeaning;
use auth_spec::template::Reference;
use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;

use crate::answer::{error, insert_header};
use crate::judged::failure_answer;
use crate::seen::Seen;
use crate::state::{Inner, SessionState, State};
use crate::{OPEN_SESSION, requested, signed};

impl State {
    pub(crate) fn login(&self, seen: &Seen) -> Response<Full<Bytes>> {
        let spec = &self.spec;
        if let Some(wait) = self.over_login_limit() {
            let mut response = error(429, "too many login requests");
            insert_header(
                &mut response,
                "retry-after",
                &wait.as_secs().max(1).to_string(),
            );
            return response;
        }
        let rejected = spec
            .policy
            .credentials_rejected_status
            .first()
            .copied()
            .unwrap_or(401);
        let login_templates = spec.login.request.templates();
        let names = |name: &str| {
            login_templates.iter().any(|t| {
                t.references()
                    .any(|r| matches!(r, Reference::Credential(n) if n == name))
            })
        };
        // A signing key never travels: the signed credential made with it does.
        let is_key_only =
            |name: &str| !names(name) && spec.computed.iter().any(|c| c.signed_jwt.key == name);
        let sent = |name: &str| {
            self.credentials
                .iter()
                .find(|(n, _)| n == name)
                .is_some_and(|(_, value)| seen.haystack.contains(value.as_str()))
        };
        // Every required credential, and of the credential sets any complete one.
        let all_sent = self
            .credentials
            .iter()
            .filter(|(name, _)| !is_key_only(name) && !spec.is_optional(name))
            .all(|(name, _)| sent(name))
            && (spec.credential_sets.is_empty()
                || spec
                    .credential_sets
                    .iter()
                    .any(|set| set.iter().all(|name| sent(name))));
        let credential = |name: &str| {
            self.credentials
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        let now = SystemTime::now();
        let signed_ok = spec
            .computed
            .iter()
            .filter(|c| names(&c.name))
            .all(|c| signed::carried(c, &seen.haystack, &credential, now));
        if !all_sent
            || !signed_ok
            || !self.encoding_ok(&spec.login.request, seen)
            || !self.body_ok(&spec.login.request, seen)
        {
            self.lock().stats.rejected_credentials += 1;
            return failure_answer(&spec.login.request, FailureMeaning::CredentialsRejected)
                .unwrap_or_else(|| error(rejected, "invalid credentials"));
        }
        let carries_session = spec
            .login
            .request
            .templates()
            .iter()
            .any(|t| t.references().any(|r| *r == Reference::AccessToken));
        let replaced = carries_session
            .then(|| self.presented_access(seen))
            .flatten();
        let mut inner = self.lock();
        if let Some(token) = replaced {
            // The vendor ends the session the new login names.
            if let Some(access) = inner.access.get_mut(&token) {
                access.revoked = true;
            }
            let mut ended = false;
            for state in inner.sessions.values_mut().filter(|s| s.access == token) {
                state.ended = true;
                ended = true;
            }
            if ended {
                inner.stats.sessions_replaced += 1;
            }
        }
        inner.serial += 1;
        let session = inner.serial;
        let now = SystemTime::now();
        inner.sessions.insert(
            session,
            SessionState {
                login_at: now,
                ended: false,
                access: String::new(),
            },
        );
        inner.stats.logins += 1;
        inner.last_login_ok = Some(now);
        let refresh = spec
            .login
            .response
            .refresh_token
            .as_ref()
            .map(|_| self.new_refresh_token(&mut inner, session, &spec.login.response));
        let requested = requested::requested_lifetime(&spec.login.request, seen);
        self.issue(
            &mut inner,
            session,
            &spec.login.response,
            refresh,
            requested,
        )
    }

    /// Counts a login request; says how long to wait when it breaks the spec's budget or
    /// spacing (then it is refused, and still counted: vendors count what they receive).
    pub(crate) fn over_login_limit(&self) -> Option<Duration> {
        let policy = &self.spec.policy;
        if policy.login_limit.is_none() && policy.min_login_interval.is_none() {
            return None;
        }
        let now = SystemTime::now();
        let mut inner = self.lock();
        let ago = |t: &SystemTime| now.duration_since(*t).unwrap_or_default();
        let mut wait = None;
        if let Some(interval) = policy.min_login_interval
            && let Some(last) = inner.last_login_ok.as_ref().map(ago)
            && last < interval
        {
            wait = Some(interval - last);
        }
        if let Some(limit) = policy.login_limit {
            let mut in_window: Vec<Duration> = inner
                .login_requests
                .iter()
                .map(ago)
                .filter(|a| *a < limit.per)
                .collect();
            if in_window.len() >= limit.requests as usize {
                in_window.sort_unstable_by(|a, b| b.cmp(a));
                wait = Some(limit.per - in_window[0]);
            }
        }
        let keep = policy
            .login_limit
            .map(|l| l.per)
            .into_iter()
            .chain(policy.min_login_interval)
            .max()
            .unwrap_or_default();
        inner.login_requests.retain(|t| ago(t) < keep);
        inner.login_requests.push(now);
        if wait.is_some() {
            inner.stats.logins_over_limit += 1;
        }
        wait
    }

    /// When `session` ends as the answers state it: its login plus `session_ttl`, or a year.
    pub(crate) fn session_end(&self, inner: &Inner, session: u64) -> SystemTime {
        let login_at = inner
            .sessions
            .get(&session)
            .map_or_else(SystemTime::now, |s| s.login_at);
        login_at + self.options.session_ttl.unwrap_or(OPEN_SESSION)
    }
}
