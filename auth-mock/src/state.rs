//! The simulator's state (tokens, refresh tokens, sessions) and the request router.

mod api;
mod issue;
mod login;
mod matching;
mod refresh;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use auth_spec::ProviderSpec;
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Request, Response};
use serde_json::Value;

use crate::answer::{error, json_response};
use crate::seen::Seen;
use crate::{MockOptions, MockStats};

pub(crate) struct AccessState {
    pub(crate) expires: SystemTime,
    pub(crate) revoked: bool,
    pub(crate) answer: Value,
    /// The named values that go with this token.
    pub(crate) values: HashMap<String, String>,
    /// The headers of the answer that issued it, by lower-cased name.
    pub(crate) headers: HashMap<String, String>,
    /// Whether an API answer renewed its values already (`renewed_by_answers`, once per token).
    pub(crate) renewed: bool,
    /// Set by [`MockServer::roll_values`]: renew on the next API answer.
    pub(crate) renew_now: bool,
    /// The last call made with it (an idle session ends `idle_timeout` after it).
    pub(crate) last_call: SystemTime,
}

pub(crate) struct RefreshState {
    pub(crate) session: u64,
    pub(crate) spent: bool,
}

pub(crate) struct SessionState {
    pub(crate) login_at: SystemTime,
    pub(crate) ended: bool,
    pub(crate) access: String,
}

#[derive(Default)]
pub(crate) struct Inner {
    pub(crate) serial: u64,
    pub(crate) sessions: HashMap<u64, SessionState>,
    pub(crate) access: HashMap<String, AccessState>,
    pub(crate) refresh: HashMap<String, RefreshState>,
    pub(crate) stats: MockStats,
    /// When login requests arrived, for `login_limit`.
    pub(crate) login_requests: Vec<SystemTime>,
    /// When the last login was accepted, for `min_login_interval`.
    pub(crate) last_login_ok: Option<SystemTime>,
}

pub(crate) struct State {
    pub(crate) spec: Arc<ProviderSpec>,
    pub(crate) options: MockOptions,
    pub(crate) credentials: Vec<(String, String)>,
    pub(crate) inner: Mutex<Inner>,
    /// How far the simulated vendor's clock is ahead of the real one (negative: behind), in
    /// seconds: the times its answers write are by that clock.
    pub(crate) clock_offset: std::sync::atomic::AtomicI64,
}

impl State {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn expire_tokens(&self) {
        for access in self.lock().access.values_mut() {
            access.revoked = true;
        }
    }

    pub(crate) fn end_sessions(&self) {
        for session in self.lock().sessions.values_mut() {
            session.ended = true;
        }
    }

    pub(crate) async fn handle(
        self: Arc<Self>,
        request: Request<hyper::body::Incoming>,
    ) -> Response<Full<Bytes>> {
        let (parts, body) = request.into_parts();
        let body = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => return error(400, "unreadable body"),
        };
        let body = String::from_utf8_lossy(&body).into_owned();
        let headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let query: Vec<(String, String)> =
            url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
        let mut haystack = body.clone();
        let decoded_body: String = url::form_urlencoded::parse(body.as_bytes())
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect();
        haystack.push('\n');
        haystack.push_str(&decoded_body);
        for (name, value) in &headers {
            haystack.push('\n');
            haystack.push_str(value);
            if name.eq_ignore_ascii_case("authorization")
                && let Some(basic) = value.strip_prefix("Basic ")
                && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(basic.trim())
            {
                haystack.push('\n');
                haystack.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
        for (name, value) in &query {
            haystack.push_str(&format!("\n{name}={value}"));
        }
        // A credential may travel in the path (`/api/${credentials.tenant}/login`).
        haystack.push('\n');
        haystack.extend(
            percent_encoding::percent_decode_str(parts.uri.path())
                .decode_utf8_lossy()
                .chars(),
        );
        let content_type = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let seen = Seen {
            method: parts.method.as_str().to_owned(),
            path: parts.uri.path().to_owned(),
            content_type,
            haystack,
            headers,
            query,
            body,
        };
        self.route(&seen)
    }

    pub(crate) fn route(&self, seen: &Seen) -> Response<Full<Bytes>> {
        match (seen.method.as_str(), seen.path.as_str()) {
            ("GET", "/__stats") => {
                return json_response(
                    200,
                    &serde_json::to_value(&self.lock().stats).unwrap_or(Value::Null),
                );
            }
            ("POST", "/__expire") => {
                self.expire_tokens();
                return json_response(200, &serde_json::json!({ "expired": true }));
            }
            ("POST", "/__end_session") => {
                self.end_sessions();
                return json_response(200, &serde_json::json!({ "ended": true }));
            }
            (_, crate::PROTECTED_PATH) => return self.api(seen),
            _ => {}
        }
        let spec = &self.spec;
        let matches = |e: &auth_spec::model::Endpoint| {
            e.method.as_str() == seen.method && self.path_matches(&e.path, &seen.path)
        };
        let refresh_matches = spec.refresh.as_ref().is_some_and(|r| matches(&r.request));
        let presented_refresh = self.presented_refresh(seen);
        if refresh_matches && (presented_refresh.is_some() || !matches(&spec.login.request)) {
            return self.refresh(seen, presented_refresh);
        }
        if matches(&spec.login.request) {
            return self.login(seen);
        }
        if let Some(keep_alive) = &spec.keep_alive
            && matches(keep_alive)
        {
            let token = self.presented_access(seen).unwrap_or_default();
            let now = SystemTime::now();
            let mut inner = self.lock();
            self.idle_check(&mut inner, &token, now);
            let alive = inner
                .access
                .get(&token)
                .is_some_and(|a| !a.revoked && now < a.expires);
            if !alive {
                return error(401, "the session has ended");
            }
            inner.stats.keep_alives += 1;
            return json_response(200, &serde_json::json!({ "kept_alive": true }));
        }
        if let Some(logout) = &spec.logout
            && matches(logout)
        {
            let token = self.presented_access(seen);
            if let Some(token) = token
                && let Some(access) = self.lock().access.get_mut(&token)
            {
                access.revoked = true;
            }
            return json_response(200, &serde_json::json!({ "logged_out": true }));
        }
        error(404, "no such endpoint in the simulator")
    }
}
