//! API answers judged by their body, through the command line (issue 9, item 1): a provider
//! that exists only as a YAML file in a `--specs` folder, against a vendor played by wiremock
//! from this invented page:
//!
//! > Every answer is HTTP 200 with `{"result": {"code": N, "text": "..."}}`; the call succeeded
//! > when `code` is 0. `POST /auth/login` with `{"key": "..."}` answers with `session`, sent as
//! > `X-Session`. Code 12 means your session has ended: log in again. Any other code means the
//! > call failed; `text` says why.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const YAML: &str = r#"title: Envelope API
environments:
  production: {}
default_environment: production
credentials:
  api_key: {}
login:
  method: POST
  path: /auth/login
  encoding: json
  body: { key: "${credentials.api_key}" }
  response:
    access_token: $.session
    access_token_expiry: []
    examples:
      - body: { result: { code: 0, text: OK }, session: s-1 }
policy:
  refresh: after_expiry
usage:
  headers:
    X-Session: ${session.access_token}
  expired: { status: [401] }
  failures:
    - when: { path: $.result.code, equals: 12 }
      means: session_over
    - when: { path: $.result.code, not_equals: 0 }
      means: error
      code: $.result.code
      message: $.result.text
"#;

struct Login(Arc<AtomicU32>);

impl Respond for Login {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"result": {"code": 0, "text": "OK"}, "session": format!("s-{n}")}),
        )
    }
}

fn temp_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "auth-cli-api-failures-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(dir.join("specs")).expect("temp dir");
    std::fs::write(dir.join("specs/envelope.yaml"), YAML).expect("write");
    dir
}

fn cli(dir: &Path, base_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_auth-cli"))
        .env_clear()
        .env("ENVELOPE_API_KEY", "key-secret")
        .arg("--store")
        .arg(dir.join("sessions.json"))
        .arg("--specs")
        .arg(dir.join("specs"))
        .arg("--base-url")
        .arg(base_url)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("runs")
}

#[tokio::test]
async fn a_session_over_envelope_logs_in_again_and_an_error_envelope_exits_5() {
    let server = MockServer::start().await;
    let logins = Arc::new(AtomicU32::new(0));
    Mock::given(method("POST"))
        .and(path("/auth/login"))
        .respond_with(Login(Arc::clone(&logins)))
        .mount(&server)
        .await;
    // The first session has ended at the vendor.
    Mock::given(method("GET"))
        .and(path("/accounts"))
        .and(header("x-session", "s-1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"result": {"code": 12, "text": "Session ended"}}),
            ),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/accounts"))
        .and(header("x-session", "s-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"result": {"code": 0, "text": "OK"}, "accounts": ["a-1"]}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/payments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"result": {"code": 7, "text": "Payments are not enabled"}}),
        ))
        .mount(&server)
        .await;
    let uri = server.uri();
    let dir = temp_dir();
    assert!(cli(&dir, &uri, &["validate"]).status.success());

    let out = cli(&dir, &uri, &["request", "envelope", "/accounts"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("a-1"), "the replay's answer: {stdout}");
    assert_eq!(logins.load(Ordering::SeqCst), 2, "one login more");

    // A 200 whose body says the call failed: exit 5, the body printed, the vendor's words shown.
    let out = cli(&dir, &uri, &["request", "envelope", "/payments"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(stdout.contains("Payments are not enabled"), "{stdout}");
    assert!(
        stderr.contains(
            "the API answered HTTP 200, but the vendor says code 7: Payments are not enabled"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("key-secret") && !stderr.contains("s-2"));
    assert_eq!(logins.load(Ordering::SeqCst), 2, "an error costs no login");
    let _ = std::fs::remove_dir_all(dir);
}
