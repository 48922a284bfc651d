//! The simulator enforces optional credentials and credential sets (issue 9, item 5): an
//! optional value need not be sent, any complete set is accepted, and a login with none is
//! rejected. One test per rule.

mod common;

use std::sync::Arc;

use auth_mock::{MockOptions, MockServer};
use auth_runtime::auth_spec::{self, ProviderSpec};
use serde_json::{Value, json};

const SPEC: &str = r#"
title: Acme Accounts
environments:
  production: {}
default_environment: production
credentials:
  email: { secret: false, example: ann@acme.test }
  username: { secret: false, example: ann }
  tenant_id: { secret: false, example: t-9 }
  password: { example: pw-123 }
  otp: { required: false, example: "123456" }
credential_sets:
  - [email, password]
  - [username, password, tenant_id]
login:
  method: POST
  path: /v1/login
  encoding: json
  headers:
    X-Tenant: ${credentials.tenant_id}
  query:
    otp: ${credentials.otp}
  body:
    email: ${credentials.email}
    username: ${credentials.username}
    password: ${credentials.password}
  response:
    access_token: $.token
    access_token_expiry:
      - expires_in: { path: $.expires_in }
    examples:
      - body: { token: abc, expires_in: 3600 }
policy:
  refresh: after_expiry
usage:
  headers:
    Authorization: Bearer ${session.access_token}
  expired:
    status: [401]
"#;

fn spec() -> Arc<ProviderSpec> {
    Arc::new(auth_spec::parse("acme.yaml", SPEC).unwrap_or_else(|d| panic!("{d}")))
}

async fn mock() -> MockServer {
    MockServer::start(spec(), MockOptions::default())
        .await
        .expect("starts")
}

async fn login(mock: &MockServer, body: Value, tenant: Option<&str>) -> u16 {
    let mut request = reqwest::Client::new()
        .post(format!("{}/v1/login", mock.base_url()))
        .json(&body);
    if let Some(tenant) = tenant {
        request = request.header("X-Tenant", tenant);
    }
    request.send().await.expect("sent").status().as_u16()
}

#[tokio::test]
async fn the_engine_logs_in_with_the_first_set() {
    let mock = mock().await;
    let auth = common::engine(&mock, spec());
    auth.access_token().await.expect("logs in");
    assert_eq!(mock.stats().logins, 1);
}

#[tokio::test]
async fn the_first_set_without_the_optional_code_is_accepted() {
    let mock = mock().await;
    let status = login(
        &mock,
        json!({"email": "ann@acme.test", "password": "pw-123"}),
        None,
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_second_set_is_accepted() {
    let mock = mock().await;
    let status = login(
        &mock,
        json!({"username": "ann", "password": "pw-123"}),
        Some("t-9"),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_login_with_no_complete_set_is_rejected() {
    let mock = mock().await;
    // The second set without its tenant, the first without its e-mail.
    let status = login(
        &mock,
        json!({"username": "ann", "password": "pw-123"}),
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(mock.stats().rejected_credentials, 1);
}

#[tokio::test]
async fn a_credential_every_set_needs_is_required() {
    let mock = mock().await;
    let status = login(&mock, json!({"email": "ann@acme.test"}), Some("t-9")).await;
    assert_eq!(status, 400);
}
