//! A simulator of a vendor, built from its spec alone (it depends on `auth-spec`, not on the
//! engine): `auth-cli mock` serves it, and Rust tests and `auth-cli demo` run the engine against it.
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
//! It speaks HTTP/1 and HTTP/2 (by prior knowledge, as gRPC clients do without TLS) on the same
//! port; a gRPC call (`content-type: application/grpc`) to `/__protected` gets its answer in
//! gRPC's framing.
//!
//! `GET /__stats` counts logins, refreshes and rejections; `POST /__expire` makes every access
//! token expired (to see the expired-token signal and a replay); `POST /__end_session` ends every
//! session. It is a test double: state lives in memory and it listens on loopback only.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_spec::ProviderSpec;

use serde::Serialize;

mod answer;
mod grpc;
mod judged;
mod requested;
mod seen;
mod signed;
mod state;

use state::{Inner, State};

/// The published simulator key (`keys/`) for a credential that signs an `RS256` or `ES256`
/// assertion: no example can hold a private key, and the simulator must verify what it signs.
fn simulator_key(spec: &ProviderSpec, credential: &str) -> Option<&'static str> {
    use auth_spec::model::JwtAlgorithm;
    let signed = spec
        .computed
        .iter()
        .find(|c| c.signed_jwt.key == credential)?;
    match signed.signed_jwt.algorithm {
        JwtAlgorithm::Rs256 => Some(include_str!("keys/simulator-rsa-private.pem")),
        JwtAlgorithm::Es256 => Some(include_str!("keys/simulator-p256-private.pem")),
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
    /// assertion gets the published simulator key (`keys/`) as its test value.
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
                                let grpc = grpc::wants(&request);
                                async move {
                                    let answer = state.handle(request).await;
                                    Ok::<_, Infallible>(if grpc {
                                        grpc::framed(answer).await
                                    } else {
                                        grpc::plain(answer)
                                    })
                                }
                            });
                            let io = hyper_util::rt::TokioIo::new(stream);
                            // HTTP/1, or HTTP/2 by prior knowledge (gRPC clients).
                            let _ = hyper_util::server::conn::auto::Builder::new(
                                hyper_util::rt::TokioExecutor::new(),
                            )
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

    /// The credentials the simulator accepts, as (name, value): each credential's `example`
    /// from the spec, or `test-<name>`. An engine's credentials collect from them
    /// (`mock.credentials().into_iter().collect()`).
    pub fn credentials(&self) -> Vec<(String, String)> {
        self.state.credentials.clone()
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
