//! The out-of-tree client against a local Acme server written from the fixture's description:
//! form login with client id and secret, the token and its RFC 3339 expiry inside `session`.

use std::time::{Duration, UNIX_EPOCH};

use auth_runtime::secrecy::ExposeSecret;
use out_of_tree_user::acme::{Client, Credentials, Environment, TokenResponse};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn form(request: &Request) -> Vec<(String, String)> {
    let body = String::from_utf8_lossy(&request.body).into_owned();
    body.split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.replace("%2F", "/")))
        .collect()
}

async fn server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/session"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(|request: &Request| {
            let fields = form(request);
            let expected = [
                ("grant_type".to_owned(), "client_credentials".to_owned()),
                ("client_id".to_owned(), "acme-client".to_owned()),
                ("client_secret".to_owned(), "acme-secret".to_owned()),
            ];
            if fields != expected {
                return ResponseTemplate::new(401)
                    .set_body_json(serde_json::json!({"error": "invalid_client"}));
            }
            ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "session": {
                    "token": "acme-token-1",
                    "valid_until": "2999-01-01T00:00:00.250Z",
                    "scopes": ["payments.read"]
                },
                "account": {"id": "acct_9", "live": false}
            }))
        })
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/payments"))
        .and(header("authorization", "Bearer acme-token-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"payments": []})))
        .mount(&server)
        .await;
    server
}

fn credentials() -> Credentials {
    Credentials {
        client_id: "acme-client".into(),
        client_secret: "acme-secret".to_owned().into(),
    }
}

#[tokio::test]
async fn a_user_crate_generates_and_uses_its_own_client() {
    let server = server().await;
    let client = Client::builder(credentials())
        .environment(Environment::Url(server.uri()))
        .build()
        .expect("client");
    let answer = client
        .http()
        .get(format!("{}/v1/payments", server.uri()))
        .send()
        .await
        .expect("sent");
    assert_eq!(answer.status(), 200);

    let token = client.access_token().await.expect("cached");
    assert_eq!(token.secret().expose_secret(), "acme-token-1");
    // 2999-01-01T00:00:00.250Z, read from the nested RFC 3339 field.
    assert_eq!(
        token.expires_at(),
        Some(UNIX_EPOCH + Duration::from_millis(32_472_144_000_250))
    );

    let Some(TokenResponse::Login(login)) = client.last_response() else {
        panic!("the login answer is kept, typed")
    };
    assert_eq!(login.session.token.expose_secret(), "acme-token-1");
    assert_eq!(
        login.session.scopes.as_deref(),
        Some(&["payments.read".to_owned()][..])
    );
    assert_eq!(
        login.account.as_ref().and_then(|a| a.id.as_deref()),
        Some("acct_9")
    );
    assert_eq!(
        login.access_token().map(|t| t.expose_secret().to_owned()),
        Some("acme-token-1".into())
    );
    assert!(
        !format!("{login:?}").contains("acme-token-1"),
        "Debug is redacted"
    );

    let status = client.status().await.expect("status");
    assert_eq!(status.provider, "acme");
    assert!(status.session.is_some());
    client.logout().await.expect("logout");
    assert!(client.status().await.expect("status").session.is_none());
}

#[test]
fn environments_and_credentials_follow_the_yaml() {
    assert_eq!(Environment::default(), Environment::Sandbox);
    assert_eq!(
        Environment::Production.base_url(),
        Some("https://api.acme-payments.example")
    );
    assert_eq!(out_of_tree_user::acme::NAME, "acme");
    let printed = format!("{:?}", credentials());
    assert!(
        printed.contains("acme-client"),
        "the client id is not secret"
    );
    assert!(
        !printed.contains("acme-secret"),
        "the secret is redacted: {printed}"
    );
}
