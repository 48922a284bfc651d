//! The spec-driven simulator enforces what the specs say the vendors enforce, so that the demo
//! and the CLI tests that run against it can fail.

mod common;

use auth_mock::PROTECTED_PATH;
use auth_mock::{MockOptions, MockServer};
use serde_json::{Value, json};

async fn post_json(url: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .expect("sent");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn intergiro_simulator_enforces_its_rules() {
    let mock = MockServer::start(common::spec("intergiro"), MockOptions::default())
        .await
        .expect("starts");
    let base = mock.base_url();
    let key = mock.credential_env()[0].1.clone();
    assert_eq!(mock.credential_env()[0].0, "INTERGIRO_API_KEY");

    let (status, _) = post_json(
        &format!("{base}/v3/auth/login"),
        json!({"api_key": "wrong"}),
    )
    .await;
    assert_eq!(
        status, 400,
        "wrong key rejected with the spec's first rejection status"
    );
    let (status, login) =
        post_json(&format!("{base}/v3/auth/login"), json!({"api_key": key})).await;
    assert_eq!(status, 200);
    let access = login["access_token"].as_str().expect("token").to_owned();
    assert!(
        auth_runtime::auth_spec::jwt::exp_claim(&access).is_some(),
        "a JWT with exp, as the spec reads it"
    );
    let refresh = login["refresh_token"].as_str().expect("refresh").to_owned();

    // Premature refresh: an error, as Intergiro's document says.
    let (status, _) = post_json(
        &format!("{base}/v3/auth/refresh"),
        json!({"refresh_token": refresh}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(mock.stats().premature_refreshes, 1);

    // The API: the token as `usage` sends it; an expired one gets the expired signal.
    let api = format!("{base}{PROTECTED_PATH}");
    let ok = reqwest::Client::new()
        .get(&api)
        .bearer_auth(&access)
        .send()
        .await
        .expect("sent");
    assert_eq!(ok.status(), 200);
    mock.expire_tokens();
    let expired = reqwest::Client::new()
        .get(&api)
        .bearer_auth(&access)
        .send()
        .await
        .expect("sent");
    assert_eq!(expired.status(), 401);

    // After expiry the refresh works, once: the token rotates.
    let (status, renewed) = post_json(
        &format!("{base}/v3/auth/refresh"),
        json!({"refresh_token": refresh}),
    )
    .await;
    assert_eq!(status, 200);
    assert_ne!(renewed["refresh_token"], Value::from(refresh.clone()));
    let (status, _) = post_json(
        &format!("{base}/v3/auth/refresh"),
        json!({"refresh_token": refresh}),
    )
    .await;
    assert_eq!(status, 400, "a spent refresh token is rejected");
    assert_eq!(mock.stats().reused_refresh_tokens, 1);

    // A session that ended refuses refreshes.
    mock.expire_tokens();
    mock.end_sessions();
    let next = renewed["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let (status, _) = post_json(
        &format!("{base}/v3/auth/refresh"),
        json!({"refresh_token": next}),
    )
    .await;
    assert_eq!(status, 400);
    let stats = mock.stats();
    assert_eq!(
        (
            stats.logins,
            stats.refreshes,
            stats.rejected_credentials,
            stats.session_over
        ),
        (1, 1, 1, 1)
    );
    let counted: Value = reqwest::get(format!("{base}/__stats"))
        .await
        .expect("stats")
        .json()
        .await
        .expect("json");
    assert_eq!(counted["refreshes"], 1);
}

#[tokio::test]
async fn apiax_and_idissuer_simulators_answer_in_their_shapes() {
    let mock = MockServer::start(common::spec("apiax"), MockOptions::default())
        .await
        .expect("starts");
    let env = mock.credential_env();
    let form = [
        ("client_id", "integration-api"),
        ("grant_type", "password"),
        ("username", env[0].1.as_str()),
        ("password", env[1].1.as_str()),
    ];
    let login: Value = reqwest::Client::new()
        .post(format!(
            "{}/auth/realms/apiax/protocol/openid-connect/token",
            mock.base_url()
        ))
        .form(&form)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(
        login["expires_in"], 60,
        "expires_in carries the simulator's lifetime"
    );
    assert_eq!(
        login["token_type"], "bearer",
        "the rest of the documented shape is kept"
    );

    let mock = MockServer::start(common::spec("idissuer"), MockOptions::default())
        .await
        .expect("starts");
    let env = mock.credential_env();
    let (status, login) = post_json(
        &format!("{}/v2/auth/token", mock.base_url()),
        json!({"username": env[0].1, "password": env[1].1}),
    )
    .await;
    assert_eq!(status, 200);
    let token = login["access_token"]["token"]
        .as_str()
        .expect("nested token")
        .to_owned();
    assert_eq!(login["access_token"]["expires_in"], 60);
    mock.expire_tokens();
    let expired = reqwest::Client::new()
        .get(format!("{}{PROTECTED_PATH}", mock.base_url()))
        .bearer_auth(&token)
        .send()
        .await
        .expect("sent");
    assert_eq!(expired.status(), 401);
    assert_eq!(
        expired
            .headers()
            .get("token-expired")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    assert!(
        expired
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("invalid_token"))
    );
}

/// A spec whose vendor judges answers by their body (`failures`, `usage.expired.body`): the
/// simulator says "rejected", "session over" and "expired" the way the spec says the vendor does,
/// and the engine understands each.
#[tokio::test]
async fn envelope_simulator_answers_failures_and_expiry_in_the_spec_s_body_shapes() {
    use std::sync::Arc;
    let spec = common::fixture("envelope");
    let mock = MockServer::start(Arc::clone(&spec), MockOptions::default())
        .await
        .expect("starts");
    let base = mock.base_url();
    let (status, body) = post_json(&format!("{base}/auth/login"), json!({"key": "wrong"})).await;
    assert_eq!(status, 200, "the rejection is an envelope: {body}");
    let wrong = auth_runtime::Authenticator::builder(
        Arc::clone(&spec),
        auth_runtime::Credentials::new().with("api_key", "wrong"),
    )
    .base_url(&base)
    .build()
    .expect("builds");
    let error = wrong.access_token().await.expect_err("rejected");
    assert!(error.is_credentials_rejected(), "{error}");

    let auth = auth_runtime::Authenticator::builder(
        Arc::clone(&spec),
        mock.credentials().into_iter().collect(),
    )
    .base_url(&base)
    .build()
    .expect("builds");
    auth.access_token().await.expect("login");
    mock.expire_tokens();
    let client = auth.client(reqwest::Client::new());
    let answer = client
        .get(format!("{base}{PROTECTED_PATH}"))
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status(), 200);
    let body: Value = answer.json().await.expect("json");
    assert_eq!(
        body["ok"], true,
        "replayed after the expired envelope: {body}"
    );
    let stats = mock.stats();
    assert_eq!((stats.expired_answers, stats.refreshes), (1, 1));
    mock.end_sessions();
    mock.expire_tokens();
    // The expired envelope again; the refresh is answered "session over" in the spec's shape.
    let answer = client
        .get(format!("{base}{PROTECTED_PATH}"))
        .send()
        .await
        .expect("answer");
    let body: Value = answer.json().await.expect("json");
    assert_eq!(body["ok"], true, "replayed after a new login: {body}");
    let stats = mock.stats();
    assert_eq!((stats.session_over, stats.logins), (1, 2), "{stats:?}");
}

/// A JSON-encoded request body must be JSON: a renewal whose whole body is the refresh token as
/// a JSON string (`"rt-1"`) is accepted, the same token sent bare (`rt-1`) is not (issue 9,
/// item 13).
#[tokio::test]
async fn simulator_accepts_a_json_string_refresh_body_and_rejects_a_bare_one() {
    let spec = common::fixture("bare_body");
    let mock = MockServer::start(spec, MockOptions::default())
        .await
        .expect("starts");
    let base = mock.base_url();
    let key = mock.credential_env()[0].1.clone();
    let (status, login) = post_json(&format!("{base}/session"), json!({"api_key": key})).await;
    assert_eq!(status, 200);
    let refresh = login["refresh_token"].as_str().expect("refresh").to_owned();
    mock.expire_tokens();
    let send = |body: String| {
        let url = format!("{base}/session/renew");
        async move {
            reqwest::Client::new()
                .post(url)
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await
                .expect("sent")
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        send(refresh.clone()).await,
        400,
        "a JSON body that is not JSON"
    );
    assert_eq!(mock.stats().refreshes, 0);
    assert_eq!(send(Value::from(refresh).to_string()).await, 200);
    assert_eq!(mock.stats().refreshes, 1);
}

#[tokio::test]
async fn simulator_routes_templated_paths_by_the_simulated_credentials() {
    let spec = std::sync::Arc::new(
        auth_runtime::auth_spec::parse("tenant_path.yaml", TENANT_PATH_SPEC)
            .unwrap_or_else(|d| panic!("{d}")),
    );
    let mock = MockServer::start(spec.clone(), MockOptions::default())
        .await
        .expect("starts");
    let base = mock.base_url();
    let key = mock
        .credential_env()
        .into_iter()
        .find(|(env, _)| env.ends_with("API_KEY"))
        .expect("api key")
        .1;
    // Another tenant's path is no endpoint of this vendor.
    let (status, _) = post_json(
        &format!("{base}/api/v1/other/login"),
        json!({"api_key": key}),
    )
    .await;
    assert_eq!(status, 404);
    // The tenant's own path, its space and slash percent-encoded.
    let (status, login) = post_json(
        &format!("{base}/api/v1/acme%20corp%2Feu/login"),
        json!({"api_key": key}),
    )
    .await;
    assert_eq!(status, 200, "{login}");
    assert_eq!(mock.stats().logins, 1);

    // The engine, end to end: the refresh path names the answer's session.
    let auth = auth_runtime::Authenticator::builder(spec, mock.credentials().into_iter().collect())
        .base_url(base)
        .build()
        .expect("builds");
    let first = auth.access_token().await.expect("login");
    mock.expire_tokens();
    auth.invalidate(first.generation());
    auth.access_token()
        .await
        .expect("refresh through the templated path");
    assert_eq!(mock.stats().logins, 2);
    assert_eq!(mock.stats().refreshes, 1);
}

#[tokio::test]
async fn simulator_ends_the_session_a_login_carries() {
    let spec = std::sync::Arc::new(
        auth_runtime::auth_spec::parse("single_session.yaml", SINGLE_SESSION_SPEC)
            .unwrap_or_else(|d| panic!("{d}")),
    );
    let mock = MockServer::start(spec.clone(), MockOptions::default())
        .await
        .expect("starts");
    let auth = common::engine(&mock, spec);
    let first = auth.access_token().await.expect("first login");
    assert_eq!(mock.stats().sessions_replaced, 0, "nothing to replace yet");
    // The engine logs in again (the first token counted as expired here), carrying it.
    auth.invalidate(first.generation());
    let second = auth.access_token().await.expect("second login");
    let stats = mock.stats();
    assert_eq!(stats.logins, 2);
    assert_eq!(stats.sessions_replaced, 1, "the carried session was ended");
    // The old token is dead at the simulator, the new one works.
    let api = format!("{}{PROTECTED_PATH}", mock.base_url());
    let call = |token: String| {
        let api = api.clone();
        async move {
            reqwest::Client::new()
                .get(api)
                .bearer_auth(token)
                .send()
                .await
                .expect("sent")
                .status()
                .as_u16()
        }
    };
    use secrecy::ExposeSecret as _;
    assert_eq!(call(first.secret().expose_secret().to_owned()).await, 401);
    assert_eq!(call(second.secret().expose_secret().to_owned()).await, 200);
}

/// A vendor whose endpoints live under the tenant's path, and whose refresh path names the
/// session of the last answer.
const TENANT_PATH_SPEC: &str = r#"
title: Tenant Path
environments:
  production: {}
default_environment: production
credentials:
  tenant: { secret: false, example: "acme corp/eu" }
  api_key: {}
login:
  method: POST
  path: /api/v1/${credentials.tenant}/login
  encoding: json
  body:
    api_key: ${credentials.api_key}
  response:
    access_token: $.token
    refresh_token: $.refresh
    access_token_expiry:
      - expires_in: { path: $.expires_in }
    refresh_token_expiry: []
    examples:
      - body: { token: abc, refresh: def, session_id: s-1, expires_in: 900 }
refresh:
  method: POST
  path: /api/v1/${credentials.tenant}/sessions/${response.session_id}/renew
  encoding: json
  body:
    refresh_token: ${session.refresh_token}
  response:
    access_token: $.token
    refresh_token: $.refresh
    access_token_expiry:
      - expires_in: { path: $.expires_in }
    refresh_token_expiry: []
    examples:
      - body: { token: abc, refresh: def, session_id: s-1, expires_in: 900 }
policy:
  refresh: after_expiry
  rotation: rotates
usage:
  headers:
    Authorization: Bearer ${session.access_token}
"#;

/// A single-session vendor: a login that names the previous session's token ends it.
const SINGLE_SESSION_SPEC: &str = r#"
title: Single Session
environments:
  production: {}
default_environment: production
credentials:
  user: { secret: false, example: ann }
  password: {}
login:
  method: POST
  path: /session
  encoding: json
  body:
    user: ${credentials.user}
    password: ${credentials.password}
    previous_token: ${session.access_token}
  response:
    access_token: $.token
    access_token_expiry:
      - expires_in: { path: $.expires_in }
    examples:
      - body: { token: abc, expires_in: 900 }
policy:
  refresh: after_expiry
usage:
  headers:
    Authorization: Bearer ${session.access_token}
  expired: { status: [401] }
"#;
