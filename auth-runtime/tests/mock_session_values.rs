//! The simulator enforces several session values (issue 9, item 2): it answers a login with every
//! declared value where the spec reads it, requires them on API calls as `usage` sends them, and
//! renews a declared value in an API answer (`usage.renewed_by_answers`), after which only the
//! new value works.

mod common;

use std::sync::Arc;

use auth_mock::PROTECTED_PATH;
use auth_mock::{MockOptions, MockServer};
use secrecy::ExposeSecret as _;

const SPEC: &str = r#"
title: Two Tokens
environments:
  production: {}
default_environment: production
credentials:
  user: { secret: false }
  password: {}
login:
  method: POST
  path: /api/login
  encoding: json
  body: { user: "${credentials.user}", password: "${credentials.password}" }
  response:
    access_token: "@header:X-Session"
    values:
      account_token: "@header:X-Account-Token"
      user_id: $.user.id
    access_token_expiry:
      - expires_in: { path: $.ttl }
    examples:
      - headers: { X-Session: s-1, X-Account-Token: eyJhbGciOiJIUzI1NiJ9.eyJhY2N0IjoiQS0xMDAiLCJleHAiOjE3NjcyMjU2MDB9.c2ln, X-Login-Id: l-1 }
        body: { user: { id: 42 }, ttl: 1800 }
logout:
  method: DELETE
  path: /api/session
  headers:
    X-Login-Id: "${response.@header:X-Login-Id}"
policy:
  refresh: after_expiry
usage:
  headers:
    X-Session: ${session.access_token}
    X-Account-Token: ${session.account_token}
    X-User: ${session.user_id}
    X-Account: ${session.account_token.claims.acct}
  renewed_by_answers:
    account_token: "@header:X-Account-Token"
"#;

#[tokio::test]
async fn simulator_answers_requires_and_renews_named_values() {
    let spec = Arc::new(
        auth_runtime::auth_spec::parse("two_tokens.yaml", SPEC).unwrap_or_else(|d| panic!("{d}")),
    );
    let mock = MockServer::start(spec.clone(), MockOptions::default())
        .await
        .expect("starts");
    let auth = common::engine(&mock, spec);
    let token = auth.access_token().await.expect("login");
    let session = token.session();
    let account = session.values["account_token"].expose_secret().to_owned();
    let user = session.values["user_id"].expose_secret().to_owned();
    assert_eq!(
        auth_runtime::auth_spec::jwt::claim(&account, "acct"),
        Some(serde_json::Value::from("A-100")),
        "a value whose claim a template names is a JWT carrying it"
    );
    assert!(session.response_headers.contains_key("x-login-id"));
    let access = token.secret().expose_secret().to_owned();

    let api = format!("{}{PROTECTED_PATH}", mock.base_url());
    let raw = |account: String, acct: &'static str| {
        let (api, access, user) = (api.clone(), access.clone(), user.clone());
        async move {
            reqwest::Client::new()
                .get(api)
                .header("X-Session", access)
                .header("X-Account-Token", account)
                .header("X-User", user)
                .header("X-Account", acct)
                .send()
                .await
                .expect("sent")
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        raw("wrong".into(), "A-100").await,
        401,
        "the account token is required"
    );
    assert_eq!(raw(account.clone(), "A-999").await, 401, "and its claim");
    assert_eq!(raw(account.clone(), "A-100").await, 200);

    // The next answer renews the account token; the engine takes it, and only it works now.
    mock.roll_values();
    let client = auth.client(reqwest::Client::new());
    let answer = client.get(&api).send().await.expect("sent");
    assert_eq!(answer.status(), 200);
    let renewed = answer
        .headers()
        .get("x-account-token")
        .and_then(|v| v.to_str().ok())
        .expect("a renewed account token")
        .to_owned();
    assert_ne!(renewed, account);
    assert_eq!(mock.stats().renewals_sent, 1);
    assert_eq!(
        raw(account, "A-100").await,
        401,
        "the old account token is dead"
    );
    let answer = client.get(&api).send().await.expect("sent");
    assert_eq!(answer.status(), 200, "the engine sends the renewed one");
    assert!(
        answer.headers().get("x-account-token").is_none(),
        "renewed once"
    );
    assert_eq!(mock.stats().logins, 1);
}
