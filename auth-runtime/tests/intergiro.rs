//! Intergiro, as its document describes it (shared/seeds/intergiro-auth-v3*.{md,txt}):
//! - `POST /v3/auth/login` with `{"api_key"}` returns `access_token` (a JWT) and `refresh_token`;
//!   no expiry field.
//! - `POST /v3/auth/refresh` with `{"refresh_token"}` returns a new pair; "always keep the latest
//!   refresh_token"; the old one is spent.
//! - "token refresh attempt should be performed only after access token has expired. Attempts to
//!   prematurely refresh token will end with an error."
//! - "Eventually refreshing the token will fail ... at that point you should log in again."
//! - An API call with an expired token answers 401.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_runtime::{AuthErrorKind, Authenticator, Clock, Credentials, ManualClock};
use secrecy::ExposeSecret;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const API_KEY: &str = "c5f90f4b-9d69-416a-8611-8a8c8d605c36";
const LIFETIME: u64 = 600;

/// Intergiro's session endpoints, with the state its document implies.
struct Vendor {
    clock: Arc<ManualClock>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    serial: u64,
    /// The one refresh token currently valid, and when its access token expires.
    live_refresh: Option<(String, u64)>,
    spent: HashSet<String>,
    premature: usize,
    reused: usize,
    /// When set, the session is over: every refresh fails.
    session_over: bool,
    /// When set, the login endpoint is down.
    login_down: bool,
}

impl Vendor {
    fn new(clock: Arc<ManualClock>) -> Arc<Self> {
        Arc::new(Self {
            clock,
            state: Mutex::new(State::default()),
        })
    }

    fn issue(&self, state: &mut State) -> ResponseTemplate {
        state.serial += 1;
        let exp = common::epoch(self.clock.wall()) + LIFETIME;
        let access =
            common::jwt(serde_json::json!({"sub": "client", "exp": exp, "n": state.serial}));
        let refresh = format!("refresh-{}", state.serial);
        state.live_refresh = Some((refresh.clone(), exp));
        ResponseTemplate::new(200)
            .set_body_json(serde_json::json!({"access_token": access, "refresh_token": refresh}))
    }
}

struct Login(Arc<Vendor>);
struct Refresh(Arc<Vendor>);

impl Respond for Login {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if common::json_body(request)["api_key"] != API_KEY {
            return ResponseTemplate::new(401)
                .set_body_json(serde_json::json!({"error": "invalid api key"}));
        }
        let mut state = self.0.state.lock().expect("state");
        if state.login_down {
            return ResponseTemplate::new(503);
        }
        self.0.issue(&mut state)
    }
}

impl Respond for Refresh {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let sent = common::json_body(request)["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let mut state = self.0.state.lock().expect("state");
        if state.spent.contains(&sent) {
            state.reused += 1;
            return ResponseTemplate::new(401)
                .set_body_json(serde_json::json!({"error": "refresh token reused"}));
        }
        let Some((live, exp)) = state.live_refresh.clone() else {
            return ResponseTemplate::new(401);
        };
        if sent != live {
            return ResponseTemplate::new(401)
                .set_body_json(serde_json::json!({"error": "unknown refresh token"}));
        }
        if state.session_over {
            return ResponseTemplate::new(401)
                .set_body_json(serde_json::json!({"error": "session expired"}));
        }
        if common::epoch(self.0.clock.wall()) < exp {
            state.premature += 1;
            return ResponseTemplate::new(400)
                .set_body_json(serde_json::json!({"error": "access token has not expired"}));
        }
        state.spent.insert(sent);
        self.0.issue(&mut state)
    }
}

struct Api(Arc<Vendor>);

impl Respond for Api {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let auth = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let Some(token) = auth.strip_prefix("Bearer ") else {
            return ResponseTemplate::new(401);
        };
        let exp = auth_runtime::auth_spec::jwt::exp_claim(token).unwrap_or(0.0) as u64;
        if common::epoch(self.0.clock.wall()) >= exp {
            return ResponseTemplate::new(401);
        }
        ResponseTemplate::new(200).set_body_json(serde_json::json!({"individuals": []}))
    }
}

async fn setup() -> (MockServer, Arc<Vendor>, Arc<ManualClock>, Authenticator) {
    let server = MockServer::start().await;
    let clock = Arc::new(ManualClock::new());
    let vendor = Vendor::new(Arc::clone(&clock));
    Mock::given(method("POST"))
        .and(path("/v3/auth/login"))
        .and(header("content-type", "application/json"))
        .respond_with(Login(Arc::clone(&vendor)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v3/auth/refresh"))
        .and(header("content-type", "application/json"))
        .respond_with(Refresh(Arc::clone(&vendor)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v3/individuals"))
        .respond_with(Api(Arc::clone(&vendor)))
        .mount(&server)
        .await;
    let auth = Authenticator::builder(
        common::spec("intergiro"),
        Credentials::new().with("api_key", API_KEY),
    )
    .base_url(server.uri())
    .clock(clock.clone())
    .retry(common::fast_retry())
    .build()
    .expect("builds");
    (server, vendor, clock, auth)
}

#[tokio::test]
async fn logs_in_once_and_reuses_the_token() {
    let (server, _vendor, _clock, auth) = setup().await;
    let first = auth.access_token().await.expect("login");
    let second = auth.access_token().await.expect("cached");
    assert_eq!(
        first.secret().expose_secret(),
        second.secret().expose_secret()
    );
    assert_eq!(common::count(&server, "/v3/auth/login").await, 1);
    // The token's own JWT `exp` is its expiry.
    let exp = auth_runtime::auth_spec::jwt::exp_claim(first.secret().expose_secret()).expect("jwt")
        as u64;
    assert_eq!(first.expires_at().map(common::epoch), Some(exp));
    let client = auth.client(reqwest::Client::new());
    let answer = client
        .get(format!("{}/v3/individuals", server.uri()))
        .send()
        .await
        .expect("sent");
    assert_eq!(answer.status(), 200);
}

#[tokio::test]
async fn refreshes_only_after_expiry_and_rotates() {
    let (server, vendor, clock, auth) = setup().await;
    auth.access_token().await.expect("login");
    clock.advance(Duration::from_secs(LIFETIME - 1));
    auth.access_token().await.expect("still valid");
    assert_eq!(
        common::count(&server, "/v3/auth/refresh").await,
        0,
        "no refresh before expiry"
    );
    for _ in 0..3 {
        clock.advance(Duration::from_secs(LIFETIME + 1));
        auth.access_token().await.expect("refreshed");
    }
    assert_eq!(common::count(&server, "/v3/auth/refresh").await, 3);
    assert_eq!(
        common::count(&server, "/v3/auth/login").await,
        1,
        "no needless re-login"
    );
    {
        let state = vendor.state.lock().expect("state");
        assert_eq!(state.premature, 0, "never refreshed prematurely");
        assert_eq!(state.reused, 0, "never sent a spent refresh token");
    }
    // Each refresh sent the latest token: refresh-1, refresh-2, refresh-3.
    let sent: Vec<String> = server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/v3/auth/refresh")
        .map(|r| {
            common::json_body(r)["refresh_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(sent, ["refresh-1", "refresh-2", "refresh-3"]);
}

#[tokio::test]
async fn session_end_means_one_new_login() {
    let (server, vendor, clock, auth) = setup().await;
    auth.access_token().await.expect("login");
    vendor.state.lock().expect("state").session_over = true;
    clock.advance(Duration::from_secs(LIFETIME + 1));
    let token = auth.access_token().await.expect("logged in again");
    assert_eq!(common::count(&server, "/v3/auth/refresh").await, 1);
    assert_eq!(
        common::count(&server, "/v3/auth/login").await,
        2,
        "exactly one new login"
    );
    assert_eq!(token.generation(), 2);
}

#[tokio::test]
async fn a_dead_refresh_token_is_never_sent_again_even_if_the_new_login_fails() {
    let (server, vendor, clock, auth) = setup().await;
    auth.access_token().await.expect("login");
    {
        let mut state = vendor.state.lock().expect("state");
        state.session_over = true;
        state.login_down = true;
    }
    clock.advance(Duration::from_secs(LIFETIME + 1));
    let error = auth.access_token().await.expect_err("login is down");
    assert!(
        matches!(error.kind(), AuthErrorKind::SessionExpired { .. }),
        "{error}"
    );
    assert_eq!(common::count(&server, "/v3/auth/refresh").await, 1);
    vendor.state.lock().expect("state").login_down = false;
    auth.access_token().await.expect("logged in");
    assert_eq!(
        common::count(&server, "/v3/auth/refresh").await,
        1,
        "the dead refresh token was not sent again"
    );
}

#[tokio::test]
async fn a_401_on_an_api_call_refreshes_once_the_token_has_expired() {
    let (server, _vendor, clock, auth) = setup().await;
    let client = auth.client(reqwest::Client::new());
    let url = format!("{}/v3/individuals", server.uri());
    assert_eq!(client.get(&url).send().await.expect("sent").status(), 200);
    clock.advance(Duration::from_secs(LIFETIME));
    assert_eq!(client.get(&url).send().await.expect("sent").status(), 200);
    assert_eq!(common::count(&server, "/v3/auth/refresh").await, 1);
}

#[tokio::test]
async fn rejected_api_key_fails_at_once() {
    let server = MockServer::start().await;
    let clock = Arc::new(ManualClock::new());
    let vendor = Vendor::new(clock);
    Mock::given(method("POST"))
        .and(path("/v3/auth/login"))
        .respond_with(Login(vendor))
        .mount(&server)
        .await;
    let auth = Authenticator::builder(
        common::spec("intergiro"),
        Credentials::new().with("api_key", "wrong-key-123"),
    )
    .base_url(server.uri())
    .build()
    .expect("builds");
    let error = auth.access_token().await.expect_err("rejected");
    assert!(
        matches!(
            error.kind(),
            AuthErrorKind::CredentialsRejected { status: 401, .. }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("INTERGIRO_API_KEY"), "{error}");
    assert!(!error.to_string().contains("wrong-key-123"), "{error}");
    assert_eq!(
        common::count(&server, "/v3/auth/login").await,
        1,
        "no retry loop"
    );
}

#[test]
fn the_host_is_never_invented() {
    let error = Authenticator::builder(
        common::spec("intergiro"),
        Credentials::new().with("api_key", API_KEY),
    )
    .build()
    .expect_err("no host in the spec");
    assert!(
        matches!(error.kind(), AuthErrorKind::MissingBaseUrl { .. }),
        "{error}"
    );
}
