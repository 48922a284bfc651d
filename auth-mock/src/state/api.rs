//! The simulated API (`/__protected`): the token as `usage` sends it, expired and idle sessions.

use std::time::SystemTime;

use auth_spec::judge::FailureMeaning;
use auth_spec::template::Reference;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use serde_json::Value;

use crate::answer::{error, insert_header, json_response};
use crate::judged::satisfying;
use crate::seen::Seen;
use crate::state::{Inner, State};

impl State {
    pub(crate) fn api(&self, seen: &Seen) -> Response<Full<Bytes>> {
        let usage = &self.spec.usage;
        let mut inner = self.lock();
        inner.stats.api_calls += 1;
        // The token must arrive exactly as `usage` sends it.
        let presented = inner.access.iter().find_map(|(token, state)| {
            let lookup = |r: &Reference| match r {
                Reference::AccessToken => Some(Value::from(token.clone())),
                Reference::Response(path) => path.resolve(&state.answer).cloned(),
                Reference::Credential(name) => self
                    .credentials
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| Value::from(v.clone())),
                Reference::RefreshToken => None,
                Reference::AccessTokenClaim(name) => auth_spec::jwt::claim(token, name),
                Reference::SessionValue(name) => state.values.get(name).cloned().map(Value::from),
                Reference::ValueClaim { value, claim } => {
                    auth_spec::jwt::claim(state.values.get(value)?, claim)
                }
                Reference::ResponseHeader(name) => state
                    .headers
                    .get(&name.to_ascii_lowercase())
                    .cloned()
                    .map(Value::from),
                Reference::Now(form) => Some(form.value(SystemTime::now())),
                Reference::Lifetime(lifetime) => Some(Value::from(lifetime.value())),
            };
            let headers_ok = usage.headers.iter().all(|(name, template)| {
                let Ok(expected) = template.render(lookup) else {
                    return false;
                };
                seen.headers
                    .iter()
                    .any(|(n, v)| n.eq_ignore_ascii_case(name) && v == &expected)
            });
            let query_ok = usage.query.iter().all(|(name, template)| {
                let Ok(expected) = template.render(lookup) else {
                    return false;
                };
                seen.query.iter().any(|(n, v)| n == name && v == &expected)
            });
            if usage.unknown {
                // The document does not say how: the token must arrive in some header or query
                // value, alone or after a scheme (`Bearer <token>`).
                let carries = |v: &String| v.split_whitespace().last() == Some(token.as_str());
                let anywhere = seen.headers.iter().any(|(_, v)| carries(v))
                    || seen.query.iter().any(|(_, v)| carries(v));
                return anywhere.then(|| token.clone());
            }
            (headers_ok && query_ok).then(|| token.clone())
        });
        let Some(token) = presented else {
            return error(401, "missing or unknown token");
        };
        let now = SystemTime::now();
        self.idle_check(&mut inner, &token, now);
        // A vendor that says "session over" in an API answer (`usage.failures`), once the
        // session of this token has ended.
        if let Some(rule) = self
            .spec
            .usage
            .failures
            .iter()
            .find(|r| r.means == FailureMeaning::SessionOver)
            && inner
                .sessions
                .values()
                .any(|s| s.ended && s.access == token)
        {
            inner.stats.session_over += 1;
            return satisfying(&rule.when, rule.message.as_ref());
        }
        let expired = inner
            .access
            .get(&token)
            .is_none_or(|a| a.revoked || now >= a.expires);
        if !expired {
            let mut response = json_response(
                200,
                &serde_json::json!({ "ok": true, "provider": self.spec.name }),
            );
            for (name, value) in self.renew_by_answer(&mut inner, &token) {
                insert_header(&mut response, &name, &value);
            }
            return response;
        }
        inner.stats.expired_answers += 1;
        let Some(signal) = &usage.expired else {
            return error(401, "token expired");
        };
        // A vendor that says "expired" in an envelope: the first body condition, with a listed
        // status it allows.
        if let Some(condition) = signal.body.first() {
            let mut condition = condition.clone();
            if condition.status.is_empty() {
                condition.status = signal.status.clone();
            }
            return satisfying(&condition, None);
        }
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() =
            StatusCode::from_u16(signal.status.first().copied().unwrap_or(401))
                .unwrap_or(StatusCode::UNAUTHORIZED);
        for (name, value) in &signal.headers {
            insert_header(&mut response, name, value);
        }
        if let Some(error) = &signal.www_authenticate_error {
            let challenge =
                format!("Bearer error=\"{error}\", error_description=\"The token is expired\"");
            insert_header(&mut response, "www-authenticate", &challenge);
        }
        response
    }
    /// An idle session ends `idle_timeout` after its last call; a call within it restarts it.
    pub(crate) fn idle_check(&self, inner: &mut Inner, token: &str, now: SystemTime) {
        let Some(timeout) = self.spec.policy.idle_timeout else {
            return;
        };
        let Some(access) = inner.access.get_mut(token) else {
            return;
        };
        if access.revoked {
            return;
        }
        if now.duration_since(access.last_call).unwrap_or_default() > timeout {
            access.revoked = true;
            inner.stats.idle_ended += 1;
        } else {
            access.last_call = now;
        }
    }
}
