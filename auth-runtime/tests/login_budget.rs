//! Login budgets (issue 9, item 8), against a vendor written from this invented page:
//!
//! > **Rate limits.** `POST /oauth/token` with the form fields `grant_type=client_credentials`,
//! > `client_id` and `client_secret` answers `{"access_token": "...", "expires_in": 300}`. There
//! > is no refresh token: request a new token when it expires. A client may make at most 3 token
//! > requests in any hour. The 4th request within an hour is answered `429` and blocks the
//! > client for 24 hours.
//!
//! The vendor below counts every request it receives (retries included) in a sliding hour of
//! the test clock and answers 429 past the third; the tests assert it never had to.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use auth_runtime::auth_spec::{self, ProviderSpec};
use auth_runtime::{
    AuthError, AuthErrorKind, Authenticator, Credentials, FileStore, ManualClock, TokenStore,
};
use secrecy::ExposeSecret;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const HOUR: Duration = Duration::from_secs(3600);

fn spec_yaml(policy_extra: &str) -> String {
    format!(
        r#"
title: Rate Limited
environments:
  production: {{}}
default_environment: production
credentials:
  client_id: {{ secret: false }}
  client_secret: {{}}
login:
  method: POST
  path: /oauth/token
  encoding: form
  body:
    grant_type: client_credentials
    client_id: ${{credentials.client_id}}
    client_secret: ${{credentials.client_secret}}
  response:
    access_token: $.access_token
    access_token_expiry:
      - expires_in: {{ path: $.expires_in }}
    examples:
      - body: {{ access_token: abc, expires_in: 300 }}
policy:
  refresh: after_expiry
  # "A client may make at most 3 token requests in any hour."
  login_limit: {{ requests: 3, per: 1h }}
{policy_extra}
usage:
  headers:
    Authorization: Bearer ${{session.access_token}}
"#
    )
}

fn spec(policy_extra: &str) -> Arc<ProviderSpec> {
    Arc::new(
        auth_spec::parse("limited.yaml", &spec_yaml(policy_extra))
            .unwrap_or_else(|d| panic!("{d}")),
    )
}

/// The vendor: a sliding-hour counter on the test clock, and `fail_first` requests answered 503.
struct Vendor {
    clock: Arc<ManualClock>,
    requests: Mutex<Vec<SystemTime>>,
    refused: Mutex<u32>,
    fail_first: Mutex<u32>,
}

impl Vendor {
    fn new(clock: Arc<ManualClock>) -> Arc<Self> {
        Arc::new(Self {
            clock,
            requests: Mutex::new(Vec::new()),
            refused: Mutex::new(0),
            fail_first: Mutex::new(0),
        })
    }

    fn requests(&self) -> usize {
        self.requests.lock().expect("requests").len()
    }

    fn refused(&self) -> u32 {
        *self.refused.lock().expect("refused")
    }
}

struct Token(Arc<Vendor>);

impl Respond for Token {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        use auth_runtime::Clock as _;
        let now = self.0.clock.wall();
        let mut requests = self.0.requests.lock().expect("requests");
        let in_last_hour = requests
            .iter()
            .filter(|t| now.duration_since(**t).unwrap_or_default() < HOUR)
            .count();
        requests.push(now);
        if in_last_hour >= 3 {
            *self.0.refused.lock().expect("refused") += 1;
            return ResponseTemplate::new(429);
        }
        let mut fail = self.0.fail_first.lock().expect("fail");
        if *fail > 0 {
            *fail -= 1;
            return ResponseTemplate::new(503);
        }
        let n = requests.len();
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": format!("t-{n}"), "expires_in": 300
        }))
    }
}

async fn vendor(clock: &Arc<ManualClock>) -> (MockServer, Arc<Vendor>) {
    let server = MockServer::start().await;
    let vendor = Vendor::new(Arc::clone(clock));
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(Token(Arc::clone(&vendor)))
        .mount(&server)
        .await;
    (server, vendor)
}

fn engine(
    spec: Arc<ProviderSpec>,
    server: &MockServer,
    clock: &Arc<ManualClock>,
    store: Option<Arc<dyn TokenStore>>,
) -> Authenticator {
    let mut builder = Authenticator::builder(
        spec,
        Credentials::new()
            .with("client_id", "app")
            .with("client_secret", "s3cret"),
    )
    .base_url(server.uri())
    .clock(clock.clone())
    .retry(common::fast_retry());
    if let Some(store) = store {
        builder = builder.store(store);
    }
    builder.build().expect("builds")
}

fn expect_limited(error: AuthError, allowed_at: SystemTime) {
    match error.kind() {
        AuthErrorKind::LoginNotAllowedYet {
            next_allowed_at, ..
        } => assert_eq!(*next_allowed_at, allowed_at, "{error}"),
        other => panic!("expected LoginNotAllowedYet, got {other:?}"),
    }
    let text = error.to_string();
    assert!(text.contains("3 logins per 1h"), "{text}");
    let at = humantime::format_rfc3339_seconds(allowed_at).to_string();
    assert!(text.contains(&at), "the message says when: {text}");
}

#[tokio::test]
async fn the_budget_is_never_exceeded_and_the_refusal_says_when() {
    let clock = Arc::new(ManualClock::new());
    let (server, vendor) = vendor(&clock).await;
    let auth = engine(spec(""), &server, &clock, None);
    use auth_runtime::Clock as _;
    let first_login = clock.wall();
    for n in 1..=3 {
        let token = auth.access_token().await.expect("within the budget");
        assert_eq!(token.secret().expose_secret(), format!("t-{n}"));
        // The token expires; there is no refresh: the next call must log in.
        clock.advance(Duration::from_secs(301));
    }
    let error = auth.access_token().await.expect_err("the budget is spent");
    expect_limited(error, first_login + HOUR);
    assert_eq!(vendor.requests(), 3, "the refused login was not sent");
    // Asking again does not send either, and says the same.
    let again = auth.access_token().await.expect_err("still spent");
    expect_limited(again, first_login + HOUR);
    assert_eq!(vendor.requests(), 3);

    // An hour after the first login one request is allowed again.
    clock.advance(
        (first_login + HOUR)
            .duration_since(clock.wall())
            .expect("before the hour ends"),
    );
    let token = auth
        .access_token()
        .await
        .expect("the budget has room again");
    assert_eq!(token.secret().expose_secret(), "t-4");
    assert_eq!(vendor.refused(), 0, "the vendor never had to refuse");
}

#[tokio::test]
async fn retried_requests_count_against_the_budget() {
    let clock = Arc::new(ManualClock::new());
    let (server, vendor) = vendor(&clock).await;
    *vendor.fail_first.lock().expect("fail") = 1;
    let auth = engine(spec(""), &server, &clock, None);
    use auth_runtime::Clock as _;
    let start = clock.wall();
    // The first login takes two requests (a 503, then the token).
    auth.access_token()
        .await
        .expect("first login, retried once");
    assert_eq!(vendor.requests(), 2);
    clock.advance(Duration::from_secs(301));
    auth.access_token().await.expect("second login");
    assert_eq!(vendor.requests(), 3);
    clock.advance(Duration::from_secs(301));
    let error = auth
        .access_token()
        .await
        .expect_err("three requests were made: the budget is spent");
    // The oldest of the three requests leaves the window first.
    let oldest = start;
    match error.kind() {
        AuthErrorKind::LoginNotAllowedYet {
            next_allowed_at, ..
        } => assert!(
            *next_allowed_at >= oldest + HOUR
                && *next_allowed_at <= oldest + HOUR + Duration::from_secs(1),
            "{next_allowed_at:?}"
        ),
        other => panic!("expected LoginNotAllowedYet, got {other:?}"),
    }
    assert_eq!(vendor.requests(), 3);
    assert_eq!(vendor.refused(), 0);
}

#[tokio::test]
async fn a_login_is_not_retried_past_the_budget() {
    let clock = Arc::new(ManualClock::new());
    let (server, vendor) = vendor(&clock).await;
    let auth = engine(spec(""), &server, &clock, None);
    for _ in 0..2 {
        auth.access_token().await.expect("within the budget");
        clock.advance(Duration::from_secs(301));
    }
    // One request is left; the vendor fails it. A retry would be the 4th request of the hour.
    *vendor.fail_first.lock().expect("fail") = 5;
    auth.access_token()
        .await
        .expect_err("the vendor failed the last allowed request");
    assert_eq!(vendor.requests(), 3, "no retry beyond the budget");
    assert_eq!(vendor.refused(), 0);
}

#[tokio::test]
async fn engines_sharing_a_store_share_the_budget_and_logout_does_not_reset_it() {
    let clock = Arc::new(ManualClock::new());
    let (server, vendor) = vendor(&clock).await;
    let dir = tempdir();
    let store: Arc<dyn TokenStore> = Arc::new(FileStore::new(dir.join("sessions.json")));
    let a = engine(spec(""), &server, &clock, Some(Arc::clone(&store)));
    let b = engine(spec(""), &server, &clock, Some(Arc::clone(&store)));
    a.access_token().await.expect("a logs in");
    a.logout().await.expect("a logs out");
    b.access_token().await.expect("b logs in");
    b.logout().await.expect("b logs out");
    a.access_token().await.expect("a logs in again");
    a.logout().await.expect("a logs out again");
    let error = b
        .access_token()
        .await
        .expect_err("three logins were made through this store");
    assert!(
        matches!(error.kind(), AuthErrorKind::LoginNotAllowedYet { .. }),
        "{error:?}"
    );
    // A fresh engine (a new process) reads the same record.
    let c = engine(spec(""), &server, &clock, Some(Arc::clone(&store)));
    c.access_token()
        .await
        .expect_err("the budget is in the store");
    assert_eq!(vendor.requests(), 3);
    assert_eq!(vendor.refused(), 0);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_spaced_login_waits_when_short_and_says_when_when_long() {
    let clock = Arc::new(ManualClock::new());
    let (server, vendor) = vendor(&clock).await;
    // "at least 2 minutes between two token requests": longer than an engine waits by default.
    let auth = engine(spec("  min_login_interval: 2m"), &server, &clock, None);
    use auth_runtime::Clock as _;
    let first = clock.wall();
    auth.access_token().await.expect("first login");
    auth.logout().await.expect("logout");
    let error = auth
        .access_token()
        .await
        .expect_err("the next login is 2 minutes away");
    match error.kind() {
        AuthErrorKind::LoginNotAllowedYet {
            next_allowed_at, ..
        } => assert_eq!(*next_allowed_at, first + Duration::from_secs(120)),
        other => panic!("expected LoginNotAllowedYet, got {other:?}"),
    }
    let text = error.to_string();
    assert!(text.contains("a login every 2m"), "{text}");
    assert_eq!(vendor.requests(), 1);

    // An engine allowed to wait that long waits (the manual clock moves when slept on).
    let patient = Authenticator::builder(
        spec("  min_login_interval: 2m"),
        Credentials::new()
            .with("client_id", "app")
            .with("client_secret", "s3cret"),
    )
    .base_url(server.uri())
    .clock(clock.clone())
    .retry(common::fast_retry())
    .max_login_wait(Duration::from_secs(300))
    .build()
    .expect("builds");
    patient.access_token().await.expect("first login");
    patient.logout().await.expect("logout");
    let before = clock.wall();
    patient.access_token().await.expect("waits, then logs in");
    assert!(clock.wall().duration_since(before).unwrap_or_default() >= Duration::from_secs(119));
    assert_eq!(vendor.refused(), 0);
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "login-budget-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
