//! A request body that is not a mapping (issue 9, item 13), through `auth-cli --specs DIR` with a
//! spec written only here, against a vendor written from its (invented) "Session API" page:
//!
//! > `POST /session` with `{"api_key": "..."}` answers `{"token", "refresh_token", "expires_in"}`.
//! > To renew, `POST /session/renew` with the refresh token as a JSON string body (the body is
//! > `"<refresh token>"`, quotes included). An API call with an expired token answers 401.
//! > `POST /session/revoke` with a JSON array of the tokens to revoke ends the session.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use wiremock::matchers::{body_string, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SPEC: &str = r#"title: Session API
environments:
  production: { base_url: https://api.session.example }
default_environment: production
credentials:
  api_key: { env: SESSION_API_KEY }
login:
  method: POST
  path: /session
  encoding: json
  body: { api_key: "${credentials.api_key}" }
  response:
    access_token: $.token
    refresh_token: $.refresh_token
    access_token_expiry:
      - expires_in: { path: $.expires_in }
    refresh_token_expiry: []
    examples:
      - body: { token: at-1, refresh_token: rt-1, expires_in: 900 }
refresh:
  method: POST
  path: /session/renew
  encoding: json
  body: ${session.refresh_token}
  response:
    access_token: $.token
    refresh_token: $.refresh_token
    access_token_expiry:
      - expires_in: { path: $.expires_in }
    refresh_token_expiry: []
    examples:
      - body: { token: at-2, refresh_token: rt-2, expires_in: 900 }
logout:
  method: POST
  path: /session/revoke
  encoding: json
  body: [ "${session.access_token}", "${session.refresh_token}" ]
policy:
  refresh: after_expiry
  rotation: rotates
usage:
  headers:
    Authorization: Bearer ${session.access_token}
  expired:
    status: [401]
"#;

fn workspace() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir =
        std::env::temp_dir().join(format!("auth-cli-bare-body-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(dir.join("specs")).expect("dir");
    std::fs::write(dir.join("specs/session_api.yaml"), SPEC).expect("spec");
    dir
}

fn cli(dir: &Path, server: &MockServer) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_auth-cli"));
    command
        .env_clear()
        .env("SESSION_API_KEY", "key-0c1d")
        .arg("--specs")
        .arg(dir.join("specs"))
        .arg("--store")
        .arg(dir.join("sessions.json"))
        .arg("--base-url")
        .arg(server.uri())
        .stdin(Stdio::null());
    command
}

async fn bodies(server: &MockServer, at: &str) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == at)
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_renewal_sends_the_refresh_token_as_a_json_string() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/session"))
        .and(body_string(r#"{"api_key":"key-0c1d"}"#))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"token": "at-1", "refresh_token": "rt-1", "expires_in": 900}),
        ))
        .mount(&server)
        .await;
    // Only the page's body shape is answered; anything else falls through to a 404.
    Mock::given(method("POST"))
        .and(path("/session/renew"))
        .and(header("content-type", "application/json"))
        .and(body_string(r#""rt-1""#))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"token": "at-2", "refresh_token": "rt-2", "expires_in": 900}),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/api/me"))
        .and(header("authorization", "Bearer at-2"))
        .respond_with(ResponseTemplate::new(200).set_body_string("me"))
        .mount(&server)
        .await;
    // The first token is dead at the vendor before its stated lifetime.
    Mock::given(path("/api/me"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/session/revoke"))
        .and(body_string(r#"["at-2","rt-2"]"#))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let dir = workspace();
    let out = tokio::task::spawn_blocking({
        let mut command = cli(&dir, &server);
        command.args(["request", "session_api", "GET", "/api/me"]);
        move || command.output().expect("runs")
    })
    .await
    .expect("join");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), "me");
    assert_eq!(bodies(&server, "/session/renew").await, [r#""rt-1""#]);

    let out = tokio::task::spawn_blocking({
        let mut command = cli(&dir, &server);
        command.args(["logout", "session_api"]);
        move || command.output().expect("runs")
    })
    .await
    .expect("join");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        bodies(&server, "/session/revoke").await,
        [r#"["at-2","rt-2"]"#]
    );
}
