//! ID Issuer API v2, as its "Authorization" page describes it
//! (shared/seeds/idissuer-authorization.txt):
//! - `POST /v2/auth/token` with JSON `{"username", "password"}` answers
//!   `{"access_token": {"token_type": "bearer", "token": ..., "expires_in": 3600}, "refresh_token"}`;
//! - `POST /v2/auth/refreshtoken` with JSON `{"access_token": <the access_token object as
//!   received>, "refresh_token"}` answers a new pair (the document shows no answer; the request
//!   has the login answer's shape, and a new pair replaces the old one);
//! - a request "for authorized content with an expired token" answers
//!   `401 Unauthorized`, `Content-Length: 0`,
//!   `WWW-Authenticate: Bearer error="invalid_token", error_description="The token is expired"`,
//!   `Token-Expired: true`;
//! - the token travels as `Authorization: Bearer {API_Token}`.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use auth_runtime::{Authenticator, Clock, Credentials, ManualClock};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const USERNAME: &str = "api-user@example.com";
const PASSWORD: &str = "correct-horse-battery-staple";
const LOGIN: &str = "/v2/auth/token";
const REFRESH: &str = "/v2/auth/refreshtoken";
const DOCUMENTS: &str = "/v2/documents";
const LIFETIME: Duration = Duration::from_secs(3600);

/// The ID Issuer API with the state its document implies.
struct IdIssuer {
    clock: Arc<ManualClock>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    serial: u64,
    /// Every token answer, in order (login and refresh).
    answers: Vec<Value>,
    /// The access_token object and refresh token of the last answer: the only pair a refresh
    /// accepts.
    live: Option<(Value, String)>,
    /// Access tokens and when they expire.
    expiry: HashMap<String, SystemTime>,
    /// The only access token still honoured (older ones are superseded).
    current: Option<String>,
    /// Tokens the server has expired early (revoked).
    revoked: HashSet<String>,
    /// Answer API calls with a 401 that is not the expired-token answer (e.g. a user without
    /// "API Access").
    plain_401: bool,
    /// Refuse every refresh (the session ended on the server).
    session_over: bool,
    /// Refresh requests that did not carry the last pair.
    bad_refreshes: Vec<String>,
    /// Requests that did not follow the document.
    malformed: Vec<String>,
}

impl IdIssuer {
    fn new(clock: Arc<ManualClock>) -> Arc<Self> {
        Arc::new(Self {
            clock,
            state: Mutex::new(State::default()),
        })
    }

    fn issue(&self, state: &mut State) -> ResponseTemplate {
        state.serial += 1;
        let token = format!("eyJhbGciOiJIUzI1NiIsInR.idissuer-{}", state.serial);
        let refresh = format!("5QhI6iaHkyh7Z3eNwhNxcbF2-{}", state.serial);
        let access =
            json!({"token_type": "bearer", "token": token, "expires_in": LIFETIME.as_secs()});
        let body = json!({"access_token": access, "refresh_token": refresh});
        state.answers.push(body.clone());
        state.live = Some((access, refresh));
        state
            .expiry
            .insert(token.clone(), self.clock.wall() + LIFETIME);
        state.current = Some(token);
        ResponseTemplate::new(200).set_body_raw(body.to_string(), "application/json; charset=utf-8")
    }

    /// The server considers the current token expired, whatever the client thinks.
    fn revoke_current(&self) {
        let mut state = self.state.lock().expect("state");
        if let Some(token) = state.current.clone() {
            state.revoked.insert(token);
        }
    }
}

fn is_json(request: &Request) -> bool {
    request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

struct Login(Arc<IdIssuer>);
struct Refresh(Arc<IdIssuer>);
struct Documents(Arc<IdIssuer>);

impl Respond for Login {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.0.state.lock().expect("state");
        let body = common::json_body(request);
        if !is_json(request) || keys(&body) != ["password", "username"] {
            state.malformed.push(format!(
                "login: json {} keys {:?}",
                is_json(request),
                keys(&body)
            ));
            return ResponseTemplate::new(400);
        }
        if body["username"] != USERNAME || body["password"] != PASSWORD {
            return ResponseTemplate::new(401);
        }
        self.0.issue(&mut state)
    }
}

impl Respond for Refresh {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.0.state.lock().expect("state");
        let body = common::json_body(request);
        if !is_json(request) || keys(&body) != ["access_token", "refresh_token"] {
            state.malformed.push(format!(
                "refresh: json {} keys {:?}",
                is_json(request),
                keys(&body)
            ));
            return ResponseTemplate::new(400);
        }
        if state.session_over {
            return ResponseTemplate::new(401);
        }
        let Some((access, refresh)) = state.live.clone() else {
            state.bad_refreshes.push("no session".into());
            return ResponseTemplate::new(401);
        };
        if body["access_token"] != access || body["refresh_token"] != refresh.as_str() {
            state.bad_refreshes.push(format!("sent {body}"));
            return ResponseTemplate::new(401);
        }
        self.0.issue(&mut state)
    }
}

impl Respond for Documents {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let state = self.0.state.lock().expect("state");
        if state.plain_401 {
            return ResponseTemplate::new(401)
                .insert_header("WWW-Authenticate", "Bearer realm=\"idissuer\"");
        }
        let auth = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let Some(token) = auth.strip_prefix("Bearer ") else {
            return ResponseTemplate::new(401).insert_header("WWW-Authenticate", "Bearer");
        };
        let Some(expires) = state.expiry.get(token).copied() else {
            return ResponseTemplate::new(401)
                .insert_header("WWW-Authenticate", "Bearer error=\"invalid_token\"");
        };
        let superseded = state.current.as_deref() != Some(token);
        if superseded || state.revoked.contains(token) || self.0.clock.wall() >= expires {
            // The document's exemplary answer.
            return ResponseTemplate::new(401)
                .insert_header(
                    "WWW-Authenticate",
                    "Bearer error=\"invalid_token\", error_description=\"The token is expired\"",
                )
                .insert_header("Token-Expired", "true");
        }
        ResponseTemplate::new(200).set_body_json(json!({"documents": []}))
    }
}

async fn setup() -> (MockServer, Arc<IdIssuer>, Arc<ManualClock>, Authenticator) {
    let server = MockServer::start().await;
    let clock = Arc::new(ManualClock::new());
    let vendor = IdIssuer::new(Arc::clone(&clock));
    Mock::given(method("POST"))
        .and(path(LOGIN))
        .respond_with(Login(Arc::clone(&vendor)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(REFRESH))
        .respond_with(Refresh(Arc::clone(&vendor)))
        .mount(&server)
        .await;
    Mock::given(path(DOCUMENTS))
        .respond_with(Documents(Arc::clone(&vendor)))
        .mount(&server)
        .await;
    let auth = Authenticator::builder(
        common::spec("idissuer"),
        Credentials::new()
            .with("username", USERNAME)
            .with("password", PASSWORD),
    )
    .base_url(server.uri())
    .clock(clock.clone())
    .retry(common::fast_retry())
    .build()
    .expect("builds");
    (server, vendor, clock, auth)
}

/// The bearer tokens of the API calls the server received, in order.
async fn api_tokens(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == DOCUMENTS)
        .map(|r| {
            r.headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// The JSON bodies of the refresh requests the server received, in order.
async fn refresh_bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == REFRESH)
        .map(common::json_body)
        .collect()
}

fn token_of(answer: &Value) -> String {
    answer["access_token"]["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn assert_clean(vendor: &IdIssuer) {
    let state = vendor.state.lock().expect("state");
    assert!(state.malformed.is_empty(), "{:?}", state.malformed);
    assert!(state.bad_refreshes.is_empty(), "{:?}", state.bad_refreshes);
}

#[tokio::test]
async fn the_nested_token_and_its_lifetime_are_read() {
    let (server, vendor, clock, auth) = setup().await;
    let issued = clock.wall();
    let token = auth.access_token().await.expect("login");
    let answer = vendor.state.lock().expect("state").answers[0].clone();
    assert_eq!(
        token.secret().expose_secret(),
        token_of(&answer),
        "$.access_token.token"
    );
    assert_eq!(
        token.expires_at(),
        Some(issued + LIFETIME),
        "$.access_token.expires_in seconds"
    );
    let session = auth
        .status()
        .await
        .expect("status")
        .session
        .expect("session");
    assert!(session.has_refresh_token);
    assert_eq!(session.access_expires_at, Some(issued + LIFETIME));
    assert_eq!(
        token
            .session()
            .refresh_token
            .as_ref()
            .map(|t| t.expose_secret().to_owned()),
        answer["refresh_token"].as_str().map(str::to_owned)
    );
    // The token travels as `Authorization: Bearer {API_Token}`.
    let client = auth.client(reqwest::Client::new());
    let answer_status = client
        .get(format!("{}{DOCUMENTS}", server.uri()))
        .send()
        .await
        .expect("sent")
        .status();
    assert_eq!(answer_status, 200);
    assert_eq!(
        api_tokens(&server).await,
        [format!("Bearer {}", token.secret().expose_secret())]
    );
    assert_eq!(common::count(&server, LOGIN).await, 1);
    assert_clean(&vendor);
}

#[tokio::test]
async fn an_expired_answer_refreshes_once_and_replays_the_request() {
    let (server, vendor, _clock, auth) = setup().await;
    let first = auth.access_token().await.expect("login");
    // The server expires the token early; the client still thinks it valid.
    vendor.revoke_current();
    let client = auth.client(reqwest::Client::new());
    let answer = client
        .get(format!("{}{DOCUMENTS}", server.uri()))
        .send()
        .await
        .expect("sent");
    assert_eq!(answer.status(), 200, "the replayed request succeeds");
    assert_eq!(
        common::count(&server, REFRESH).await,
        1,
        "exactly one refresh"
    );
    assert_eq!(common::count(&server, LOGIN).await, 1, "no new login");
    let second = vendor.state.lock().expect("state").answers[1].clone();
    assert_eq!(
        api_tokens(&server).await,
        [
            format!("Bearer {}", first.secret().expose_secret()),
            format!("Bearer {}", token_of(&second))
        ],
        "the request was sent twice, the second time with the new token"
    );
    assert_ne!(first.secret().expose_secret(), token_of(&second));
    assert_clean(&vendor);
}

#[tokio::test]
async fn the_refresh_sends_back_the_access_token_object_as_received() {
    let (server, vendor, clock, auth) = setup().await;
    let client = auth.client(reqwest::Client::new());
    let url = format!("{}{DOCUMENTS}", server.uri());
    assert_eq!(client.get(&url).send().await.expect("sent").status(), 200);
    // The 3600 s pass: the engine knows the token expired and refreshes before the call.
    clock.advance(LIFETIME);
    assert_eq!(client.get(&url).send().await.expect("sent").status(), 200);
    // And once more, now from the refresh answer.
    clock.advance(LIFETIME);
    assert_eq!(client.get(&url).send().await.expect("sent").status(), 200);

    let answers = vendor.state.lock().expect("state").answers.clone();
    assert_eq!(answers.len(), 3, "one login and two refreshes");
    let bodies = refresh_bodies(&server).await;
    assert_eq!(bodies.len(), 2);
    // Exactly the object received (all three members, same values), and the refresh token.
    assert_eq!(
        bodies[0],
        json!({"access_token": answers[0]["access_token"], "refresh_token": answers[0]["refresh_token"]})
    );
    assert_eq!(
        bodies[1],
        json!({"access_token": answers[1]["access_token"], "refresh_token": answers[1]["refresh_token"]})
    );
    // No 401 round trips: every API call used the then-current token.
    let tokens: Vec<String> = answers
        .iter()
        .map(|a| format!("Bearer {}", token_of(a)))
        .collect();
    assert_eq!(api_tokens(&server).await, tokens);
    assert_clean(&vendor);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_expired_answers_cost_one_refresh() {
    let (server, vendor, _clock, auth) = setup().await;
    auth.access_token().await.expect("login");
    vendor.revoke_current();
    let client = auth.client(reqwest::Client::new());
    let url = format!("{}{DOCUMENTS}", server.uri());
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let client = client.clone();
        let url = url.clone();
        tasks.push(tokio::spawn(async move { client.get(&url).send().await }));
    }
    for task in tasks {
        let answer = task.await.expect("task").expect("sent");
        assert_eq!(answer.status(), 200);
    }
    // The refresh token rotates: a second refresh with a spent one would fail.
    assert_eq!(
        common::count(&server, REFRESH).await,
        1,
        "one refresh for the burst"
    );
    assert_eq!(common::count(&server, LOGIN).await, 1);
    assert_clean(&vendor);
}

#[tokio::test]
async fn a_401_without_the_expired_markers_is_returned_as_is() {
    let (server, vendor, _clock, auth) = setup().await;
    let first = auth.access_token().await.expect("login");
    vendor.state.lock().expect("state").plain_401 = true;
    let client = auth.client(reqwest::Client::new());
    let answer = client
        .get(format!("{}{DOCUMENTS}", server.uri()))
        .send()
        .await
        .expect("sent");
    assert_eq!(answer.status(), 401);
    assert_eq!(
        answer
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("Bearer realm=\"idissuer\"")
    );
    assert_eq!(common::count(&server, DOCUMENTS).await, 1, "not replayed");
    assert_eq!(common::count(&server, REFRESH).await, 0, "no refresh");
    // The token was not thrown away either.
    let after = auth.access_token().await.expect("token");
    assert_eq!(after.generation(), first.generation());
    assert_eq!(
        common::count(&server, REFRESH).await + common::count(&server, LOGIN).await,
        1
    );
    assert_clean(&vendor);
}

#[tokio::test]
async fn a_body_that_cannot_be_cloned_is_not_replayed() {
    let (server, vendor, _clock, auth) = setup().await;
    let first = auth.access_token().await.expect("login");
    vendor.revoke_current();
    let client = auth.client(reqwest::Client::new());
    // `Body::wrap` makes a streaming body, which reqwest cannot clone.
    let body = reqwest::Body::wrap(String::from(r#"{"document_type":"id_card"}"#));
    let answer = client
        .post(format!("{}{DOCUMENTS}", server.uri()))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("sent");
    assert_eq!(answer.status(), 401, "the expired answer is returned");
    assert_eq!(
        answer
            .headers()
            .get("token-expired")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    assert_eq!(
        common::count(&server, DOCUMENTS).await,
        1,
        "a streaming body is not sent twice"
    );
    // The expired answer was noted: the next caller gets a refreshed token.
    let next = auth.access_token().await.expect("refreshed");
    assert_ne!(
        next.secret().expose_secret(),
        first.secret().expose_secret()
    );
    assert_eq!(common::count(&server, REFRESH).await, 1);
    assert_eq!(common::count(&server, LOGIN).await, 1);
    assert_clean(&vendor);
}

#[tokio::test]
async fn a_refused_refresh_means_one_new_login_and_the_request_still_succeeds() {
    let (server, vendor, _clock, auth) = setup().await;
    auth.access_token().await.expect("login");
    {
        let mut state = vendor.state.lock().expect("state");
        state.session_over = true;
        if let Some(token) = state.current.clone() {
            state.revoked.insert(token);
        }
    }
    let client = auth.client(reqwest::Client::new());
    let answer = client
        .get(format!("{}{DOCUMENTS}", server.uri()))
        .send()
        .await
        .expect("sent");
    assert_eq!(answer.status(), 200, "replayed with the new login's token");
    assert_eq!(common::count(&server, REFRESH).await, 1, "one refresh");
    assert_eq!(common::count(&server, LOGIN).await, 2, "then one login");
    let answers = vendor.state.lock().expect("state").answers.clone();
    assert_eq!(answers.len(), 2);
    let tokens = api_tokens(&server).await;
    assert_eq!(tokens.len(), 2);
    assert_eq!(tokens[1], format!("Bearer {}", token_of(&answers[1])));
}
