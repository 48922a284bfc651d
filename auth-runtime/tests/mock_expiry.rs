//! The simulator enforces and produces the expiry shapes of issue 9, item 9: a test per rule.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use auth_mock::{MockOptions, MockServer};
use auth_runtime::auth_spec::{self, ProviderSpec};

fn parse(yaml: &str) -> Arc<ProviderSpec> {
    Arc::new(auth_spec::parse("shapes.yaml", yaml).unwrap_or_else(|d| panic!("{d}")))
}

async fn login_answer(mock: &MockServer, path: &str, body: serde_json::Value) -> serde_json::Value {
    reqwest::Client::new()
        .post(format!("{}{path}", mock.base_url()))
        .json(&body)
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json")
}

const HOURS_ONLY: &str = r#"
title: Hours
environments:
  production: { base_url: https://api.example.com }
default_environment: production
credentials:
  api_key: {}
login:
  method: POST
  path: /login
  encoding: json
  body: { key: "${credentials.api_key}" }
  response:
    access_token: $.token
    access_token_expiry:
      - expires_at: { path: $.until, format: pattern, pattern: "%Y-%m-%d %H:%M:%S%:::z", timezone: "-05" }
    examples:
      - body: { token: a, until: "2026-05-01 05:00:00-05" }
policy: { refresh: after_expiry }
usage:
  headers: { Authorization: "Bearer ${session.access_token}" }
"#;

#[tokio::test]
async fn the_simulator_writes_offsets_with_hours_only_and_the_engine_reads_them() {
    let spec = parse(HOURS_ONLY);
    let mock = MockServer::start(Arc::clone(&spec), MockOptions::default())
        .await
        .expect("starts");
    let key = mock.credential_env()[0].1.clone();
    let before = SystemTime::now();
    let answer = login_answer(&mock, "/login", serde_json::json!({ "key": key })).await;
    let until = answer["until"].as_str().expect("text");
    assert!(until.ends_with("-05"), "{until}");
    let auth = common::engine(&mock, Arc::clone(&spec));
    auth.access_token().await.expect("login");
    let at = auth
        .status()
        .await
        .expect("status")
        .session
        .expect("session")
        .access_expires_at
        .expect("known");
    let ttl = MockOptions::default().access_ttl;
    // Whole seconds in the answer; generous guards, no timing asserted.
    assert!(at + Duration::from_secs(2) >= before + ttl, "{at:?}");
    assert!(
        at <= SystemTime::now() + ttl + Duration::from_secs(2),
        "{at:?}"
    );
}

#[tokio::test]
async fn the_simulator_answers_in_each_revision_in_turn_and_the_engine_reads_them_all() {
    let spec = common::fixture("alternative_paths");
    let mock = MockServer::start(Arc::clone(&spec), MockOptions::default())
        .await
        .expect("starts");
    let key = mock.credential_env()[0].1.clone();
    // Three logins: `$.data.token` (2.0), `$.token` (1.x), `@header:X-Token` (a gateway) in turn;
    // each leaves out the revisions before it, so the first that resolves is the one it chose.
    let mut shapes = Vec::new();
    for _ in 0..3 {
        let answer = reqwest::Client::new()
            .post(format!("{}/login", mock.base_url()))
            .json(&serde_json::json!({ "key": key }))
            .send()
            .await
            .expect("sent");
        let header = answer.headers().get("x-token").is_some();
        let body: serde_json::Value = answer.json().await.expect("json");
        shapes.push((
            body["data"]["token"].is_string(),
            body["token"].is_string(),
            header,
        ));
    }
    shapes.sort();
    assert_eq!(
        shapes,
        [
            (false, false, true),
            (false, true, false),
            (true, false, false)
        ],
        "each of the gateway, 1.x and 2.0 answers once"
    );
    // The engine logs in again after each expiry, whatever revision answers.
    let auth = common::engine(&mock, Arc::clone(&spec));
    let client = auth.client(reqwest::Client::new());
    let api = format!("{}{}", mock.base_url(), auth_mock::PROTECTED_PATH);
    for _ in 0..3 {
        let answer = client.get(&api).send().await.expect("answer");
        assert_eq!(answer.status(), 200);
        mock.expire_tokens();
    }
    assert_eq!(mock.stats().logins, 3 + 3);
}

const CHOSEN: &str = r#"
title: Chosen
environments:
  production: { base_url: https://api.example.com }
default_environment: production
credentials:
  api_key: {}
lifetimes:
  session: 7s
login:
  method: POST
  path: /login
  encoding: json
  body: { key: "${credentials.api_key}", ttl: "${lifetime.session.seconds}" }
  response:
    access_token: $.token
    access_token_expiry:
      - expires_in: { path: $.expires_in }
    examples:
      - body: { token: a, expires_in: 60 }
policy: { refresh: after_expiry }
usage:
  headers: { Authorization: "Bearer ${session.access_token}" }
"#;

#[tokio::test]
async fn the_simulator_grants_the_lifetime_the_request_asked_for() {
    let spec = parse(CHOSEN);
    let mock = MockServer::start(Arc::clone(&spec), MockOptions::default())
        .await
        .expect("starts");
    let key = mock.credential_env()[0].1.clone();
    let asked = login_answer(&mock, "/login", serde_json::json!({ "key": key, "ttl": 7 })).await;
    assert_eq!(asked["expires_in"], 7, "honoured");
    let text = login_answer(
        &mock,
        "/login",
        serde_json::json!({ "key": key, "ttl": "9" }),
    )
    .await;
    assert_eq!(text["expires_in"], 9, "a numeric string is read too");
    let none = login_answer(&mock, "/login", serde_json::json!({ "key": key })).await;
    assert_eq!(
        none["expires_in"],
        MockOptions::default().access_ttl.as_secs(),
        "not asked: the vendor's default"
    );
    // The engine sends the declared 7 s, as a number.
    let auth = common::engine(&mock, Arc::clone(&spec));
    auth.access_token().await.expect("login");
    let session = auth
        .status()
        .await
        .expect("status")
        .session
        .expect("session");
    let lifetime = session
        .access_expires_at
        .expect("known")
        .duration_since(session.issued_at)
        .expect("after");
    assert_eq!(lifetime.as_secs(), 7);
}

#[tokio::test]
async fn a_simulated_vendor_clock_ahead_is_corrected_by_the_server_time() {
    use auth_runtime::auth_spec::timefmt::TimeFormat;
    let spec = common::fixture("server_time");
    let mock = MockServer::start(Arc::clone(&spec), MockOptions::default())
        .await
        .expect("starts");
    mock.set_clock_offset(600);
    let key = mock.credential_env()[0].1.clone();
    let answer = reqwest::Client::new()
        .post(format!("{}/login", mock.base_url()))
        .json(&serde_json::json!({ "key": key }))
        .send()
        .await
        .expect("sent");
    let date = answer
        .headers()
        .get("date")
        .and_then(|v| v.to_str().ok())
        .map(|d| TimeFormat::HttpDate.parse_str(d).expect("an HTTP-date"))
        .expect("a Date header");
    let body: serde_json::Value = answer.json().await.expect("json");
    let until = TimeFormat::Rfc3339
        .parse_value(&body["valid_until"])
        .expect("a time");
    let ttl = MockOptions::default().access_ttl;
    let slack = Duration::from_secs(2);
    // Both by the vendor's clock, 10 minutes ahead; generous guards, no timing asserted.
    assert!(
        date >= SystemTime::now() + Duration::from_secs(600) - slack,
        "{date:?}"
    );
    let lifetime = until.duration_since(date).expect("after");
    assert!(
        lifetime + slack >= ttl && lifetime <= ttl + slack,
        "{lifetime:?}"
    );
    // The engine reads the expiry on its own clock: about `ttl` from now, not 10 minutes more.
    let auth = common::engine(&mock, Arc::clone(&spec));
    auth.access_token().await.expect("login");
    let at = auth
        .status()
        .await
        .expect("status")
        .session
        .expect("session")
        .access_expires_at
        .expect("known");
    assert!(at <= SystemTime::now() + ttl + slack, "{at:?}");
}

#[tokio::test]
async fn the_simulator_ends_an_idle_session_and_a_keep_alive_extends_it() {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../auth-spec/tests/valid/idle_session.yaml");
    let yaml = std::fs::read_to_string(file)
        .expect("fixture")
        .replace("idle_timeout: 15m", "idle_timeout: 2s");
    let spec = parse(&yaml);
    let mock = MockServer::start(Arc::clone(&spec), MockOptions::default())
        .await
        .expect("starts");
    let key = mock.credential_env()[0].1.clone();
    let base = mock.base_url();
    let http = reqwest::Client::new();
    let login = || async {
        login_answer(&mock, "/session", serde_json::json!({ "key": key })).await["session_id"]
            .as_str()
            .expect("id")
            .to_owned()
    };
    let api = |id: String| {
        let request = http
            .get(format!("{base}{}", auth_mock::PROTECTED_PATH))
            .header("X-Session-Id", id);
        async move { request.send().await.expect("sent").status().as_u16() }
    };
    let ping = |id: String| {
        let request = http
            .post(format!("{base}/session/ping"))
            .header("X-Session-Id", id);
        async move { request.send().await.expect("sent").status().as_u16() }
    };
    // Idle longer than the timeout: the session is over.
    let first = login().await;
    assert_eq!(api(first.clone()).await, 200);
    tokio::time::sleep(Duration::from_millis(2600)).await;
    assert_eq!(api(first.clone()).await, 401);
    assert_eq!(
        ping(first).await,
        401,
        "an ended session cannot be kept alive"
    );
    assert_eq!(mock.stats().idle_ended, 1);
    // A keep-alive within the timeout restarts it: 2.4 s after the login, 1.2 s after the ping.
    let second = login().await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(ping(second.clone()).await, 200);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(api(second).await, 200);
    let stats = mock.stats();
    assert_eq!((stats.keep_alives, stats.idle_ended), (1, 1));
}
