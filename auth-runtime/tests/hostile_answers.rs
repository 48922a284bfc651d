//! Hostile or odd configurations and vendor answers at the engine's edge (issue 8, items 11-18):
//! base URLs that would leak credentials, tokens sent to other origins, redirects, endless or huge
//! answers, connections that break mid-answer, and credentials echoed back in error bodies.

mod common;

use std::sync::Arc;

use auth_runtime::{AuthError, Authenticator, Credentials, reqwest, reqwest_middleware};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const API_KEY: &str = "c5f90f4b-9d69-416a-8611-8a8c8d605c36";

fn intergiro(base_url: &str) -> Result<Authenticator, AuthError> {
    Authenticator::builder(
        common::spec("intergiro"),
        Credentials::new().with("api_key", API_KEY),
    )
    .base_url(base_url)
    .build()
}

/// Item 15: plain http is refused unless the host is a loopback one.
#[test]
fn non_loopback_http_base_urls_are_refused() {
    for url in [
        "http://example.com",
        "http://10.0.0.1:8080",
        "http://[2001:db8::1]",
        "http://localhost.example.com",
    ] {
        let error = intergiro(url).expect_err(url);
        let message = error.to_string();
        assert!(matches!(error, AuthError::Config(_)), "{url}: {error:?}");
        assert!(
            message.contains("http://") && message.contains("unencrypted"),
            "{url}: {message}"
        );
    }
    for url in [
        "http://127.0.0.1:9",
        "http://127.1.2.3",
        "http://[::1]:9",
        "http://localhost:9",
        "http://LOCALHOST",
        "https://example.com",
    ] {
        intergiro(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    }
}

/// Item 17: a user name or password in the base URL is refused, and the error never shows it.
#[test]
fn userinfo_in_base_urls_is_refused_without_echoing_it() {
    for url in [
        "https://alice:s3cret-pw@api.example.com",
        "https://alice@api.example.com",
        "https://:s3cret-pw@api.example.com",
        "http://alice:s3cret-pw@127.0.0.1:9",
        "https://alice:s3cret-pw@",
    ] {
        let error = intergiro(url).expect_err(url);
        let message = format!("{error} {error:?}");
        assert!(!message.contains("s3cret-pw"), "{url}: {message}");
        assert!(!message.contains("alice"), "{url}: {message}");
    }
    let message = intergiro("https://alice:s3cret-pw@api.example.com")
        .expect_err("userinfo")
        .to_string();
    assert!(message.contains("user name or password"), "{message}");
}

/// Intergiro's login, answering a JWT valid for an hour, on a fresh wiremock server.
async fn intergiro_vendor() -> MockServer {
    let server = MockServer::start().await;
    let exp = common::epoch(std::time::SystemTime::now()) + 3600;
    Mock::given(method("POST"))
        .and(path("/v3/auth/login"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": common::jwt(serde_json::json!({"exp": exp})),
            "refresh_token": "refresh-1",
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    server
}

/// Requests that reached `server` with an `Authorization` header.
async fn with_token(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.headers.contains_key("authorization"))
        .count()
}

/// Item 16: the token only goes to the base URL's origin; another origin must be allowed
/// explicitly with `AuthenticatorBuilder::allow_origin`.
#[tokio::test]
async fn the_token_only_goes_to_the_base_urls_origin() {
    let vendor = intergiro_vendor().await;
    let other = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&other)
        .await;
    let auth = intergiro(&vendor.uri()).expect("engine");
    let client = auth.client(reqwest::Client::new());
    let answer = client
        .get(format!("{}/v3/accounts", vendor.uri()))
        .send()
        .await
        .expect("same origin");
    assert_eq!(answer.status(), 200);
    assert_eq!(with_token(&vendor).await, 1);

    let foreign = format!("{}/abs", other.uri());
    let error = client.get(&foreign).send().await.expect_err("other origin");
    let error = match error {
        reqwest_middleware::Error::Middleware(e) => e.downcast::<AuthError>().expect("AuthError"),
        other => panic!("{other}"),
    };
    assert!(
        matches!(error, AuthError::TokenOriginRefused { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains(&other.uri()) && message.contains("allow"), "{message}");
    // The same port on another host name is another origin too.
    let renamed = vendor.uri().replace("127.0.0.1", "localhost");
    assert!(client.get(format!("{renamed}/x")).send().await.is_err());
    let token = auth.access_token().await.expect("token");
    let mut request = reqwest::Request::new(
        reqwest::Method::GET,
        url::Url::parse(&foreign).expect("url"),
    );
    assert!(auth.apply(&token, &mut request).is_err());
    assert!(request.headers().is_empty(), "nothing was put on it");
    assert!(
        auth.authorize(reqwest::Client::new().get(&foreign))
            .await
            .is_err()
    );
    assert_eq!(other.received_requests().await.map(|r| r.len()), Some(0));

    // Allowed explicitly: it goes there.
    let allowed = Authenticator::builder(
        common::spec("intergiro"),
        Credentials::new().with("api_key", API_KEY),
    )
    .base_url(vendor.uri())
    .allow_origin(other.uri())
    .build()
    .expect("engine");
    let answer = allowed
        .client(reqwest::Client::new())
        .get(&foreign)
        .send()
        .await
        .expect("allowed origin");
    assert_eq!(answer.status(), 200);
    assert_eq!(with_token(&other).await, 1);
    // An allowed origin is checked like a base URL.
    let error = Authenticator::builder(
        common::spec("intergiro"),
        Credentials::new().with("api_key", API_KEY),
    )
    .base_url(vendor.uri())
    .allow_origin("http://example.com")
    .build()
    .expect_err("plain http to another host");
    assert!(error.to_string().contains("unencrypted"), "{error}");
}
