//! The simulator enforces JWT claims in `usage` (issue 9, item 3): its tokens are JWTs carrying
//! the claims the templates name (with the example token's values), and an API call whose claim
//! header does not match its token is refused.

mod common;

use std::sync::Arc;

use auth_mock::PROTECTED_PATH;
use auth_mock::{MockOptions, MockServer};
use secrecy::ExposeSecret as _;

/// No `jwt_exp`: the simulator issues JWTs because a template names a claim.
const SPEC: &str = r#"
title: Tenant Cloud
environments:
  production: {}
default_environment: production
credentials:
  api_key: {}
login:
  method: POST
  path: /token
  encoding: json
  body: { key: "${credentials.api_key}" }
  response:
    access_token: $.access_token
    access_token_expiry: [{ lifetime: 1h }]
    examples:
      - body: { access_token: eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzdmMiLCJ0aWQiOiJ0LWV4YW1wbGUiLCJyZWdpb24iOjEsImV4cCI6MTc2NzIyNTYwMH0.c2ln }
policy:
  refresh: after_expiry
usage:
  headers:
    Authorization: Bearer ${session.access_token}
    X-Tenant-Id: ${session.access_token.claims.tid}
"#;

#[tokio::test]
async fn simulator_tokens_carry_the_named_claims_and_calls_must_repeat_them() {
    let spec = Arc::new(
        auth_runtime::auth_spec::parse("tenant.yaml", SPEC).unwrap_or_else(|d| panic!("{d}")),
    );
    let mock = MockServer::start(spec.clone(), MockOptions::default())
        .await
        .expect("starts");
    let auth = common::engine(&mock, spec);
    let token = auth.access_token().await.expect("login");
    let secret = token.secret().expose_secret().to_owned();
    assert_eq!(
        auth_runtime::auth_spec::jwt::claim(&secret, "tid"),
        Some(serde_json::Value::from("t-example")),
        "the example token's claim value"
    );
    let api = format!("{}{PROTECTED_PATH}", mock.base_url());
    let call = |tenant: &'static str| {
        let (api, secret) = (api.clone(), secret.clone());
        async move {
            reqwest::Client::new()
                .get(api)
                .bearer_auth(secret)
                .header("X-Tenant-Id", tenant)
                .send()
                .await
                .expect("sent")
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        call("t-other").await,
        401,
        "a tenant that is not the token's"
    );
    assert_eq!(call("t-example").await, 200);
    // The engine sends it as `usage` says.
    let client = auth.client(reqwest::Client::new());
    let answer = client.get(&api).send().await.expect("sent");
    assert_eq!(answer.status(), 200);
}
