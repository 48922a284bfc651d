//! A simulator of a vendor, built from its spec (feature `mock`): `auth-cli mock` serves it, and
//! Rust tests and `auth-cli demo` run the engine against it.
//!
//! It answers the spec's login and refresh calls with tokens in the spec's shape (a JWT with `exp`
//! where the spec reads `jwt_exp`, `expires_in` / `expires_at` where the answer carries them).
//! Every lifetime and time an answer states is computed from the simulated lifetimes
//! (`access_ttl`; `session_ttl`, or a year when the session is open-ended), never copied from
//! the spec's example. It enforces what the spec says the vendor enforces:
//! - the credentials must be sent (the test values it prints); an endpoint path with
//!   placeholders is served at the path the simulated credentials render (a session or answer
//!   value in it matches any segment text);
//! - a JSON-encoded login or refresh body must be JSON, whatever its shape (a bare JSON string
//!   such as `"<refresh token>"` is fine; the token sent as bare text is not);
//! - `after_expiry`: a refresh before the access token expired is rejected;
//! - `before_expiry`: a refresh after it expired is rejected;
//! - `rotates`: a refresh token works once; sending it again is rejected;
//! - sessions end after `session_ttl` (or on `POST /__end_session`): refreshes are rejected;
//! - a login that carries an earlier session's access token (the spec's login names
//!   `${session.access_token}`) ends that session, as single-session vendors do;
//! - `login_limit` and `min_login_interval`: a login request past the budget (every request
//!   counts, whatever its outcome, as vendors count them), or sooner than the interval after the
//!   last accepted login, is answered 429 with `Retry-After`;
//! - `encoding: unknown` bodies are taken as JSON or as a form; with `usage: unknown` the token
//!   may arrive in any header or query value (alone, or after a scheme);
//! - optional credentials need not be sent; with credential sets, a login must carry every value
//!   of some set (any set: the simulator knows all of them);
//! - a signed credential (`signed_jwt`) the login sends must verify with the simulated key
//!   (the public half for `RS256` / `ES256`), its `exp` must not have passed nor lie beyond the
//!   declared lifetime, and its claims and header fields must hold the spec's values;
//! - `usage.failures` with `means: session_over`: an API call with the token of an ended session
//!   is answered with that rule's body;
//! - `GET /__protected` (any method) needs the token as `usage` sends it, and answers an expired
//!   or revoked token with the spec's expired-token signal;
//! - every named value (`values:`) is answered where the spec reads it, new at each login and for
//!   the values a refresh declares (the others carry over); response headers that templates name
//!   (`${response.@header:NAME}`) are sent too. An API call must carry each value as `usage`
//!   sends it; a value or access token whose claims a template names is a JWT carrying them;
//! - `usage.renewed_by_answers`: in the second half of a token's life (or after
//!   [`MockServer::roll_values`]) an API answer carries a new value of each declared header once;
//!   a renewed value replaces the old one (which no longer works), a renewed access token is a
//!   new token with a full lifetime.
//!
//! `GET /__stats` counts logins, refreshes and rejections; `POST /__expire` makes every access
//! token expired (to see the expired-token signal and a replay); `POST /__end_session` ends every
//! session. It is a test double: state lives in memory and it listens on loopback only.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_spec::ProviderSpec;
use auth_spec::judge::FailureMeaning;

mod judged;
mod requested;
mod signed;
use auth_spec::model::{
    Encoding, ExpirySource, RefreshTiming, Rotation, SessionSlot, TokenResponse, Unit, ValueSource,
};
use auth_spec::path::{FieldPath, Segment};
use auth_spec::template::Reference;
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Request, Response, StatusCode};
use judged::{failure_answer, satisfying};
use serde::Serialize;
use serde_json::Value;

use crate::credentials::Credentials;

/// The published simulator key (`mock/keys/`) for a credential that signs an `RS256` or `ES256`
/// assertion: no example can hold a private key, and the simulator must verify what it signs.
fn simulator_key(spec: &ProviderSpec, credential: &str) -> Option<&'static str> {
    use auth_spec::model::JwtAlgorithm;
    let signed = spec
        .computed
        .iter()
        .find(|c| c.signed_jwt.key == credential)?;
    match signed.signed_jwt.algorithm {
        JwtAlgorithm::Rs256 => Some(include_str!("mock/keys/simulator-rsa-private.pem")),
        JwtAlgorithm::Es256 => Some(include_str!("mock/keys/simulator-p256-private.pem")),
        JwtAlgorithm::Hs256 => None,
    }
}

/// Where a simulated API call goes.
pub const PROTECTED_PATH: &str = "/__protected";

/// How early a refresh may come without counting as premature.
const CLOCK_SLACK: Duration = Duration::from_millis(100);

/// The refresh-token lifetime the simulator's answers state when no `session_ttl` is set (the
/// session lasts until `POST /__end_session`): far ahead, never the example's (past) date.
const OPEN_SESSION: Duration = Duration::from_secs(365 * 86_400);

/// How the simulator behaves.
#[derive(Debug, Clone)]
pub struct MockOptions {
    /// Port on 127.0.0.1 (0: any free port).
    pub port: u16,
    /// Lifetime of each access token.
    pub access_ttl: Duration,
    /// Lifetime of a session from its login (`None`: until `POST /__end_session`; answers then
    /// state a refresh-token lifetime of a year).
    pub session_ttl: Option<Duration>,
}

impl Default for MockOptions {
    fn default() -> Self {
        Self {
            port: 0,
            access_ttl: Duration::from_secs(60),
            session_ttl: None,
        }
    }
}

/// What the simulator has seen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MockStats {
    /// Successful logins.
    pub logins: u64,
    /// Successful refreshes.
    pub refreshes: u64,
    /// API calls to the protected endpoint (any outcome).
    pub api_calls: u64,
    /// Logins with wrong or missing credentials.
    pub rejected_credentials: u64,
    /// Refreshes refused because the access token had not expired (`after_expiry`).
    pub premature_refreshes: u64,
    /// Refreshes with a refresh token that had already been used (`rotates`).
    pub reused_refresh_tokens: u64,
    /// Refreshes refused because the session had ended (or the token was unknown).
    pub session_over: u64,
    /// API calls answered with the expired-token signal.
    pub expired_answers: u64,
    /// Sessions ended by a login that carried their access token (specs whose login names
    /// `${session.access_token}`).
    pub sessions_replaced: u64,
    /// Login requests refused with 429 because they broke the spec's `login_limit` or
    /// `min_login_interval`.
    pub logins_over_limit: u64,
    /// API answers that carried renewed values (`usage.renewed_by_answers`).
    pub renewals_sent: u64,
    /// Sessions ended by `idle_timeout` without a call (specs with idle sessions).
    pub idle_ended: u64,
    /// Accepted `keep_alive` calls.
    pub keep_alives: u64,
}

struct AccessState {
    expires: SystemTime,
    revoked: bool,
    answer: Value,
    /// The named values that go with this token.
    values: HashMap<String, String>,
    /// The headers of the answer that issued it, by lower-cased name.
    headers: HashMap<String, String>,
    /// Whether an API answer renewed its values already (`renewed_by_answers`, once per token).
    renewed: bool,
    /// Set by [`MockServer::roll_values`]: renew on the next API answer.
    renew_now: bool,
    /// The last call made with it (an idle session ends `idle_timeout` after it).
    last_call: SystemTime,
}

struct RefreshState {
    session: u64,
    spent: bool,
}

struct SessionState {
    login_at: SystemTime,
    ended: bool,
    access: String,
}

#[derive(Default)]
struct Inner {
    serial: u64,
    sessions: HashMap<u64, SessionState>,
    access: HashMap<String, AccessState>,
    refresh: HashMap<String, RefreshState>,
    stats: MockStats,
    /// When login requests arrived, for `login_limit`.
    login_requests: Vec<SystemTime>,
    /// When the last login was accepted, for `min_login_interval`.
    last_login_ok: Option<SystemTime>,
}

struct State {
    spec: Arc<ProviderSpec>,
    options: MockOptions,
    credentials: Vec<(String, String)>,
    inner: Mutex<Inner>,
    /// How far the simulated vendor's clock is ahead of the real one (negative: behind), in
    /// seconds: the times its answers write are by that clock.
    clock_offset: std::sync::atomic::AtomicI64,
}

/// A running simulator; stops when dropped.
pub struct MockServer {
    addr: SocketAddr,
    state: Arc<State>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("provider", &self.state.spec.name)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl MockServer {
    /// Starts a simulator of `spec` on 127.0.0.1. A credential that signs an `RS256` / `ES256`
    /// assertion gets the published simulator key (`mock/keys/`) as its test value.
    pub async fn start(spec: Arc<ProviderSpec>, options: MockOptions) -> std::io::Result<Self> {
        Self::start_with_credentials(spec, options, Vec::new()).await
    }

    /// Starts a simulator of `spec` that accepts these (name, value) credentials instead of the
    /// test values: e.g. your own PEM private key for a signed credential.
    pub async fn start_with_credentials(
        spec: Arc<ProviderSpec>,
        options: MockOptions,
        given: Vec<(String, String)>,
    ) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port)).await?;
        let addr = listener.local_addr()?;
        let credentials = spec
            .credentials
            .iter()
            .map(|c| {
                let value = given
                    .iter()
                    .find(|(name, _)| name == &c.name)
                    .map(|(_, v)| v.clone())
                    .or_else(|| simulator_key(&spec, &c.name).map(str::to_owned))
                    .or_else(|| c.example.clone())
                    .unwrap_or_else(|| format!("test-{}", c.name.replace('_', "-")));
                (c.name.clone(), value)
            })
            .collect();
        let state = Arc::new(State {
            spec,
            options,
            credentials,
            inner: Mutex::new(Inner::default()),
            clock_offset: std::sync::atomic::AtomicI64::new(0),
        });
        let (shutdown, mut stop) = tokio::sync::oneshot::channel();
        let serving = Arc::clone(&state);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = &mut stop => break,
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let state = Arc::clone(&serving);
                        tokio::spawn(async move {
                            let service = hyper::service::service_fn(move |request| {
                                let state = Arc::clone(&state);
                                async move { Ok::<_, Infallible>(state.handle(request).await) }
                            });
                            let io = hyper_util::rt::TokioIo::new(stream);
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(io, service)
                                .await;
                        });
                    }
                }
            }
        });
        Ok(Self {
            addr,
            state,
            shutdown: Some(shutdown),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The credentials the simulator accepts: each credential's `example` from the spec, or
    /// `test-<name>`.
    pub fn credentials(&self) -> Credentials {
        let mut out = Credentials::new();
        for (name, value) in &self.state.credentials {
            out.insert(name.clone(), value.clone());
        }
        out
    }

    /// The accepted credentials as (environment variable, value), to print or export.
    pub fn credential_env(&self) -> Vec<(String, String)> {
        self.state
            .spec
            .credentials
            .iter()
            .zip(&self.state.credentials)
            .map(|(c, (_, value))| (c.env.clone(), value.clone()))
            .collect()
    }

    /// What it has seen so far.
    pub fn stats(&self) -> MockStats {
        self.state.lock().stats.clone()
    }

    /// Makes every access token expired.
    pub fn expire_tokens(&self) {
        self.state.expire_tokens();
    }

    /// Ends every session: refreshes are refused from now on.
    pub fn end_sessions(&self) {
        self.state.end_sessions();
    }

    /// Makes the next API answer for each token carry the renewed values the spec's
    /// `usage.renewed_by_answers` declares (as it does in the second half of a token's life).
    pub fn roll_values(&self) {
        for access in self.state.lock().access.values_mut() {
            access.renew_now = true;
        }
    }

    /// Sets the simulated vendor's clock `seconds` ahead of the real one (negative: behind).
    /// The absolute times its answers write, and the server time `policy.server_time` names,
    /// are then by that clock; tokens still end when they really do.
    pub fn set_clock_offset(&self, seconds: i64) {
        self.state
            .clock_offset
            .store(seconds, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// What a request carried, as text to search for tokens and credentials.
struct Seen {
    method: String,
    path: String,
    content_type: String,
    /// Header values, query and body together, with HTTP Basic credentials decoded.
    haystack: String,
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    /// The body as received.
    body: String,
}

fn json_response(status: u16, body: &Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// Adds a header, skipping names or values HTTP cannot carry (spec values are validated).
fn insert_header(response: &mut Response<Full<Bytes>>, name: &str, value: &str) {
    if let (Ok(name), Ok(value)) = (
        hyper::header::HeaderName::from_bytes(name.as_bytes()),
        hyper::header::HeaderValue::from_str(value),
    ) {
        response.headers_mut().insert(name, value);
    }
}

fn error(status: u16, message: &str) -> Response<Full<Bytes>> {
    json_response(status, &serde_json::json!({ "error": message }))
}

/// Sets `value` at `path` in `doc`, creating objects on the way.
fn set_path(doc: &mut Value, path: &FieldPath, value: Value) {
    let mut here = doc;
    for segment in path.segments() {
        here = match segment {
            Segment::Key(key) => {
                if !here.is_object() {
                    *here = Value::Object(serde_json::Map::new());
                }
                match here.as_object_mut() {
                    Some(map) => map.entry(key.clone()).or_insert(Value::Null),
                    None => return,
                }
            }
            Segment::Index(index) => match here.as_array_mut().and_then(|a| a.get_mut(*index)) {
                Some(item) => item,
                None => return,
            },
        };
    }
    *here = value;
}

/// Removes what `path` names from `doc`, if it is there.
fn remove_path(doc: &mut Value, path: &FieldPath) {
    let Some((last, parents)) = path.segments().split_last() else {
        return;
    };
    let mut here = doc;
    for segment in parents {
        let next = match segment {
            Segment::Key(key) => here.get_mut(key.as_str()),
            Segment::Index(index) => here.get_mut(*index),
        };
        let Some(next) = next else {
            return;
        };
        here = next;
    }
    match (last, here) {
        (Segment::Key(key), Value::Object(map)) => {
            map.shift_remove(key.as_str());
        }
        (Segment::Index(index), Value::Array(items)) if *index < items.len() => {
            items.remove(*index);
        }
        _ => {}
    }
}

/// Whether a path segment matches one where each `%01` stands for any non-empty text.
fn segment_matches(want: &str, got: &str) -> bool {
    let mut pieces = want.split("%01");
    let first = pieces.next().unwrap_or_default();
    let Some(mut rest) = got.strip_prefix(first) else {
        return false;
    };
    for piece in pieces {
        // At least one character for the value, then the next literal piece (the last one
        // must end the segment).
        let Some(skip) = rest.chars().next().map(char::len_utf8) else {
            return false;
        };
        let after = &rest[skip..];
        let found = if piece.is_empty() {
            Some(after.len())
        } else {
            after.find(piece)
        };
        let Some(at) = found else {
            return false;
        };
        rest = &after[at + piece.len()..];
    }
    rest.is_empty()
}

fn jwt(exp: u64, serial: u64) -> String {
    jwt_with(exp, serial, serde_json::Map::new())
}

/// A JWT carrying `extra` claims besides `sub`, `exp` and a unique `jti`.
fn jwt_with(exp: u64, serial: u64, extra: serde_json::Map<String, Value>) -> String {
    let enc = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims = extra;
    claims.insert("sub".into(), Value::from("mock"));
    claims.insert("exp".into(), Value::from(exp));
    claims.insert(
        "jti".into(),
        Value::from(format!("mock-{serial}-{}", fastrand::u64(..))),
    );
    let claims = Value::Object(claims);
    format!(
        "{}.{}.{}",
        enc.encode(r#"{"alg":"none","typ":"JWT"}"#),
        enc.encode(claims.to_string()),
        enc.encode("mock-signature")
    )
}

fn epoch_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl State {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn expire_tokens(&self) {
        for access in self.lock().access.values_mut() {
            access.revoked = true;
        }
    }

    fn end_sessions(&self) {
        for session in self.lock().sessions.values_mut() {
            session.ended = true;
        }
    }

    async fn handle(
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

    fn route(&self, seen: &Seen) -> Response<Full<Bytes>> {
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
            (_, PROTECTED_PATH) => return self.api(seen),
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

    /// An idle session ends `idle_timeout` after its last call; a call within it restarts it.
    fn idle_check(&self, inner: &mut Inner, token: &str, now: SystemTime) {
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

    /// Whether `seen` (as sent, percent-encoded) is `path` rendered as the engine renders it:
    /// credentials are the simulated ones; a session or answer value matches any text of its
    /// segment (it changes with every session).
    fn path_matches(&self, path: &auth_spec::template::Template, seen: &str) -> bool {
        // A character the encoding turns into `%01`, which no rendered literal or value holds.
        const ANY: &str = "\u{1}";
        let rendered = crate::request::render_path(path, |r| match r {
            Reference::Credential(name) => self
                .credentials
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| Value::from(v.as_str())),
            _ => Some(Value::from(ANY)),
        });
        let Ok(rendered) = rendered else {
            return false;
        };
        // Through the same URL handling the engine's request goes through.
        let Ok(base) = url::Url::parse("http://simulator") else {
            return false;
        };
        let expected = crate::request::join(&base, &rendered);
        let expected: Vec<&str> = expected.path().split('/').collect();
        let seen: Vec<&str> = seen.split('/').collect();
        expected.len() == seen.len()
            && expected
                .iter()
                .zip(&seen)
                .all(|(want, got)| segment_matches(want, got))
    }

    fn encoding_ok(&self, endpoint: &auth_spec::model::Endpoint, seen: &Seen) -> bool {
        match endpoint.encoding {
            Encoding::Json => seen.content_type.starts_with("application/json"),
            Encoding::Form => seen
                .content_type
                .starts_with("application/x-www-form-urlencoded"),
            Encoding::None => true,
            // The document does not say: the simulated vendor takes either.
            Encoding::Unknown => {
                seen.content_type.starts_with("application/json")
                    || seen
                        .content_type
                        .starts_with("application/x-www-form-urlencoded")
            }
        }
    }

    /// A JSON-encoded body must be JSON, whatever its shape (a mapping, or a bare string such as
    /// a refresh token sent as the whole body): a client sending the bare text is wrong.
    fn body_ok(&self, endpoint: &auth_spec::model::Endpoint, seen: &Seen) -> bool {
        endpoint.encoding != Encoding::Json
            || endpoint.body.is_none()
            || serde_json::from_str::<Value>(&seen.body).is_ok()
    }

    fn login(&self, seen: &Seen) -> Response<Full<Bytes>> {
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
    fn over_login_limit(&self) -> Option<Duration> {
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
    fn session_end(&self, inner: &Inner, session: u64) -> SystemTime {
        let login_at = inner
            .sessions
            .get(&session)
            .map_or_else(SystemTime::now, |s| s.login_at);
        login_at + self.options.session_ttl.unwrap_or(OPEN_SESSION)
    }

    /// A new refresh token of `session`: a JWT whose `exp` is the session's end where `mapping`
    /// reads the refresh token's `jwt_exp`, else an opaque string.
    fn new_refresh_token(
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
    fn issue(
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
    fn named_claims(&self, of: Option<&str>) -> serde_json::Map<String, Value> {
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
    fn new_value(&self, name: &str, serial: u64, exp: u64) -> String {
        let claims = self.named_claims(Some(name));
        if claims.is_empty() {
            format!("mock-{name}-{serial}-{:08x}", fastrand::u32(..))
        } else {
            jwt_with(exp, serial, claims)
        }
    }

    /// The issued refresh token the request carries, if any (longest match).
    fn presented_refresh(&self, seen: &Seen) -> Option<String> {
        self.lock()
            .refresh
            .keys()
            .filter(|t| seen.haystack.contains(t.as_str()))
            .max_by_key(|t| t.len())
            .cloned()
    }

    fn presented_access(&self, seen: &Seen) -> Option<String> {
        self.lock()
            .access
            .keys()
            .filter(|t| seen.haystack.contains(t.as_str()))
            .max_by_key(|t| t.len())
            .cloned()
    }

    /// "Session over", as the spec's refresh `failures` say it, else as a status.
    fn session_over(&self, status: u16, message: &str) -> Response<Full<Bytes>> {
        self.spec
            .refresh
            .as_ref()
            .and_then(|r| failure_answer(&r.request, FailureMeaning::SessionOver))
            .unwrap_or_else(|| error(status, message))
    }

    fn refresh(&self, seen: &Seen, presented: Option<String>) -> Response<Full<Bytes>> {
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
    fn renew_by_answer(&self, inner: &mut Inner, token: &str) -> Vec<(String, String)> {
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

    fn api(&self, seen: &Seen) -> Response<Full<Bytes>> {
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
}
