//! JWT claims in templates (issue 9, item 3), against a vendor written from this invented page:
//!
//! > **Tenant-scoped tokens.** `POST /oauth/token` with the form fields `grant_type=
//! > client_credentials`, `client_id` and `client_secret` answers `{"access_token": "<JWT>",
//! > "expires_in": 3600}`. The token is a JWT; its `tid` claim is your tenant and its numeric
//! > `region` claim your data region. Every API call sends `Authorization: Bearer <token>`,
//! > `X-Tenant-Id: <tid>` and `X-Region: <region>`; a call whose tenant or region does not match
//! > its token is refused with 403.

mod common;

use std::sync::Arc;

use auth_runtime::auth_spec::{self, ProviderSpec};
use auth_runtime::{AuthErrorKind, Authenticator, Credentials};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SPEC: &str = r#"
title: Tenant Cloud
environments:
  production: {}
default_environment: production
credentials:
  client_id: { secret: false }
  client_secret: {}
login:
  method: POST
  path: /oauth/token
  encoding: form
  body:
    grant_type: client_credentials
    client_id: ${credentials.client_id}
    client_secret: ${credentials.client_secret}
  response:
    access_token: $.access_token
    access_token_expiry:
      - expires_in: { path: $.expires_in }
    examples:
      - body: { access_token: eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzdmMiLCJ0aWQiOiJ0LWV4YW1wbGUiLCJyZWdpb24iOjEsImV4cCI6MTc2NzIyNTYwMH0.c2ln, expires_in: 3600 }
policy:
  refresh: after_expiry
usage:
  headers:
    Authorization: Bearer ${session.access_token}
    X-Tenant-Id: ${session.access_token.claims.tid}
    X-Region: ${session.access_token.claims.region}
"#;

fn spec() -> Arc<ProviderSpec> {
    Arc::new(auth_spec::parse("tenant.yaml", SPEC).unwrap_or_else(|d| panic!("{d}")))
}

async fn vendor(token: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({ "access_token": token, "expires_in": 3600 })),
        )
        .mount(&server)
        .await;
    // The vendor's rule: tenant and region must match the token.
    Mock::given(method("GET"))
        .and(path("/v1/things"))
        .and(header("authorization", format!("Bearer {token}").as_str()))
        .and(header("x-tenant-id", "t-77"))
        .and(header("x-region", "3"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({ "things": [] })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/things"))
        .respond_with(ResponseTemplate::new(403))
        .with_priority(10)
        .mount(&server)
        .await;
    server
}

fn engine(server: &MockServer) -> Authenticator {
    Authenticator::builder(
        spec(),
        Credentials::new()
            .with("client_id", "app")
            .with("client_secret", "s3cret"),
    )
    .base_url(server.uri())
    .retry(common::fast_retry())
    .build()
    .expect("builds")
}

#[tokio::test]
async fn the_tenant_and_region_claims_go_on_every_call() {
    let token = common::jwt(
        serde_json::json!({ "sub": "svc", "tid": "t-77", "region": 3, "exp": 4_102_444_800u64 }),
    );
    let server = vendor(&token).await;
    let auth = engine(&server);
    let client = auth.client(reqwest::Client::new());
    for _ in 0..2 {
        let answer = client
            .get(format!("{}/v1/things", server.uri()))
            .send()
            .await
            .expect("sent");
        assert_eq!(
            answer.status(),
            200,
            "the vendor accepted tenant and region"
        );
    }
    assert_eq!(common::count(&server, "/oauth/token").await, 1);
}

#[tokio::test]
async fn a_token_without_the_claim_is_a_typed_error_naming_the_claim() {
    let token =
        common::jwt(serde_json::json!({ "sub": "svc", "region": 3, "exp": 4_102_444_800u64 }));
    let server = vendor(&token).await;
    let auth = engine(&server);
    let held = auth.access_token().await.expect("login");
    let mut request = reqwest::Request::new(
        reqwest::Method::GET,
        format!("{}/v1/things", server.uri()).parse().expect("url"),
    );
    let error = auth.apply(&held, &mut request).expect_err("no tid claim");
    let AuthErrorKind::MissingValue { reference, .. } = error.kind() else {
        panic!("expected MissingValue, got {error:?}");
    };
    assert_eq!(reference, "${session.access_token.claims.tid}");
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains(&token), "the token is never shown: {shown}");
    assert!(shown.contains("tid"), "{shown}");
}
