//! The refresh endpoint (timing and rotation rules) and values renewed by API answers.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_spec::judge::FailureMeaning;
use auth_spec::model::{ExpirySource, RefreshTiming, Rotation, SessionSlot};
use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;

use crate::answer::{epoch_secs, error, jwt_with};
use crate::judged::failure_answer;
use crate::seen::Seen;
use crate::state::{AccessState, Inner, State};
use crate::{CLOCK_SLACK, requested};

impl State {
    /// "Session over", as the spec's refresh `failures` say it, else as a status.
    pub(crate) fn session_over(&self, status: u16, message: &str) -> Response<Full<Bytes>> {
        self.spec
            .refresh
            .as_ref()
            .and_then(|r| failure_answer(&r.request, FailureMeaning::SessionOver))
            .unwrap_or_else(|| error(status, message))
    }

    pub(crate) fn refresh(&self, seen: &Seen, presented: Option<String>) -> Response<Full<Bytes>> {
        let spec = &self.spec;
        let Some(refresh) = &spec.refresh else {
            return error(404, "no refresh endpoint");
        };
        let over = spec
            .policy
            .session_over_status
            .first()
            .copied()
            .unwrap_or(400);
        let mut inner = self.lock();
        let Some(token) = presented else {
            inner.stats.session_over += 1;
            return self.session_over(over, "unknown refresh token");
        };
        if !self.encoding_ok(&refresh.request, seen) {
            return error(415, "wrong content type for the refresh request");
        }
        if !self.body_ok(&refresh.request, seen) {
            return error(400, "the refresh body is not JSON");
        }
        let Some(state) = inner.refresh.get(&token) else {
            inner.stats.session_over += 1;
            return self.session_over(over, "unknown refresh token");
        };
        let session_id = state.session;
        if state.spent {
            inner.stats.reused_refresh_tokens += 1;
            return self.session_over(over, "refresh token already used");
        }
        let now = SystemTime::now();
        let Some(session) = inner.sessions.get(&session_id) else {
            inner.stats.session_over += 1;
            return self.session_over(over, "unknown session");
        };
        let ended = session.ended
            || self
                .options
                .session_ttl
                .is_some_and(|ttl| now >= session.login_at + ttl);
        if ended {
            inner.stats.session_over += 1;
            return self.session_over(over, "session expired: log in again");
        }
        // 100 ms of slack: the client counts a relative lifetime from when it sent its request,
        // a little before this simulator started counting.
        let access_expired = inner
            .access
            .get(&session.access)
            .is_none_or(|a| a.revoked || now + CLOCK_SLACK >= a.expires);
        match spec.policy.refresh {
            RefreshTiming::AfterExpiry if !access_expired => {
                inner.stats.premature_refreshes += 1;
                return error(400, "the access token has not expired yet");
            }
            RefreshTiming::BeforeExpiry if access_expired => {
                inner.stats.session_over += 1;
                return self.session_over(over, "the access token expired: log in again");
            }
            _ => {}
        }
        let next = match spec.policy.rotation {
            Rotation::Rotates => {
                if let Some(state) = inner.refresh.get_mut(&token) {
                    state.spent = true;
                }
                Some(self.new_refresh_token(&mut inner, session_id, &refresh.response))
            }
            Rotation::Reusable => Some(token),
        };
        inner.stats.refreshes += 1;
        let next = refresh.response.refresh_token.as_ref().and(next);
        let requested = requested::requested_lifetime(&refresh.request, seen);
        self.issue(&mut inner, session_id, &refresh.response, next, requested)
    }

    /// The renewed values an API answer for `token` carries (`usage.renewed_by_answers`): once
    /// per token, in the second half of its life or after [`MockServer::roll_values`].
    pub(crate) fn renew_by_answer(&self, inner: &mut Inner, token: &str) -> Vec<(String, String)> {
        let renewals = &self.spec.usage.renewed_by_answers;
        let ttl = self.options.access_ttl;
        let now = SystemTime::now();
        let Some(state) = inner.access.get(token) else {
            return Vec::new();
        };
        let late = state.expires.duration_since(now).unwrap_or_default() < ttl / 2;
        if renewals.is_empty() || state.renewed || !(late || state.renew_now) {
            return Vec::new();
        }
        let mut values = state.values.clone();
        let (answer, headers) = (state.answer.clone(), state.headers.clone());
        let mut out = Vec::new();
        let mut new_access = None;
        for renewal in renewals {
            inner.serial += 1;
            let serial = inner.serial;
            let text = match &renewal.value {
                SessionSlot::AccessToken => {
                    let jwt_exp = self
                        .spec
                        .login
                        .response
                        .access_token_expiry
                        .contains(&ExpirySource::JwtExp);
                    let expires = if jwt_exp {
                        UNIX_EPOCH + Duration::from_secs(epoch_secs(now + ttl))
                    } else {
                        now + ttl
                    };
                    let claims = self.named_claims(None);
                    let access = if jwt_exp || !claims.is_empty() {
                        jwt_with(epoch_secs(expires), serial, claims)
                    } else {
                        format!("mock-access-{serial}-{:016x}", fastrand::u64(..))
                    };
                    new_access = Some((access.clone(), expires));
                    access
                }
                SessionSlot::Value(name) => {
                    let value = self.new_value(name, serial, epoch_secs(now + ttl));
                    values.insert(name.clone(), value.clone());
                    value
                }
            };
            out.push((renewal.header.clone(), text));
        }
        if let Some(state) = inner.access.get_mut(token) {
            state.renewed = true;
            state.renew_now = false;
            // A renewed value replaces the old one; a renewed token gets the new values, and
            // the old token keeps working with its own until it expires.
            if new_access.is_none() {
                state.values.clone_from(&values);
            }
        }
        if let Some((access, expires)) = new_access {
            for session in inner.sessions.values_mut().filter(|s| s.access == token) {
                session.access.clone_from(&access);
            }
            inner.access.insert(
                access,
                AccessState {
                    expires,
                    revoked: false,
                    answer,
                    values,
                    headers,
                    renewed: false,
                    renew_now: false,
                    last_call: SystemTime::now(),
                },
            );
        }
        inner.stats.renewals_sent += 1;
        out
    }
}
