//! With the real clock, the hot path reads no clock: a timer flags the token when it is due.
//! These tests check that the flag is set on time, with short real lifetimes.

mod common;

use std::sync::Arc;
use std::time::Duration;

use auth_runtime::auth_spec;
use auth_runtime::{Authenticator, Credentials};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn spec(policy: &str) -> String {
    format!(
        r#"
title: Short
environments:
  local: {{ base_url: "http://127.0.0.1:1" }}
default_environment: local
credentials:
  api_key: {{}}
login:
  method: POST
  path: /login
  encoding: json
  body: {{ api_key: "${{credentials.api_key}}" }}
  response:
    access_token: $.access_token
    access_token_expiry: [ {{ expires_in: {{ path: $.ttl_ms, unit: milliseconds }} }} ]
    examples: [ {{ body: {{ access_token: t, ttl_ms: 300 }} }} ]
policy: {policy}
usage:
  headers: {{ Authorization: "Bearer ${{session.access_token}}" }}
"#
    )
}

async fn engine(policy: &str) -> (MockServer, Authenticator) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/login"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"access_token": "t", "ttl_ms": 300})),
        )
        .mount(&server)
        .await;
    let spec =
        Arc::new(auth_spec::parse("short.yaml", &spec(policy)).unwrap_or_else(|d| panic!("{d}")));
    let auth = Authenticator::builder(spec, Credentials::new().with("api_key", "k"))
        .base_url(server.uri())
        .build()
        .expect("builds");
    (server, auth)
}

#[tokio::test]
async fn an_expired_token_is_renewed_after_its_real_lifetime() {
    let (server, auth) = engine("{ refresh: after_expiry }").await;
    auth.access_token().await.expect("login");
    auth.access_token().await.expect("cached");
    assert_eq!(common::count(&server, "/login").await, 1);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let token = auth.access_token().await.expect("new login");
    assert_eq!(token.generation(), 2);
    assert_eq!(
        common::count(&server, "/login").await,
        2,
        "the timer flagged the token"
    );
}

#[tokio::test]
async fn a_token_is_not_renewed_before_its_time() {
    let (server, auth) = engine("{ refresh: after_expiry }").await;
    auth.access_token().await.expect("login");
    tokio::time::sleep(Duration::from_millis(100)).await;
    auth.access_token().await.expect("cached");
    assert_eq!(common::count(&server, "/login").await, 1);
}
