//! Network and vendor faults on the token endpoints: what is retried, what is reported, and that
//! every case ends (each test is bounded by a 5 s timeout, so a hang fails instead of blocking).
//!
//! Expectations:
//! - transient faults (5xx, timeouts, refused connections, 429) on a login are retried, up to
//!   the configured attempts, then reported as `Unreachable`;
//! - a `Retry-After` is honoured; one longer than the retry budget is not waited for;
//! - an answer that is not what the vendor documents (not JSON, an HTML page, no token) is
//!   `UnexpectedResponse`, with a short excerpt and no secrets;
//! - a refresh with a rotating refresh token (Intergiro: "always keep the latest refresh_token")
//!   answered 5xx is not sent again: the vendor may have spent the token.

mod common;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use auth_runtime::auth_spec::model::Retry;
use auth_runtime::{AuthError, AuthErrorKind, Authenticator, Clock, Credentials, ManualClock};
use secrecy::ExposeSecret;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const USERNAME: &str = "api-user@example.com";
const PASSWORD: &str = "correct-horse-battery-staple";
const API_KEY: &str = "c5f90f4b-9d69-416a-8611-8a8c8d605c36";
const IDISSUER_LOGIN: &str = "/v2/auth/token";
const INTERGIRO_LOGIN: &str = "/v3/auth/login";
const INTERGIRO_REFRESH: &str = "/v3/auth/refresh";

/// Fails the test if `future` does not finish within 5 s.
async fn bounded<T>(future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(5), future)
        .await
        .expect("finished within 5 s")
}

/// Answers with `answers` in order, repeating the last one.
struct Sequence {
    answers: Vec<ResponseTemplate>,
    next: AtomicUsize,
}

impl Sequence {
    fn new(answers: Vec<ResponseTemplate>) -> Self {
        Self {
            answers,
            next: AtomicUsize::new(0),
        }
    }
}

impl Respond for Sequence {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let i = self.next.fetch_add(1, Ordering::SeqCst);
        self.answers[i.min(self.answers.len() - 1)].clone()
    }
}

/// ID Issuer's documented login answer.
fn idissuer_ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": {"token_type": "bearer", "token": "eyJhbGciOiJIUzI1NiIsInR.ok", "expires_in": 3600},
        "refresh_token": "5QhI6iaHkyh7Z3eNwhNxcbF2",
    }))
}

/// Intergiro's documented login/refresh answer: a JWT access token (expiring in 600 s on
/// `clock`) and a refresh token.
fn intergiro_ok(clock: &ManualClock, serial: u32) -> ResponseTemplate {
    let exp = common::epoch(clock.wall()) + 600;
    ResponseTemplate::new(200).set_body_json(json!({
        "access_token": common::jwt(json!({"sub": "client", "exp": exp, "n": serial})),
        "refresh_token": format!("refresh-{serial}"),
    }))
}

async fn mount(server: &MockServer, at: &str, answers: Vec<ResponseTemplate>) {
    Mock::given(method("POST"))
        .and(path(at))
        .respond_with(Sequence::new(answers))
        .mount(server)
        .await;
}

fn idissuer_at(base_url: &str, retry: Retry) -> Authenticator {
    Authenticator::builder(
        common::spec("idissuer"),
        Credentials::new()
            .with("username", USERNAME)
            .with("password", PASSWORD),
    )
    .base_url(base_url)
    .retry(retry)
    .timeout(Duration::from_millis(200))
    .build()
    .expect("builds")
}

fn intergiro_at(base_url: &str, clock: Arc<ManualClock>) -> Authenticator {
    Authenticator::builder(
        common::spec("intergiro"),
        Credentials::new().with("api_key", API_KEY),
    )
    .base_url(base_url)
    .clock(clock)
    .retry(common::fast_retry())
    .timeout(Duration::from_millis(200))
    .build()
    .expect("builds")
}

/// The text of an error, checked for secrets.
fn assert_no_secrets(error: &AuthError, also: &[&str]) {
    for text in [error.to_string(), format!("{error:?}")] {
        for secret in [PASSWORD, USERNAME, API_KEY].iter().chain(also) {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }
}

#[tokio::test]
async fn a_login_answered_500_twice_then_200_recovers() {
    bounded(async {
        let server = MockServer::start().await;
        let clock = Arc::new(ManualClock::new());
        mount(
            &server,
            INTERGIRO_LOGIN,
            vec![
                ResponseTemplate::new(500),
                ResponseTemplate::new(500),
                intergiro_ok(&clock, 1),
            ],
        )
        .await;
        let auth = intergiro_at(&server.uri(), clock);
        let token = auth.access_token().await.expect("recovered");
        assert_eq!(token.generation(), 1);
        assert_eq!(common::count(&server, INTERGIRO_LOGIN).await, 3);
    })
    .await;
}

#[tokio::test]
async fn a_login_answered_500_forever_is_unreachable_after_3_attempts() {
    bounded(async {
        let server = MockServer::start().await;
        mount(&server, IDISSUER_LOGIN, vec![ResponseTemplate::new(500)]).await;
        let auth = idissuer_at(&server.uri(), common::fast_retry());
        let error = auth.access_token().await.expect_err("unreachable");
        assert!(
            matches!(error.kind(), AuthErrorKind::Unreachable { attempts: 3, .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("500"), "{error}");
        assert_eq!(common::count(&server, IDISSUER_LOGIN).await, 3);
        assert_no_secrets(&error, &[]);
    })
    .await;
}

#[tokio::test]
async fn a_login_that_times_out_is_unreachable_and_not_sent_again() {
    bounded(async {
        let server = MockServer::start().await;
        // Slower than the 200 ms timeout.
        mount(
            &server,
            IDISSUER_LOGIN,
            vec![idissuer_ok().set_delay(Duration::from_millis(700))],
        )
        .await;
        let auth = idissuer_at(&server.uri(), common::fast_retry());
        let started = Instant::now();
        let error = auth.access_token().await.expect_err("timed out");
        // Not sent again: the vendor may have opened a session for it, and a second login
        // would open another (issue 8, A.4: never log in twice for one caller).
        assert!(
            matches!(error.kind(), AuthErrorKind::Unreachable { attempts: 1, .. }),
            "{error:?}"
        );
        assert_eq!(common::count(&server, IDISSUER_LOGIN).await, 1);
        assert!(error.to_string().contains("timed out"), "{error}");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "took {:?}",
            started.elapsed()
        );
        assert_no_secrets(&error, &[]);
    })
    .await;
}

#[tokio::test]
async fn a_refused_connection_is_unreachable_quickly() {
    bounded(async {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("address").port()
        };
        let auth = idissuer_at(&format!("http://127.0.0.1:{port}"), common::fast_retry());
        let started = Instant::now();
        let error = auth.access_token().await.expect_err("refused");
        assert!(
            matches!(error.kind(), AuthErrorKind::Unreachable { attempts: 3, .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("connection"), "{error}");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "took {:?}",
            started.elapsed()
        );
        assert_no_secrets(&error, &[]);
    })
    .await;
}

#[tokio::test]
async fn a_200_with_malformed_json_is_an_unexpected_response() {
    bounded(async {
        let server = MockServer::start().await;
        let broken = r#"{"access_token": {"token_type": "bearer", "expires_in": 36"#;
        mount(
            &server,
            IDISSUER_LOGIN,
            vec![ResponseTemplate::new(200).set_body_raw(broken, "application/json")],
        )
        .await;
        let auth = idissuer_at(&server.uri(), common::fast_retry());
        let error = auth.access_token().await.expect_err("malformed");
        assert!(
            matches!(
                error.kind(),
                AuthErrorKind::UnexpectedResponse { status: 200, .. }
            ),
            "{error:?}"
        );
        assert!(error.to_string().contains("not JSON"), "{error}");
        assert_eq!(
            common::count(&server, IDISSUER_LOGIN).await,
            1,
            "a bad answer is not retried"
        );
        assert_no_secrets(&error, &[]);
    })
    .await;
}

#[tokio::test]
async fn a_truncated_answer_does_not_show_the_token_it_carried() {
    bounded(async {
        let server = MockServer::start().await;
        // The connection broke after the token was written: the body is not JSON, but the token
        // in it is real and must not end up in an error message (or a log).
        let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhcGkifQ.c2lnbmF0dXJlLXZhbHVl";
        let broken = format!(
            r#"{{"access_token": {{"token_type": "bearer", "token": "{token}", "expires_in": 36"#
        );
        mount(
            &server,
            IDISSUER_LOGIN,
            vec![ResponseTemplate::new(200).set_body_raw(broken, "application/json")],
        )
        .await;
        let auth = idissuer_at(&server.uri(), common::fast_retry());
        let error = auth.access_token().await.expect_err("malformed");
        assert!(
            matches!(
                error.kind(),
                AuthErrorKind::UnexpectedResponse { status: 200, .. }
            ),
            "{error:?}"
        );
        assert_no_secrets(&error, &[token]);
    })
    .await;
}

#[tokio::test]
async fn a_200_html_page_is_an_unexpected_response_with_a_short_clean_excerpt() {
    bounded(async {
        let server = MockServer::start().await;
        // A proxy's maintenance page that (badly) echoes the request it received.
        let page = format!(
            "<!DOCTYPE html>\n<html>\n  <head><title>Scheduled maintenance</title></head>\n  <body>\n    \
             <h1>Scheduled maintenance</h1>\n    <p>Request: username={USERNAME}&amp;password={PASSWORD}</p>\n    \
             <p>{}</p>\n  </body>\n</html>\n",
            "We will be back shortly. ".repeat(40)
        );
        mount(&server, IDISSUER_LOGIN, vec![ResponseTemplate::new(200).set_body_raw(page, "text/html; charset=utf-8")])
            .await;
        let auth = idissuer_at(&server.uri(), common::fast_retry());
        let error = auth.access_token().await.expect_err("html");
        let AuthErrorKind::UnexpectedResponse { status, excerpt, .. } = error.kind() else {
            panic!("expected UnexpectedResponse, got {error:?}");
        };
        assert_eq!(*status, 200);
        assert!(error.to_string().contains("Scheduled maintenance"), "{error}");
        assert!(excerpt.chars().count() <= 201, "excerpt of {} characters", excerpt.chars().count());
        assert_no_secrets(&error, &[]);
    })
    .await;
}

#[tokio::test]
async fn a_200_without_the_nested_token_names_the_missing_path() {
    bounded(async {
        let server = MockServer::start().await;
        let body = json!({
            "access_token": {"token_type": "bearer", "expires_in": 3600},
            "refresh_token": "refresh-value-not-to-show",
        });
        mount(
            &server,
            IDISSUER_LOGIN,
            vec![ResponseTemplate::new(200).set_body_json(body)],
        )
        .await;
        let auth = idissuer_at(&server.uri(), common::fast_retry());
        let error = auth.access_token().await.expect_err("no token");
        assert!(
            matches!(
                error.kind(),
                AuthErrorKind::UnexpectedResponse { status: 200, .. }
            ),
            "{error:?}"
        );
        assert!(
            error.to_string().contains("$.access_token.token"),
            "{error}"
        );
        assert_no_secrets(&error, &["refresh-value-not-to-show"]);
    })
    .await;
}

#[tokio::test]
async fn a_200_without_the_token_names_the_missing_path() {
    bounded(async {
        let server = MockServer::start().await;
        let clock = Arc::new(ManualClock::new());
        let body = json!({"refresh_token": "refresh-value-not-to-show"});
        mount(
            &server,
            INTERGIRO_LOGIN,
            vec![ResponseTemplate::new(200).set_body_json(body)],
        )
        .await;
        let auth = intergiro_at(&server.uri(), clock);
        let error = auth.access_token().await.expect_err("no token");
        assert!(
            matches!(
                error.kind(),
                AuthErrorKind::UnexpectedResponse { status: 200, .. }
            ),
            "{error:?}"
        );
        assert!(error.to_string().contains("$.access_token"), "{error}");
        assert_no_secrets(&error, &["refresh-value-not-to-show"]);
    })
    .await;
}

#[tokio::test]
async fn a_429_with_retry_after_1_is_waited_for() {
    bounded(async {
        let server = MockServer::start().await;
        mount(
            &server,
            IDISSUER_LOGIN,
            vec![
                ResponseTemplate::new(429).insert_header("Retry-After", "1"),
                idissuer_ok(),
            ],
        )
        .await;
        let retry = Retry {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_secs(2),
        };
        let auth = idissuer_at(&server.uri(), retry);
        let started = Instant::now();
        let token = auth.access_token().await.expect("recovered");
        let elapsed = started.elapsed();
        assert_eq!(token.secret().expose_secret(), "eyJhbGciOiJIUzI1NiIsInR.ok");
        assert!(
            elapsed >= Duration::from_millis(900),
            "came back after {elapsed:?}"
        );
        assert_eq!(common::count(&server, IDISSUER_LOGIN).await, 2);
    })
    .await;
}

#[tokio::test]
async fn a_429_with_a_long_retry_after_is_not_retried() {
    bounded(async {
        let server = MockServer::start().await;
        mount(
            &server,
            IDISSUER_LOGIN,
            vec![
                ResponseTemplate::new(429).insert_header("Retry-After", "3600"),
                idissuer_ok(),
            ],
        )
        .await;
        let auth = idissuer_at(&server.uri(), common::fast_retry());
        let started = Instant::now();
        let error = auth.access_token().await.expect_err("not waited for");
        assert!(
            matches!(error.kind(), AuthErrorKind::Unreachable { attempts: 1, .. }),
            "{error:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "took {:?}",
            started.elapsed()
        );
        assert_eq!(common::count(&server, IDISSUER_LOGIN).await, 1);
    })
    .await;
}

#[tokio::test]
async fn a_rotating_refresh_answered_500_is_not_sent_again() {
    bounded(async {
        let server = MockServer::start().await;
        let clock = Arc::new(ManualClock::new());
        mount(&server, INTERGIRO_LOGIN, vec![intergiro_ok(&clock, 1)]).await;
        mount(
            &server,
            INTERGIRO_REFRESH,
            vec![ResponseTemplate::new(500), intergiro_ok(&clock, 2)],
        )
        .await;
        let auth = intergiro_at(&server.uri(), clock.clone());
        auth.access_token().await.expect("login");
        // "token refresh attempt should be performed only after access token has expired".
        clock.advance(Duration::from_secs(601));
        let error = auth.access_token().await.expect_err("the refresh failed");
        assert!(
            matches!(
                error.kind(),
                AuthErrorKind::UnexpectedResponse { status: 500, .. }
                    | AuthErrorKind::Unreachable { attempts: 1, .. }
            ),
            "{error:?}"
        );
        assert_eq!(
            common::count(&server, INTERGIRO_REFRESH).await,
            1,
            "the rotating refresh token was sent twice"
        );
        assert_eq!(
            common::count(&server, INTERGIRO_LOGIN).await,
            1,
            "a 500 does not end the session"
        );
        assert_no_secrets(&error, &["refresh-1"]);
    })
    .await;
}

#[tokio::test]
async fn a_rotating_refresh_answered_429_is_retried() {
    bounded(async {
        let server = MockServer::start().await;
        let clock = Arc::new(ManualClock::new());
        mount(&server, INTERGIRO_LOGIN, vec![intergiro_ok(&clock, 1)]).await;
        // A 429 means the vendor did not process the request: the token is not spent.
        mount(
            &server,
            INTERGIRO_REFRESH,
            vec![ResponseTemplate::new(429), intergiro_ok(&clock, 2)],
        )
        .await;
        let auth = intergiro_at(&server.uri(), clock.clone());
        auth.access_token().await.expect("login");
        clock.advance(Duration::from_secs(601));
        let token = auth.access_token().await.expect("refreshed");
        assert_eq!(token.generation(), 2);
        assert_eq!(common::count(&server, INTERGIRO_REFRESH).await, 2);
        assert_eq!(common::count(&server, INTERGIRO_LOGIN).await, 1);
    })
    .await;
}
