//! Optional credentials and credential sets through the command line (issue 9, item 5): a
//! provider that exists only as a YAML file in a `--specs` folder, against a vendor played by
//! wiremock from this invented page:
//!
//! > `POST /v1/login` (JSON): either `email` and `password`, or `username` and `password` with
//! > the tenant id in the `X-Tenant` header. Add `?otp=CODE` only with two-factor authentication.
//! > Answers `{"token": "...", "expires_in": 3600}`; anything else is 400.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use wiremock::matchers::{body_json, header, method, path, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const YAML: &str = r#"title: Acme Accounts
environments:
  production: {}
default_environment: production
credentials:
  email: { secret: false, env: ACME_EMAIL }
  username: { secret: false, env: ACME_USERNAME }
  tenant_id: { secret: false, env: ACME_TENANT_ID }
  password: { env: ACME_PASSWORD }
  otp: { required: false, env: ACME_OTP }
credential_sets:
  - [email, password]
  - [username, password, tenant_id]
login:
  method: POST
  path: /v1/login
  encoding: json
  headers:
    X-Tenant: ${credentials.tenant_id}
  query:
    otp: ${credentials.otp}
  body:
    email: ${credentials.email}
    username: ${credentials.username}
    password: ${credentials.password}
  response:
    access_token: $.token
    access_token_expiry:
      - expires_in: { path: $.expires_in }
    examples:
      - body: { token: abc, expires_in: 3600 }
policy:
  refresh: after_expiry
usage:
  headers:
    Authorization: Bearer ${session.access_token}
"#;

fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("auth-cli-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(dir.join("specs")).expect("temp dir");
    std::fs::write(dir.join("specs/acme.yaml"), YAML).expect("write");
    dir
}

fn cli(dir: &Path, vendor: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_auth-cli"));
    command
        .env_clear()
        .arg("--store")
        .arg(dir.join("sessions.json"))
        .arg("--specs")
        .arg(dir.join("specs"))
        .arg("--base-url")
        .arg(vendor)
        .stdin(Stdio::null());
    command
}

#[tokio::test]
async fn the_second_set_logs_in_and_the_first_sets_fields_are_left_out() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/login"))
        .and(header("X-Tenant", "t-9"))
        .and(query_param_is_missing("otp"))
        .and(body_json(
            serde_json::json!({"username": "ann", "password": "pw"}),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"token": "tenant-token", "expires_in": 3600})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let dir = temp_dir("optional");
    let validate = cli(&dir, &server.uri())
        .arg("validate")
        .output()
        .expect("runs");
    assert!(
        validate.status.success(),
        "{}",
        String::from_utf8_lossy(&validate.stderr)
    );
    let out = cli(&dir, &server.uri())
        .env("ACME_USERNAME", "ann")
        .env("ACME_TENANT_ID", "t-9")
        .env("ACME_PASSWORD", "pw")
        .args(["token", "acme"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "tenant-token");
}

#[tokio::test]
async fn no_complete_set_is_exit_2_naming_the_sets_and_their_variables() {
    let server = MockServer::start().await;
    let dir = temp_dir("optional-none");
    let out = cli(&dir, &server.uri())
        .env("ACME_USERNAME", "ann")
        .env("ACME_PASSWORD", "secret-pw")
        .args(["token", "acme"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("[email, password] lacks ACME_EMAIL")
            && stderr.contains("[username, password, tenant_id] lacks ACME_TENANT_ID"),
        "{stderr}"
    );
    assert!(!stderr.contains("secret-pw"), "{stderr}");
    assert!(
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}
