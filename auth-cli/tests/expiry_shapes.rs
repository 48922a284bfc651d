//! More expiry shapes (issue 9, item 9) through the command line: providers that exist only as
//! YAML files in a `--specs` folder made here, against vendors played by wiremock from the
//! invented pages quoted above each test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn temp_dir(name: &str, file: &str, yaml: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("auth-cli-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(dir.join("specs")).expect("temp dir");
    std::fs::write(dir.join("specs").join(file), yaml).expect("spec");
    dir
}

/// `auth-cli --specs DIR/specs` with a clean environment, its own session file and the vendor.
fn cli(dir: &Path, server: &MockServer, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_auth-cli"))
        .env_clear()
        .env("SHAPES_API_KEY", "key-1")
        .arg("--store")
        .arg(dir.join("sessions.json"))
        .arg("--specs")
        .arg(dir.join("specs"))
        .args(["--base-url", &server.uri()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("runs")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const HOURS_ONLY: &str = r#"title: Shapes
environments:
  production: {}
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
      - expires_at: { path: $.valid_until, format: pattern, pattern: "%Y-%m-%d %H:%M:%S%z" }
    examples:
      - body: { token: t, valid_until: "2026-05-01 10:00:00+00" }
policy:
  refresh: after_expiry
usage:
  headers:
    Authorization: Bearer ${session.access_token}
"#;

/// > `POST /login` answers `{"token": "...", "valid_until": "2030-05-01 07:00:00-03"}`: the
/// > end of the token's life in our São Paulo database's format (offset in hours).
#[tokio::test]
async fn an_hours_only_offset_is_read_as_the_instant_it_names() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/login"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"token": "tok-1", "valid_until": "2030-05-01 07:00:00-03"}),
        ))
        .mount(&server)
        .await;
    let dir = temp_dir("expiry-hours", "shapes.yaml", HOURS_ONLY);
    ok(&cli(&dir, &server, &["validate"]));
    assert_eq!(
        ok(&cli(&dir, &server, &["token", "shapes"])).trim(),
        "tok-1"
    );
    let status: serde_json::Value = serde_json::from_str(&ok(&cli(
        &dir,
        &server,
        &["--format", "json", "status", "shapes"],
    )))
    .expect("json");
    assert_eq!(
        status["session"]["access_expires_at"], "2030-05-01T10:00:00Z",
        "{status}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

const ALTERNATIVES: &str = r#"title: Shapes
environments:
  production: {}
default_environment: production
credentials:
  api_key: {}
login:
  method: POST
  path: /login
  encoding: json
  body: { key: "${credentials.api_key}" }
  response:
    access_token: [$.data.token, $.token]
    access_token_expiry:
      - expires_in: { path: [$.data.ttl, $.expires_in] }
    examples:
      - body: { data: { token: t, ttl: 900 } }
      - body: { token: t, expires_in: 900 }
policy:
  refresh: after_expiry
usage:
  headers:
    Authorization: Bearer ${session.access_token}
"#;

/// > Since API 2.0 the login answers `{"data": {"token": "...", "ttl": 900}}`; accounts not yet
/// > migrated still get the 1.x answer `{"token": "...", "expires_in": 900}`.
#[tokio::test]
async fn a_not_yet_migrated_account_gets_its_token_from_the_second_alternative() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/login"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"token": "tok-1x", "expires_in": 900})),
        )
        .mount(&server)
        .await;
    let dir = temp_dir("expiry-alternatives", "shapes.yaml", ALTERNATIVES);
    ok(&cli(&dir, &server, &["validate"]));
    assert_eq!(
        ok(&cli(&dir, &server, &["token", "shapes"])).trim(),
        "tok-1x"
    );
    // A bad alternative is reported at its own place (line 13, column 34).
    std::fs::write(
        dir.join("specs/shapes.yaml"),
        ALTERNATIVES.replace("[$.data.token, $.token]", "[$.data.token, $..token]"),
    )
    .expect("spec");
    let out = cli(&dir, &server, &["validate"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("shapes.yaml:13:34") && stderr.contains("`$..token` is not a valid path"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

const CHOSEN: &str = r#"title: Shapes
environments:
  production: {}
default_environment: production
credentials:
  api_key: {}
lifetimes:
  session: 45m
login:
  method: POST
  path: /sessions
  encoding: json
  body:
    key: ${credentials.api_key}
    session_length: ${lifetime.session.minutes}
  response:
    access_token: $.session
    access_token_expiry:
      - requested: session
    examples:
      - body: { session: s }
policy:
  refresh: after_expiry
usage:
  headers:
    X-Session: ${session.access_token}
"#;

fn seconds(value: &serde_json::Value) -> i64 {
    value
        .as_str()
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .map(|t| t.as_second())
        .expect("a time")
}

/// > `POST /sessions` with `{"key": "...", "session_length": N}` (minutes, a number) answers
/// > `{"session": "..."}`; the session lasts the N minutes asked for.
#[tokio::test]
async fn the_lifetime_sent_in_the_login_is_the_sessions_lifetime() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/sessions"))
        .and(wiremock::matchers::body_json(
            serde_json::json!({"key": "key-1", "session_length": 45}),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"session": "s-45"})),
        )
        .mount(&server)
        .await;
    let dir = temp_dir("expiry-chosen", "shapes.yaml", CHOSEN);
    ok(&cli(&dir, &server, &["validate"]));
    assert_eq!(ok(&cli(&dir, &server, &["token", "shapes"])).trim(), "s-45");
    let status: serde_json::Value = serde_json::from_str(&ok(&cli(
        &dir,
        &server,
        &["--format", "json", "status", "shapes"],
    )))
    .expect("json");
    let session = &status["session"];
    assert_eq!(
        seconds(&session["access_expires_at"]) - seconds(&session["issued_at"]),
        45 * 60,
        "{status}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

const DRIFTING: &str = r#"title: Shapes
environments:
  production: {}
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
      - expires_at: { path: $.valid_until, format: epoch_seconds }
    examples:
      - body: { token: t, valid_until: 1777630500, server_time: 1777629600 }
policy:
  refresh: after_expiry
  server_time: { path: $.server_time, format: epoch_seconds }
usage:
  headers:
    Authorization: Bearer ${session.access_token}
"#;

/// > The answer's `valid_until` and `server_time` are epoch seconds by our server's clock,
/// > which may be an hour off; a token lasts 15 minutes from `server_time`.
#[tokio::test]
async fn a_vendor_clock_an_hour_ahead_does_not_add_an_hour_to_the_token() {
    let server = MockServer::start().await;
    let vendor_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
        + 3600;
    Mock::given(method("POST"))
        .and(path("/login"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token": "tok-drift",
            "valid_until": vendor_now + 900,
            "server_time": vendor_now,
        })))
        .mount(&server)
        .await;
    let dir = temp_dir("expiry-skew", "shapes.yaml", DRIFTING);
    ok(&cli(&dir, &server, &["validate"]));
    assert_eq!(
        ok(&cli(&dir, &server, &["token", "shapes"])).trim(),
        "tok-drift"
    );
    let status: serde_json::Value = serde_json::from_str(&ok(&cli(
        &dir,
        &server,
        &["--format", "json", "status", "shapes"],
    )))
    .expect("json");
    let session = &status["session"];
    let lifetime = seconds(&session["access_expires_at"]) - seconds(&session["issued_at"]);
    // 15 minutes, not 75; a generous guard for the seconds between the two clocks' readings.
    assert!((890..=910).contains(&lifetime), "{lifetime} s: {status}");
    let _ = std::fs::remove_dir_all(dir);
}

const IDLE: &str = r#"title: Shapes
environments:
  production: {}
default_environment: production
credentials:
  api_key: {}
login:
  method: POST
  path: /session
  encoding: json
  body: { key: "${credentials.api_key}" }
  response:
    access_token: $.session_id
    access_token_expiry: []
    examples:
      - body: { session_id: s }
keep_alive:
  method: POST
  path: /session/ping
  headers:
    X-Session-Id: ${session.access_token}
policy:
  refresh: after_expiry
  idle_timeout: 8s
usage:
  headers:
    X-Session-Id: ${session.access_token}
  expired: { status: [401] }
"#;

/// > A session ends after 8 seconds without a call; any call restarts the time, and so does
/// > `POST /session/ping`.
///
/// Processes sharing a session file agree on the last use: a second process records it, and a
/// third, later than the idle end counted from the login but not from that use, keeps the
/// session instead of logging in again. (Generous waits; nothing is timed.)
#[tokio::test]
async fn processes_sharing_a_store_agree_on_an_idle_sessions_last_use() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/session"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"session_id": "s-idle"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/session/ping"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let dir = temp_dir("expiry-idle", "shapes.yaml", IDLE);
    ok(&cli(&dir, &server, &["validate"]));
    let logged_in = std::time::Instant::now();
    assert_eq!(
        ok(&cli(&dir, &server, &["token", "shapes"])).trim(),
        "s-idle"
    );
    let stored = std::fs::read_to_string(dir.join("sessions.json")).expect("store");
    assert!(!stored.contains("last_used_ms"), "a login is its own use");
    // Past a quarter of the timeout: the next process records its use.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        ok(&cli(&dir, &server, &["token", "shapes"])).trim(),
        "s-idle"
    );
    let stored = std::fs::read_to_string(dir.join("sessions.json")).expect("store");
    assert!(stored.contains("last_used_ms"), "{}", stored.len());
    // Past 8 s (less the 0.8 s slack) from the login, not from the recorded use.
    tokio::time::sleep(Duration::from_millis(7600).saturating_sub(logged_in.elapsed())).await;
    assert_eq!(
        ok(&cli(&dir, &server, &["token", "shapes"])).trim(),
        "s-idle"
    );
    let logins = server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/session")
        .count();
    assert_eq!(logins, 1, "the session was alive by its recorded use");
    let _ = std::fs::remove_dir_all(dir);
}
