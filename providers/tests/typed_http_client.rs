//! Issue 8, item 23: the generated `ClientBuilder::http_client` covered API calls only; login and
//! refresh bypassed the caller's proxy and TLS settings. One setting now covers both. A client
//! whose requests are recognisable (a default `X-Probe` header) proves which client sent what.

use providers::apiax::{Client, Credentials, Environment};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const LOGIN: &str = "/auth/realms/apiax/protocol/openid-connect/token";

fn probe_client() -> auth_runtime::reqwest::Client {
    let mut headers = auth_runtime::reqwest::header::HeaderMap::new();
    headers.insert(
        "x-probe",
        auth_runtime::reqwest::header::HeaderValue::from_static("1"),
    );
    auth_runtime::http::client_builder()
        .default_headers(headers)
        .build()
        .expect("client")
}

#[tokio::test]
async fn the_typed_clients_http_client_also_sends_the_token_requests() {
    let server = MockServer::start().await;
    // The login only answers requests from the probe client.
    Mock::given(method("POST"))
        .and(path(LOGIN))
        .and(header("x-probe", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "at-1", "expires_in": 300, "refresh_expires_in": 0,
            "refresh_token": "rt-1", "token_type": "Bearer",
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(LOGIN))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "error": "not through the probe client"
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/rules"))
        .and(header("x-probe", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_string("rules"))
        .mount(&server)
        .await;
    let client = Client::builder(Credentials {
        username: "user".to_owned().into(),
        password: "pw".to_owned().into(),
    })
    .environment(Environment::Url(server.uri()))
    .http_client(probe_client())
    .build()
    .expect("client");
    let token = client
        .access_token()
        .await
        .expect("logged in through the probe client");
    assert_eq!(token.generation(), 1);
    let answer = client
        .http()
        .get(format!("{}/api/v1/rules", server.uri()))
        .send()
        .await
        .expect("api call");
    assert_eq!(answer.status(), 200);
    let requests = server.received_requests().await.unwrap_or_default();
    assert_eq!(requests.len(), 2);
    assert!(
        requests.iter().all(|r| r.headers.contains_key("x-probe")),
        "login and API call both went through the given client"
    );
}
