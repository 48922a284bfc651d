//! Issuing tokens and named values in the answer shape the spec reads.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_spec::model::{ExpirySource, TokenResponse, Unit, ValueSource};
use auth_spec::template::Reference;
use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use serde_json::Value;

use crate::answer::{
    epoch_secs, insert_header, json_response, jwt, jwt_with, remove_path, set_path,
};
use crate::state::{AccessState, Inner, RefreshState, State};

impl State {
    /// A new refresh token of `session`: a JWT whose `exp` is the session's end where `mapping`
    /// reads the refresh token's `jwt_exp`, else an opaque string.
    pub(crate) fn new_refresh_token(
        &self,
        inner: &mut Inner,
        session: u64,
        mapping: &TokenResponse,
    ) -> String {
        inner.serial += 1;
        let token = if mapping.refresh_token_expiry.contains(&ExpirySource::JwtExp) {
            jwt(epoch_secs(self.session_end(inner, session)), inner.serial)
        } else {
            format!("mock-refresh-{}-{:016x}", inner.serial, fastrand::u64(..))
        };
        inner.refresh.insert(
            token.clone(),
            RefreshState {
                session,
                spent: false,
            },
        );
        token
    }

    /// Answers with new tokens for `session`, shaped as `mapping` says.
    pub(crate) fn issue(
        &self,
        inner: &mut Inner,
        session: u64,
        mapping: &TokenResponse,
        refresh: Option<String>,
        requested: Option<Duration>,
    ) -> Response<Full<Bytes>> {
        let now = SystemTime::now();
        // A lifetime the client chose in its request is granted; else the simulated one.
        let ttl = requested.unwrap_or(self.options.access_ttl);
        let jwt_exp = mapping.access_token_expiry.contains(&ExpirySource::JwtExp);
        // A JWT says its expiry in whole seconds: the simulator holds itself to what it said.
        let expires = if jwt_exp {
            UNIX_EPOCH + Duration::from_secs(epoch_secs(now + ttl))
        } else {
            now + ttl
        };
        inner.serial += 1;
        let claims = self.named_claims(None);
        let access = if jwt_exp || !claims.is_empty() {
            jwt_with(epoch_secs(expires), inner.serial, claims)
        } else {
            format!("mock-access-{}-{:016x}", inner.serial, fastrand::u64(..))
        };
        let mut body = mapping
            .examples
            .iter()
            .find(|e| (200..300).contains(&e.status))
            .map(|e| e.body.clone())
            .unwrap_or(Value::Object(serde_json::Map::new()));
        let mut headers = Vec::new();
        let mut text_body = None;
        let offset = self.clock_offset.load(std::sync::atomic::Ordering::Relaxed);
        let vendor_time = |t: SystemTime| {
            let by = Duration::from_secs(offset.unsigned_abs());
            let moved = if offset >= 0 {
                t.checked_add(by)
            } else {
                t.checked_sub(by)
            };
            moved.unwrap_or(t)
        };
        // Alternatives (two revisions of the vendor's answer): each answer takes the next one in
        // turn and leaves out the ones before it, so the first that resolves is that one.
        let revision = usize::try_from(inner.serial).unwrap_or_default();
        let mut put = |source: &ValueSource, value: Value, body: &mut Value| {
            let alternatives = source.alternatives();
            let chosen = revision % alternatives.len().max(1);
            for earlier in &alternatives[..chosen] {
                if let ValueSource::Body(path) = earlier {
                    remove_path(body, path);
                }
            }
            match &alternatives[chosen] {
                ValueSource::Body(path) => set_path(body, path, value),
                ValueSource::Header(name) => {
                    let text = match value {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    headers.push((name.clone(), text));
                }
                ValueSource::WholeBody => text_body = value.as_str().map(str::to_owned),
                // Never nested.
                ValueSource::FirstOf(_) => {}
            }
        };
        put(
            &mapping.access_token,
            Value::from(access.clone()),
            &mut body,
        );
        if let (Some(source), Some(token)) = (&mapping.refresh_token, &refresh) {
            put(source, Value::from(token.clone()), &mut body);
        }
        // Values the answer does not declare (a refresh's) carry over from the session.
        let mut values: HashMap<String, String> = inner
            .sessions
            .get(&session)
            .and_then(|s| inner.access.get(&s.access))
            .map(|a| a.values.clone())
            .unwrap_or_default();
        for (name, source) in &mapping.values {
            inner.serial += 1;
            let value = self.new_value(name, inner.serial, epoch_secs(expires));
            put(source, Value::from(value.clone()), &mut body);
            values.insert(name.clone(), value);
        }
        for source in &mapping.access_token_expiry {
            match source {
                ExpirySource::ExpiresIn { source, unit, .. } => {
                    let value = match unit {
                        Unit::Seconds => Value::from(ttl.as_secs()),
                        Unit::Milliseconds => {
                            Value::from(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX))
                        }
                    };
                    put(source, value, &mut body);
                }
                ExpirySource::ExpiresAt { source, format } => {
                    put(source, format.render(vendor_time(expires)), &mut body)
                }
                _ => {}
            }
        }
        // Every refresh expiry the answer states is the simulated one, so no date of the example
        // (long past) survives into an answer.
        let end = self.session_end(inner, session);
        for source in &mapping.refresh_token_expiry {
            match source {
                // An open-ended session where the vendor can say "none declared".
                ExpirySource::ExpiresIn {
                    source,
                    zero_means_none: true,
                    ..
                } if self.options.session_ttl.is_none() => put(source, Value::from(0), &mut body),
                ExpirySource::ExpiresIn { source, unit, .. } => {
                    let left = end.duration_since(now).unwrap_or_default();
                    let value = match unit {
                        Unit::Seconds => Value::from(left.as_secs()),
                        Unit::Milliseconds => {
                            Value::from(u64::try_from(left.as_millis()).unwrap_or(u64::MAX))
                        }
                    };
                    put(source, value, &mut body);
                }
                ExpirySource::ExpiresAt { source, format } => {
                    put(source, format.render(vendor_time(end)), &mut body)
                }
                _ => {}
            }
        }
        if let Some(server_time) = &self.spec.policy.server_time {
            let value = server_time.format.render(vendor_time(now));
            put(&server_time.source, value, &mut body);
        }
        for name in &mapping.kept_headers {
            if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                headers.push((name.clone(), format!("mock-{name}-{}", inner.serial)));
            }
        }
        inner.access.insert(
            access.clone(),
            AccessState {
                expires,
                revoked: false,
                answer: body.clone(),
                values,
                headers: headers
                    .iter()
                    .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
                    .collect(),
                renewed: false,
                renew_now: false,
                last_call: now,
            },
        );
        if let Some(s) = inner.sessions.get_mut(&session) {
            s.access = access;
        }
        let mut response = match text_body {
            Some(text) => {
                let mut r = Response::new(Full::new(Bytes::from(text)));
                r.headers_mut().insert(
                    hyper::header::CONTENT_TYPE,
                    hyper::header::HeaderValue::from_static("text/plain"),
                );
                r
            }
            None => json_response(200, &body),
        };
        for (name, value) in headers {
            insert_header(&mut response, &name, &value);
        }
        response
    }

    /// The claims some template names of the access token (`of` = `None`) or of a named value,
    /// with the values of the first example answer (login or refresh) that carries them (a
    /// tenant id the API calls must repeat).
    pub(crate) fn named_claims(&self, of: Option<&str>) -> serde_json::Map<String, Value> {
        let spec = &self.spec;
        let mut templates = spec.login.request.templates();
        templates.extend(spec.refresh.iter().flat_map(|r| r.request.templates()));
        templates.extend(spec.logout.iter().flat_map(|l| l.templates()));
        templates.extend(spec.usage.headers.iter().map(|(_, t)| t));
        templates.extend(spec.usage.query.iter().map(|(_, t)| t));
        let mappings =
            std::iter::once(&spec.login.response).chain(spec.refresh.as_ref().map(|r| &r.response));
        let samples: Vec<String> = mappings
            .flat_map(|m| {
                m.examples.iter().filter_map(move |e| {
                    let answer = auth_spec::extract::Answer::from_example(e);
                    let extracted = m.extract(&answer).ok()?;
                    let secret = match of {
                        None => extracted.access_token,
                        Some(name) => extracted.values.get(name)?.clone(),
                    };
                    Some(secrecy::ExposeSecret::expose_secret(&secret).to_owned())
                })
            })
            .collect();
        let mut out = serde_json::Map::new();
        for reference in templates.iter().flat_map(|t| t.references()) {
            let claim = match (reference, of) {
                (Reference::AccessTokenClaim(claim), None) => claim,
                (Reference::ValueClaim { value, claim }, Some(name)) if value == name => claim,
                _ => continue,
            };
            if let Some(value) = samples.iter().find_map(|t| auth_spec::jwt::claim(t, claim)) {
                out.insert(claim.clone(), value);
            }
        }
        out
    }

    /// A new value for `name`: a JWT when a template names its claims, else an opaque string.
    pub(crate) fn new_value(&self, name: &str, serial: u64, exp: u64) -> String {
        let claims = self.named_claims(Some(name));
        if claims.is_empty() {
            format!("mock-{name}-{serial}-{:08x}", fastrand::u32(..))
        } else {
            jwt_with(exp, serial, claims)
        }
    }
}
