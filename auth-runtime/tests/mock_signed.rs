//! The simulator enforces signed credentials (issue 9, item 4): a login is accepted only with an
//! assertion that verifies with the simulated key, has an `exp` neither past nor beyond the
//! declared lifetime, and carries the spec's claims. One test per rule.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use auth_mock::{MockOptions, MockServer};
use auth_runtime::auth_spec::{self, ProviderSpec};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

const AUDIENCE: &str = "https://auth.acme.test/oauth2/token";

/// The simulator answers a rejected login with the first `credentials_rejected_status` (400 by
/// default).
const REJECTED: u16 = 400;

fn key_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/keys")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn spec(algorithm: &str) -> Arc<ProviderSpec> {
    let yaml = format!(
        r#"
title: Acme Identity
environments:
  production: {{}}
default_environment: production
credentials:
  client_id: {{ secret: false, example: client-7 }}
  signing_key: {{}}
  client_assertion:
    signed_jwt:
      algorithm: {algorithm}
      key: signing_key
      claims:
        iss: "${{credentials.client_id}}"
        aud: {AUDIENCE}
        iat: "${{now.epoch_seconds}}"
        exp: {{ now_plus: 5m }}
login:
  method: POST
  path: /oauth2/token
  encoding: form
  body:
    client_id: ${{credentials.client_id}}
    client_assertion: ${{credentials.client_assertion}}
  response:
    access_token: $.access_token
    access_token_expiry:
      - expires_in: {{ path: $.expires_in }}
    examples:
      - body: {{ access_token: abc, expires_in: 3600 }}
policy:
  refresh: after_expiry
usage:
  headers:
    Authorization: Bearer ${{session.access_token}}
  expired:
    status: [401]
"#
    );
    Arc::new(auth_spec::parse("acme.yaml", &yaml).unwrap_or_else(|d| panic!("{d}")))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

async fn rsa_mock() -> MockServer {
    MockServer::start_with_credentials(
        spec("RS256"),
        MockOptions::default(),
        vec![("signing_key".into(), key_file("test-only-rsa-private.pem"))],
    )
    .await
    .expect("starts")
}

/// Posts a login with this assertion; the status.
async fn login(mock: &MockServer, assertion: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{}/oauth2/token", mock.base_url()))
        .form(&[("client_id", "client-7"), ("client_assertion", assertion)])
        .send()
        .await
        .expect("sent")
        .status()
        .as_u16()
}

fn sign(claims: Value, algorithm: Algorithm, key: &EncodingKey) -> String {
    jsonwebtoken::encode(&Header::new(algorithm), &claims, key).expect("signs")
}

fn rsa_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(key_file("test-only-rsa-private.pem").as_bytes()).expect("key")
}

fn good_claims() -> Value {
    json!({"iss": "client-7", "aud": AUDIENCE, "iat": now(), "exp": now() + 300})
}

#[tokio::test]
async fn the_engines_assertion_is_accepted_for_each_algorithm() {
    for (algorithm, key) in [
        ("HS256", None),
        ("RS256", Some(key_file("test-only-rsa-private.pem"))),
        ("ES256", Some(key_file("test-only-p256-private.pem"))),
    ] {
        let given = key
            .map(|k| vec![("signing_key".into(), k)])
            .unwrap_or_default();
        let mock =
            MockServer::start_with_credentials(spec(algorithm), MockOptions::default(), given)
                .await
                .expect("starts");
        let auth = common::engine(&mock, spec(algorithm));
        auth.access_token()
            .await
            .unwrap_or_else(|e| panic!("{algorithm}: {e}"));
        assert_eq!(mock.stats().logins, 1, "{algorithm}");
        assert_eq!(mock.stats().rejected_credentials, 0, "{algorithm}");
    }
}

#[tokio::test]
async fn a_correct_hand_made_assertion_is_accepted() {
    let mock = rsa_mock().await;
    assert_eq!(
        login(&mock, &sign(good_claims(), Algorithm::RS256, &rsa_key())).await,
        200
    );
}

#[tokio::test]
async fn an_assertion_signed_with_another_key_is_rejected() {
    let mock = rsa_mock().await;
    let other =
        EncodingKey::from_ec_pem(key_file("test-only-p256-private.pem").as_bytes()).expect("key");
    assert_eq!(
        login(&mock, &sign(good_claims(), Algorithm::ES256, &other)).await,
        REJECTED
    );
    let hmac = EncodingKey::from_secret(b"not the key").expect("key");
    assert_eq!(
        login(&mock, &sign(good_claims(), Algorithm::HS256, &hmac)).await,
        REJECTED
    );
    assert_eq!(mock.stats().rejected_credentials, 2);
}

#[tokio::test]
async fn an_expired_assertion_is_rejected() {
    let mock = rsa_mock().await;
    let mut claims = good_claims();
    claims["iat"] = json!(now() - 600);
    claims["exp"] = json!(now() - 300);
    assert_eq!(
        login(&mock, &sign(claims, Algorithm::RS256, &rsa_key())).await,
        REJECTED
    );
}

#[tokio::test]
async fn an_assertion_beyond_the_declared_lifetime_is_rejected() {
    let mock = rsa_mock().await;
    let mut claims = good_claims();
    claims["exp"] = json!(now() + 3600);
    assert_eq!(
        login(&mock, &sign(claims, Algorithm::RS256, &rsa_key())).await,
        REJECTED
    );
}

#[tokio::test]
async fn an_assertion_with_other_claims_is_rejected() {
    let mock = rsa_mock().await;
    let mut wrong_audience = good_claims();
    wrong_audience["aud"] = json!("https://elsewhere.test/token");
    assert_eq!(
        login(&mock, &sign(wrong_audience, Algorithm::RS256, &rsa_key())).await,
        REJECTED
    );
    let mut stale_iat = good_claims();
    stale_iat["iat"] = json!(now() - 3600);
    assert_eq!(
        login(&mock, &sign(stale_iat, Algorithm::RS256, &rsa_key())).await,
        REJECTED
    );
    let mut no_iss = good_claims();
    no_iss.as_object_mut().expect("object").remove("iss");
    assert_eq!(
        login(&mock, &sign(no_iss, Algorithm::RS256, &rsa_key())).await,
        REJECTED
    );
}

#[tokio::test]
async fn a_login_without_an_assertion_is_rejected() {
    let mock = rsa_mock().await;
    assert_eq!(login(&mock, "not-a-jwt").await, REJECTED);
}

#[tokio::test]
async fn without_a_key_given_the_simulator_offers_its_published_one() {
    // `auth-cli mock` starts the simulator like this: no example can hold a private key.
    for algorithm in ["RS256", "ES256"] {
        let mock = MockServer::start(spec(algorithm), MockOptions::default())
            .await
            .expect("starts");
        let (_, key) = mock
            .credential_env()
            .into_iter()
            .find(|(env, _)| env.ends_with("SIGNING_KEY"))
            .expect("the signing key's test value");
        assert!(key.starts_with("-----BEGIN"), "{algorithm}: a PEM key");
        let auth = common::engine(&mock, spec(algorithm));
        auth.access_token()
            .await
            .unwrap_or_else(|e| panic!("{algorithm}: {e}"));
        assert_eq!(mock.stats().logins, 1, "{algorithm}");
    }
}
