//! Apiax, as its document describes it (shared/seeds/apiax-access-token.txt), on Keycloak:
//! - one token endpoint, `POST /auth/realms/apiax/protocol/openid-connect/token`, taking
//!   `application/x-www-form-urlencoded` form parameters;
//! - `grant_type=password` with `client_id=integration-api`, `username`, `password` returns
//!   `access_token`, `expires_in` ("The default expiration time for expires_in is 1800 seconds"),
//!   `refresh_expires_in: 0`, `refresh_token`, `token_type`, `not-before-policy`, `session_state`,
//!   `scope`;
//! - `grant_type=refresh_token` with `client_assertion_type=urn:...:jwt-bearer`,
//!   `client_id=integration-api`, `refresh_token` returns the same shape with `expires_at` (a Java
//!   timestamp: epoch milliseconds) instead of `expires_in`, and a NEW refresh token;
//! - "The refresh token can be used 14 days starting after the retrieval of your Access Token with
//!   credentials." Afterwards Keycloak answers 400 `invalid_grant`.
//! - Wrong credentials: Keycloak answers 401 `invalid_grant` "Invalid user credentials".

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_runtime::{AuthErrorKind, Authenticator, Clock, Credentials, ManualClock};
use secrecy::ExposeSecret;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN_PATH: &str = "/auth/realms/apiax/protocol/openid-connect/token";
const USERNAME: &str = "ops@example-bank.ch";
const PASSWORD: &str = "Sup3r-Secret-Pa55word";
const CLIENT_ID: &str = "integration-api";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// "The default expiration time for expires_in is 1800 seconds."
const LIFETIME: Duration = Duration::from_secs(1800);
/// "The refresh token can be used 14 days starting after the retrieval of your Access Token with
/// credentials."
const SESSION: Duration = Duration::from_secs(14 * 24 * 3600);
/// A fixed start (2026-01-01T00:00:00.123Z) so the millisecond timestamps are reproducible.
const START_MS: u64 = 1_767_225_600_123;

/// Keycloak's realm `apiax`, with the state the document implies.
struct Keycloak {
    clock: Arc<ManualClock>,
    /// How long the refresh grant takes to answer.
    refresh_delay: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    serial: u64,
    /// Live refresh tokens and the time of the password login that started their session.
    live: HashMap<String, SystemTime>,
    /// Refresh tokens already exchanged (Keycloak revokes them when rotating).
    spent: HashSet<String>,
    reused: usize,
    /// Refresh grants refused because the 14 days were over.
    expired_refreshes: usize,
    /// Requests that did not follow the document (wrong content type, fields, client id).
    malformed: Vec<String>,
    /// The `expires_at` (epoch ms) of each refresh answer, in order.
    sent_expires_at: Vec<u64>,
}

fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn error(status: u16, error: &str, description: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(serde_json::json!({"error": error, "error_description": description}))
}

impl Keycloak {
    fn new(clock: Arc<ManualClock>, refresh_delay: Duration) -> Arc<Self> {
        Arc::new(Self {
            clock,
            refresh_delay,
            state: Mutex::new(State::default()),
        })
    }

    /// A new token pair for a session that logged in at `login`.
    fn issue(&self, state: &mut State, login: SystemTime, refreshed: bool) -> ResponseTemplate {
        state.serial += 1;
        let access = format!("apiax-access-{}", state.serial);
        let refresh = format!("apiax-refresh-{}", state.serial);
        state.live.insert(refresh.clone(), login);
        let mut body = serde_json::json!({
            "access_token": access,
            "refresh_expires_in": 0,
            "refresh_token": refresh,
            "token_type": "bearer",
            "not-before-policy": 0,
            "session_state": "3f1f5c56-1b7e-4c1e-9d8a-0c6e2f0b7a11",
            "scope": "profile email",
        });
        if refreshed {
            // "expires_at": JAVA_TIMESTAMP, milliseconds since the epoch.
            let at = millis(self.clock.wall() + LIFETIME);
            state.sent_expires_at.push(at);
            body["expires_at"] = serde_json::json!(at);
        } else {
            body["expires_in"] = serde_json::json!(LIFETIME.as_secs());
        }
        ResponseTemplate::new(200).set_body_json(body)
    }
}

fn fields(request: &Request) -> BTreeMap<String, String> {
    common::form_body(request).into_iter().collect()
}

fn names(map: &BTreeMap<String, String>) -> Vec<&str> {
    map.keys().map(String::as_str).collect()
}

struct TokenEndpoint(Arc<Keycloak>);

impl Respond for TokenEndpoint {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let vendor = &self.0;
        let mut state = vendor.state.lock().expect("state");
        let content_type = request
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !content_type.starts_with("application/x-www-form-urlencoded") {
            state
                .malformed
                .push(format!("content type `{content_type}`"));
            return error(400, "invalid_request", "Missing form parameter: grant_type");
        }
        let form = fields(request);
        if form.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
            state
                .malformed
                .push(format!("client_id {:?}", form.get("client_id")));
            return error(
                401,
                "unauthorized_client",
                "Invalid client or Invalid client credentials",
            );
        }
        match form.get("grant_type").map(String::as_str) {
            Some("password") => {
                if names(&form) != ["client_id", "grant_type", "password", "username"] {
                    state
                        .malformed
                        .push(format!("password grant fields {:?}", names(&form)));
                }
                if form.get("username").map(String::as_str) != Some(USERNAME)
                    || form.get("password").map(String::as_str) != Some(PASSWORD)
                {
                    return error(401, "invalid_grant", "Invalid user credentials");
                }
                let now = vendor.clock.wall();
                vendor.issue(&mut state, now, false)
            }
            Some("refresh_token") => {
                if names(&form)
                    != [
                        "client_assertion_type",
                        "client_id",
                        "grant_type",
                        "refresh_token",
                    ]
                    || form.get("client_assertion_type").map(String::as_str) != Some(ASSERTION_TYPE)
                {
                    state
                        .malformed
                        .push(format!("refresh grant fields {form:?}"));
                }
                let sent = form.get("refresh_token").cloned().unwrap_or_default();
                if state.spent.contains(&sent) {
                    state.reused += 1;
                    return error(400, "invalid_grant", "Stale token")
                        .set_delay(vendor.refresh_delay);
                }
                let Some(login) = state.live.get(&sent).copied() else {
                    return error(400, "invalid_grant", "Invalid refresh token")
                        .set_delay(vendor.refresh_delay);
                };
                if vendor.clock.wall() >= login + SESSION {
                    state.expired_refreshes += 1;
                    return error(400, "invalid_grant", "Token is not active")
                        .set_delay(vendor.refresh_delay);
                }
                state.live.remove(&sent);
                state.spent.insert(sent);
                vendor
                    .issue(&mut state, login, true)
                    .set_delay(vendor.refresh_delay)
            }
            other => {
                state.malformed.push(format!("grant_type {other:?}"));
                error(400, "unsupported_grant_type", "Unsupported grant_type")
            }
        }
    }
}

async fn setup_with(
    password: &str,
    refresh_delay: Duration,
) -> (MockServer, Arc<Keycloak>, Arc<ManualClock>, Authenticator) {
    let server = MockServer::start().await;
    let clock = Arc::new(ManualClock::starting_at(
        UNIX_EPOCH + Duration::from_millis(START_MS),
    ));
    let vendor = Keycloak::new(Arc::clone(&clock), refresh_delay);
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(TokenEndpoint(Arc::clone(&vendor)))
        .mount(&server)
        .await;
    let auth = Authenticator::builder(
        common::spec("apiax"),
        Credentials::new()
            .with("username", USERNAME)
            .with("password", password),
    )
    .base_url(server.uri())
    .clock(clock.clone())
    .retry(common::fast_retry())
    .build()
    .expect("builds");
    (server, vendor, clock, auth)
}

async fn setup() -> (MockServer, Arc<Keycloak>, Arc<ManualClock>, Authenticator) {
    setup_with(PASSWORD, Duration::ZERO).await
}

/// The token requests received so far, with their form fields.
async fn token_requests(server: &MockServer) -> Vec<(String, BTreeMap<String, String>)> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == TOKEN_PATH)
        .map(|r| {
            let content_type = r
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            (content_type, fields(r))
        })
        .collect()
}

/// How many token requests used this grant type.
async fn grants(server: &MockServer, grant_type: &str) -> usize {
    token_requests(server)
        .await
        .iter()
        .filter(|(_, f)| f.get("grant_type").map(String::as_str) == Some(grant_type))
        .count()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[tokio::test]
async fn login_and_refresh_send_exactly_the_documented_form_fields() {
    let (server, vendor, clock, auth) = setup().await;
    let login = auth.access_token().await.expect("login");
    // Past the 1800 s: the caller waits for a refresh with the login's refresh token.
    clock.advance(LIFETIME + Duration::from_secs(1));
    let refreshed = auth.access_token().await.expect("refreshed");
    // And once more: the refresh token of the refresh answer is the one sent next.
    clock.advance(LIFETIME + Duration::from_secs(1));
    let again = auth.access_token().await.expect("refreshed again");

    let requests = token_requests(&server).await;
    assert_eq!(requests.len(), 3, "one login and two refreshes");
    for (content_type, _) in &requests {
        assert!(
            content_type.starts_with("application/x-www-form-urlencoded"),
            "{content_type}"
        );
    }
    assert_eq!(
        requests[0].1,
        map(&[
            ("client_id", CLIENT_ID),
            ("grant_type", "password"),
            ("username", USERNAME),
            ("password", PASSWORD),
        ])
    );
    assert_eq!(
        requests[1].1,
        map(&[
            ("grant_type", "refresh_token"),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_id", CLIENT_ID),
            ("refresh_token", "apiax-refresh-1"),
        ])
    );
    assert_eq!(
        requests[2].1.get("refresh_token").map(String::as_str),
        Some("apiax-refresh-2")
    );
    assert_eq!(requests[2].1.len(), 4, "{:?}", requests[2].1);

    assert_eq!(login.secret().expose_secret(), "apiax-access-1");
    assert_eq!(refreshed.secret().expose_secret(), "apiax-access-2");
    assert_eq!(again.secret().expose_secret(), "apiax-access-3");
    let state = vendor.state.lock().expect("state");
    assert!(state.malformed.is_empty(), "{:?}", state.malformed);
    assert_eq!(state.reused, 0, "a spent refresh token was sent again");
}

#[tokio::test]
async fn the_login_token_lives_1800_seconds() {
    let (server, _vendor, clock, auth) = setup().await;
    let login_wall = clock.wall();
    let token = auth.access_token().await.expect("login");
    assert_eq!(
        token.expires_at(),
        Some(login_wall + LIFETIME),
        "expires_in is in seconds"
    );
    let status = auth.status().await.expect("status");
    let session = status.session.expect("a session");
    assert_eq!(session.access_expires_at, Some(login_wall + LIFETIME));
    // refresh_expires_in is 0, so the documented 14 days from the login apply.
    assert_eq!(session.refresh_expires_at, Some(login_wall + SESSION));
    assert_eq!(session.login_at, login_wall);

    // Well before the refresh margin nothing is sent.
    clock.advance(Duration::from_secs(1500));
    let same = auth.access_token().await.expect("cached");
    assert_eq!(
        same.secret().expose_secret(),
        token.secret().expose_secret()
    );
    assert_eq!(common::count(&server, TOKEN_PATH).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_refresh_margin_refreshes_once_in_the_background() {
    // The refresh grant takes 800 ms: callers in the margin must not wait for it. A caller that
    // waited would get the refreshed token (generation 2); every caller gets generation 1.
    let (server, vendor, clock, auth) = setup_with(PASSWORD, Duration::from_millis(800)).await;
    let first = auth.access_token().await.expect("login");
    // Inside the refresh margin, still before the 1800 s.
    clock.advance(LIFETIME - Duration::from_secs(30));
    for _ in 0..20 {
        let token = auth.access_token().await.expect("still valid");
        assert_eq!(
            token.secret().expose_secret(),
            first.secret().expose_secret()
        );
        assert_eq!(token.generation(), 1);
    }
    // Concurrent callers as well.
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let auth = auth.clone();
        tasks.push(tokio::spawn(async move { auth.access_token().await }));
    }
    for task in tasks {
        let token = task.await.expect("task").expect("token");
        assert_eq!(
            token.secret().expose_secret(),
            first.secret().expose_secret()
        );
    }

    // Wait (bounded) for the background refresh to land.
    let mut refreshed = None;
    for _ in 0..80 {
        tokio::time::sleep(Duration::from_millis(25)).await;
        let token = auth.access_token().await.expect("token");
        if token.generation() > 1 {
            refreshed = Some(token);
            break;
        }
    }
    let refreshed = refreshed.expect("the background refresh completed within two seconds");
    assert_eq!(
        grants(&server, "refresh_token").await,
        1,
        "exactly one background refresh"
    );
    assert_eq!(grants(&server, "password").await, 1, "no second login");
    assert_eq!(refreshed.secret().expose_secret(), "apiax-access-2");

    // The refreshed token's expiry comes from the answer's `expires_at` (epoch milliseconds);
    // the exact millisecond is checked by `the_refreshed_expiry_is_the_java_timestamp_sent`.
    let sent = vendor.state.lock().expect("state").sent_expires_at.clone();
    assert_eq!(sent.len(), 1);
    let expires_at = refreshed.expires_at().expect("an expiry");
    let sent_at = UNIX_EPOCH + Duration::from_millis(sent[0]);
    let off = expires_at
        .duration_since(sent_at)
        .unwrap_or_else(|e| e.duration());
    assert!(
        off < Duration::from_millis(1),
        "expires_at {expires_at:?} is not the {} ms the server sent",
        sent[0]
    );
    // And it is still a session from the same login (14 days from then).
    let session = auth
        .status()
        .await
        .expect("status")
        .session
        .expect("session");
    assert_eq!(
        session.refresh_expires_at,
        Some(UNIX_EPOCH + Duration::from_millis(START_MS) + SESSION)
    );
}

#[tokio::test]
async fn the_refreshed_expiry_is_the_java_timestamp_sent() {
    let (_server, vendor, clock, auth) = setup().await;
    auth.access_token().await.expect("login");
    clock.advance(LIFETIME + Duration::from_secs(1));
    let refreshed = auth.access_token().await.expect("refreshed");
    let sent = vendor.state.lock().expect("state").sent_expires_at.clone();
    assert_eq!(sent.len(), 1, "one refresh answer");
    // `expires_at` is a Java timestamp: the token expires at exactly that millisecond.
    let expires_at = refreshed.expires_at().expect("an expiry");
    assert_eq!(
        millis(expires_at),
        sent[0],
        "expires_at {expires_at:?} is not the {} ms the server sent",
        sent[0]
    );
    assert_eq!(expires_at, UNIX_EPOCH + Duration::from_millis(sent[0]));
    let status = auth
        .status()
        .await
        .expect("status")
        .session
        .expect("session");
    assert_eq!(
        status.access_expires_at,
        Some(UNIX_EPOCH + Duration::from_millis(sent[0]))
    );
}

#[tokio::test]
async fn after_14_days_the_engine_logs_in_again_without_refreshing() {
    let (server, vendor, clock, auth) = setup().await;
    auth.access_token().await.expect("login");
    // On day 13 (token long expired, session alive): a refresh is the way.
    clock.advance(SESSION - Duration::from_secs(3600));
    let refreshed = auth.access_token().await.expect("refreshed");
    assert_eq!(refreshed.generation(), 2);
    assert_eq!(grants(&server, "refresh_token").await, 1);
    // Past day 14 and past the refreshed token's expiry: only a login helps.
    clock.advance(Duration::from_secs(3600) + LIFETIME);
    let token = auth.access_token().await.expect("logged in again");
    assert_eq!(
        grants(&server, "refresh_token").await,
        1,
        "no refresh after the 14 days"
    );
    assert_eq!(
        grants(&server, "password").await,
        2,
        "exactly one new login"
    );
    assert_eq!(token.secret().expose_secret(), "apiax-access-3");
    let state = vendor.state.lock().expect("state");
    assert_eq!(state.expired_refreshes, 0, "a dead refresh token was sent");
    assert!(state.malformed.is_empty(), "{:?}", state.malformed);
}

#[tokio::test]
async fn after_14_days_without_any_refresh_the_engine_logs_in() {
    let (server, vendor, clock, auth) = setup().await;
    auth.access_token().await.expect("login");
    clock.advance(SESSION + Duration::from_secs(1));
    let token = auth.access_token().await.expect("logged in again");
    assert_eq!(token.secret().expose_secret(), "apiax-access-2");
    assert_eq!(
        grants(&server, "refresh_token").await,
        0,
        "no refresh after the 14 days"
    );
    assert_eq!(grants(&server, "password").await, 2);
    assert_eq!(vendor.state.lock().expect("state").expired_refreshes, 0);
}

#[tokio::test]
async fn a_wrong_password_is_rejected_once_without_showing_it() {
    let wrong = "Wr0ng-Passw0rd-4711";
    let (server, _vendor, _clock, auth) = setup_with(wrong, Duration::ZERO).await;
    let error = auth.access_token().await.expect_err("rejected");
    assert!(
        matches!(
            error.kind(),
            AuthErrorKind::CredentialsRejected { status: 401, .. }
        ),
        "{error:?}"
    );
    assert!(error.is_credentials_rejected());
    let text = error.to_string();
    assert!(text.contains("APIAX_USERNAME"), "{text}");
    assert!(text.contains("APIAX_PASSWORD"), "{text}");
    assert!(!text.contains(wrong), "{text}");
    let debug = format!("{error:?}");
    assert!(!debug.contains(wrong), "{debug}");
    assert_eq!(
        common::count(&server, TOKEN_PATH).await,
        1,
        "a rejection is not retried"
    );
}

#[tokio::test]
async fn a_refresh_refused_with_invalid_grant_logs_in_again() {
    let (server, vendor, clock, auth) = setup().await;
    auth.access_token().await.expect("login");
    // Keycloak ended the session early (e.g. an administrator logged it out).
    vendor.state.lock().expect("state").live.clear();
    clock.advance(LIFETIME + Duration::from_secs(1));
    let token = auth.access_token().await.expect("logged in again");
    assert_eq!(token.secret().expose_secret(), "apiax-access-2");
    assert_eq!(
        grants(&server, "refresh_token").await,
        1,
        "one refused refresh"
    );
    assert_eq!(grants(&server, "password").await, 2, "then one login");
}
