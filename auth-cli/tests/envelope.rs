//! A vendor that says "credentials rejected" in a 200 envelope (issue 9, item 1), through
//! `auth-cli` with a spec given only in the test's `--specs` folder. The vendor's invented page:
//! "every answer is HTTP 200 with `{"result": {"code": N, "text": "..."}}`; only code 0 is
//! success; code 7 means the API key is wrong."

use std::process::Command;

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SPEC: &str = r#"title: Envelope
environments:
  local: { base_url: "http://127.0.0.1:9" }
default_environment: local
credentials:
  api_key: { env: ENVELOPE_KEY }
login:
  method: POST
  path: /auth/login
  encoding: json
  body: { key: "${credentials.api_key}" }
  failures:
    - when: { path: $.result.code, not_equals: 0 }
      means: credentials_rejected
      code: $.result.code
      message: $.result.text
  response:
    access_token: $.data.token
    access_token_expiry:
      - expires_in: { path: $.data.ttl }
    examples:
      - body: { result: { code: 0, text: OK }, data: { token: tok-1, ttl: 600 } }
policy:
  refresh: after_expiry
usage:
  headers:
    Authorization: Bearer ${session.access_token}
  expired: { status: [401] }
"#;

#[tokio::test]
async fn a_rejection_in_a_200_envelope_exits_3_with_the_vendors_code() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth/login"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"result": {"code": 7, "text": "Invalid API key"}}),
            ),
        )
        .mount(&server)
        .await;
    let dir = std::env::temp_dir().join(format!("auth-cli-envelope-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("specs")).expect("dir");
    std::fs::write(dir.join("specs/envelope.yaml"), SPEC).expect("spec");
    let out = Command::new(env!("CARGO_BIN_EXE_auth-cli"))
        .env_clear()
        .env("ENVELOPE_KEY", "my-secret-key")
        .arg("--specs")
        .arg(dir.join("specs"))
        .arg("--store")
        .arg(dir.join("sessions.json"))
        .args(["--base-url", &server.uri(), "token", "envelope"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(stderr.contains("code 7: Invalid API key"), "{stderr}");
    assert!(!stderr.contains("my-secret-key"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}
