//! Answers judged by their body (issue 9, item 1), against a vendor written from this invented
//! page, not from our YAML:
//!
//! > Every answer is HTTP 200 with an envelope `{"result": {"code": N, "text": "..."}}`; the call
//! > succeeded only when `code` is 0. Code 7 means the API key is wrong, code 503 that we are
//! > busy: try again. An API call made with an expired token answers 200 with
//! > `{"status": {"code": "TOKEN_EXPIRED"}}`.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use auth_runtime::{Authenticator, Credentials};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn spec() -> Arc<auth_runtime::auth_spec::ProviderSpec> {
    common::fixture("envelope")
}

fn envelope(code: u32, data: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "result": {"code": code, "text": if code == 0 { "OK" } else { "Invalid API key" }},
        "data": data,
    }))
}

fn engine(server: &MockServer, key: &str) -> Authenticator {
    Authenticator::builder(spec(), Credentials::new().with("api_key", key))
        .base_url(server.uri())
        .retry(common::fast_retry())
        .build()
        .expect("builds")
}

#[tokio::test]
async fn a_200_envelope_with_code_7_is_rejected_credentials_naming_the_vendors_code() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth/login"))
        .respond_with(envelope(7, serde_json::Value::Null))
        .mount(&server)
        .await;
    let error = engine(&server, "wrong-key")
        .access_token()
        .await
        .expect_err("rejected");
    assert!(error.is_credentials_rejected(), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("code 7: Invalid API key"), "{text}");
    assert!(!text.contains("wrong-key"), "{text}");
    assert_eq!(
        common::count(&server, "/auth/login").await,
        1,
        "not retried"
    );
}

#[tokio::test]
async fn a_busy_envelope_is_retried_and_then_the_login_succeeds() {
    let server = MockServer::start().await;
    let calls = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&calls);
    Mock::given(method("POST"))
        .and(path("/auth/login"))
        .respond_with(move |_: &wiremock::Request| {
            if counted.fetch_add(1, Ordering::SeqCst) == 0 {
                envelope(503, serde_json::Value::Null)
            } else {
                envelope(
                    0,
                    serde_json::json!({"token": "tok-1", "refresh": "ref-1", "ttl": 600}),
                )
            }
        })
        .mount(&server)
        .await;
    let token = engine(&server, "k").access_token().await.expect("token");
    assert_eq!(token.generation(), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_expired_envelope_in_a_200_costs_one_refresh_and_a_replay() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth/login"))
        .respond_with(envelope(
            0,
            serde_json::json!({"token": "tok-1", "refresh": "ref-1", "ttl": 600}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/auth/refresh"))
        .respond_with(envelope(
            0,
            serde_json::json!({"token": "tok-2", "refresh": "ref-2", "ttl": 600}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/accounts"))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"status": {"code": "TOKEN_EXPIRED"}})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/accounts"))
        .and(header("authorization", "Bearer tok-2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"status": {"code": "OK"}, "accounts": [1, 2]})),
        )
        .mount(&server)
        .await;
    let auth = engine(&server, "k");
    let client = auth.client(reqwest::Client::new());
    let answer = client
        .get(format!("{}/accounts", server.uri()))
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status(), 200);
    let body: serde_json::Value = answer.json().await.expect("json");
    assert_eq!(
        body["accounts"],
        serde_json::json!([1, 2]),
        "the replay's answer, whole"
    );
    assert_eq!(common::count(&server, "/auth/refresh").await, 1);
    assert_eq!(common::count(&server, "/accounts").await, 2);
    // A plain success is handed over untouched and costs nothing.
    let again = client
        .get(format!("{}/accounts", server.uri()))
        .send()
        .await
        .expect("answer");
    assert_eq!(
        again.json::<serde_json::Value>().await.expect("json")["accounts"],
        serde_json::json!([1, 2])
    );
    assert_eq!(common::count(&server, "/auth/refresh").await, 1);
}
