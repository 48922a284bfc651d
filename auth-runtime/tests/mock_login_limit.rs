//! The simulator enforces a spec's login budget and spacing (issue 9, item 8): a login request
//! past `login_limit`, or sooner than `min_login_interval` after the last, is answered 429 with
//! `Retry-After`; the engine, which counts its requests in its store, never gets that far.

mod common;

use std::sync::Arc;

use auth_mock::{MockOptions, MockServer};
use auth_runtime::AuthErrorKind;
use auth_runtime::auth_spec::{self, ProviderSpec};

fn spec(policy: &str) -> Arc<ProviderSpec> {
    let yaml = format!(
        r#"
title: Budgeted
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
{policy}
usage:
  headers:
    Authorization: Bearer ${{session.access_token}}
"#
    );
    Arc::new(auth_spec::parse("budgeted.yaml", &yaml).unwrap_or_else(|d| panic!("{d}")))
}

async fn raw_login(mock: &MockServer) -> reqwest::Response {
    let env = mock.credential_env();
    let form: Vec<(&str, &str)> = vec![
        ("grant_type", "client_credentials"),
        ("client_id", env[0].1.as_str()),
        ("client_secret", env[1].1.as_str()),
    ];
    reqwest::Client::new()
        .post(format!("{}/oauth/token", mock.base_url()))
        .form(&form)
        .send()
        .await
        .expect("sent")
}

#[tokio::test]
async fn a_login_past_the_budget_is_refused_with_retry_after() {
    let mock = MockServer::start(
        spec("  login_limit: { requests: 2, per: 1h }"),
        MockOptions::default(),
    )
    .await
    .expect("starts");
    for _ in 0..2 {
        assert_eq!(raw_login(&mock).await.status(), 200);
    }
    let refused = raw_login(&mock).await;
    assert_eq!(refused.status(), 429, "the third request in an hour");
    let retry_after: u64 = refused
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in seconds");
    assert!((3500..=3600).contains(&retry_after), "{retry_after}");
    assert_eq!(mock.stats().logins, 2);
    assert_eq!(mock.stats().logins_over_limit, 1);
}

#[tokio::test]
async fn a_login_sooner_than_the_interval_is_refused() {
    let mock = MockServer::start(spec("  min_login_interval: 1h"), MockOptions::default())
        .await
        .expect("starts");
    assert_eq!(raw_login(&mock).await.status(), 200);
    assert_eq!(raw_login(&mock).await.status(), 429);
    assert_eq!(mock.stats().logins_over_limit, 1);
}

#[tokio::test]
async fn the_engine_stays_within_the_simulated_budget() {
    let spec = spec("  login_limit: { requests: 2, per: 1h }");
    let mock = MockServer::start(Arc::clone(&spec), MockOptions::default())
        .await
        .expect("starts");
    let auth = common::engine(&mock, spec);
    for _ in 0..2 {
        auth.access_token().await.expect("within the budget");
        auth.logout().await.expect("logout");
    }
    let error = auth.access_token().await.expect_err("the budget is spent");
    assert!(
        matches!(error.kind(), AuthErrorKind::LoginNotAllowedYet { .. }),
        "{error:?}"
    );
    assert_eq!(mock.stats().logins, 2);
    assert_eq!(mock.stats().logins_over_limit, 0, "never refused");
}
