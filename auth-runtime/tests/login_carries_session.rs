//! A login that carries the previous session (issue 9, item 10), against a vendor written from
//! this invented page:
//!
//! > **One session per user.** `POST /session` with `{"user": "...", "password": "..."}` answers
//! > `{"token": "...", "session_id": "...", "expires_in": 900}`. There is no refresh: log in
//! > again when the token expires. A login ends your previous session when it names it: send
//! > its token as `previous_token` in the body and its id in the `X-Previous-Session` header.
//! > Omit both on your first login.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_runtime::auth_spec::{self, ProviderSpec};
use auth_runtime::{Authenticator, Credentials, ManualClock};
use secrecy::ExposeSecret;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const SPEC: &str = r#"
title: Single Session
environments:
  production: {}
default_environment: production
credentials:
  user: { secret: false }
  password: {}
login:
  method: POST
  path: /session
  encoding: json
  headers:
    X-Previous-Session: ${response.session_id}
  body:
    user: ${credentials.user}
    password: ${credentials.password}
    previous_token: ${session.access_token}
  response:
    access_token: $.token
    access_token_expiry:
      - expires_in: { path: $.expires_in }
    examples:
      - body: { token: abc, session_id: s-1, expires_in: 900 }
policy:
  refresh: after_expiry
usage:
  headers:
    Authorization: Bearer ${session.access_token}
"#;

/// What each login carried: its body, and its `X-Previous-Session` header.
#[derive(Default)]
struct Vendor {
    logins: Mutex<Vec<(serde_json::Value, Option<String>)>>,
}

struct Login(Arc<Vendor>);

impl Respond for Login {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body = common::json_body(request);
        let previous = request
            .headers
            .get("x-previous-session")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut logins = self.0.logins.lock().expect("logins");
        logins.push((body, previous));
        let n = logins.len();
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token": format!("token-{n}"), "session_id": format!("s-{n}"), "expires_in": 900
        }))
    }
}

fn spec() -> Arc<ProviderSpec> {
    Arc::new(auth_spec::parse("single.yaml", SPEC).unwrap_or_else(|d| panic!("{d}")))
}

#[tokio::test]
async fn the_first_login_leaves_the_previous_session_out_the_next_carries_it() {
    let server = MockServer::start().await;
    let vendor = Arc::new(Vendor::default());
    Mock::given(method("POST"))
        .and(path("/session"))
        .respond_with(Login(Arc::clone(&vendor)))
        .mount(&server)
        .await;
    let clock = Arc::new(ManualClock::new());
    let auth = Authenticator::builder(
        spec(),
        Credentials::new()
            .with("user", "ann")
            .with("password", "pw"),
    )
    .base_url(server.uri())
    .clock(clock.clone())
    .retry(common::fast_retry())
    .build()
    .expect("builds");

    let first = auth.access_token().await.expect("first login");
    assert_eq!(first.secret().expose_secret(), "token-1");
    // The session ends (no refresh): the next login names it, so the vendor ends it.
    clock.advance(Duration::from_secs(901));
    let second = auth.access_token().await.expect("second login");
    assert_eq!(second.secret().expose_secret(), "token-2");

    let logins = vendor.logins.lock().expect("logins");
    assert_eq!(logins.len(), 2);
    assert_eq!(
        logins[0].0,
        serde_json::json!({"user": "ann", "password": "pw"}),
        "no previous session: the field is left out, not sent empty"
    );
    assert_eq!(logins[0].1, None, "and so is the header");
    assert_eq!(
        logins[1].0,
        serde_json::json!({"user": "ann", "password": "pw", "previous_token": "token-1"})
    );
    assert_eq!(logins[1].1.as_deref(), Some("s-1"));
}

#[tokio::test]
async fn a_login_after_logout_has_no_previous_session() {
    let server = MockServer::start().await;
    let vendor = Arc::new(Vendor::default());
    Mock::given(method("POST"))
        .and(path("/session"))
        .respond_with(Login(Arc::clone(&vendor)))
        .mount(&server)
        .await;
    let auth = Authenticator::builder(
        spec(),
        Credentials::new()
            .with("user", "ann")
            .with("password", "pw"),
    )
    .base_url(server.uri())
    .retry(common::fast_retry())
    .build()
    .expect("builds");
    auth.access_token().await.expect("login");
    auth.logout().await.expect("logout");
    auth.access_token().await.expect("login again");
    let logins = vendor.logins.lock().expect("logins");
    assert_eq!(logins.len(), 2);
    assert!(
        logins[1].0.get("previous_token").is_none(),
        "{}",
        logins[1].0
    );
    assert_eq!(logins[1].1, None);
}
