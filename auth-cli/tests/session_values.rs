//! Several session values through the command line (issue 9, item 2): a provider that exists only
//! as a YAML file in a `--specs` folder, against a vendor played by wiremock from this invented
//! page:
//!
//! > `POST /api/login` with `{"user": "...", "password": "..."}` answers with two headers,
//! > `X-Session` and `X-Account-Token`, and `{"ttl": 1800}`. Send both headers on every call.
//! > Near the end of a session an answer may carry a new `X-Account-Token`; from then on only
//! > the new one works.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const YAML: &str = r#"title: Two Tokens
environments:
  production: {}
default_environment: production
credentials:
  user: { secret: false }
  password: {}
login:
  method: POST
  path: /api/login
  encoding: json
  body: { user: "${credentials.user}", password: "${credentials.password}" }
  response:
    access_token: "@header:X-Session"
    values:
      account_token: "@header:X-Account-Token"
    access_token_expiry:
      - expires_in: { path: $.ttl }
    examples:
      - headers: { X-Session: s-1, X-Account-Token: a-1 }
        body: { ttl: 1800 }
policy:
  refresh: after_expiry
usage:
  headers:
    X-Session: ${session.access_token}
    X-Account-Token: ${session.account_token}
  renewed_by_answers:
    account_token: "@header:X-Account-Token"
"#;

fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("auth-cli-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(dir.join("specs")).expect("temp dir");
    dir
}

/// `auth-cli --specs DIR/specs` with a clean environment and its own session file.
fn cli(dir: &Path, base: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_auth-cli"));
    command
        .env_clear()
        .env("TWO_TOKENS_USER", "ann")
        .env("TWO_TOKENS_PASSWORD", "pw")
        .arg("--store")
        .arg(dir.join("sessions.json"))
        .arg("--specs")
        .arg(dir.join("specs"))
        .args(["--base-url", base])
        .stdin(Stdio::null());
    command
}

/// The API: accepts the live account token, and renews it once on the first call.
struct Api {
    live: Mutex<String>,
    renewed: Mutex<bool>,
}

impl Respond for Api {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let got = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
        let mut live = self.live.lock().expect("live");
        if got("x-session") != Some("sess-1") || got("x-account-token") != Some(live.as_str()) {
            return ResponseTemplate::new(401).set_body_string("missing or stale token");
        }
        let mut renewed = self.renewed.lock().expect("renewed");
        if *renewed {
            return ResponseTemplate::new(200).set_body_string(format!("ok {live}"));
        }
        *renewed = true;
        *live = "acct-2".into();
        ResponseTemplate::new(200)
            .insert_header("X-Account-Token", "acct-2")
            .set_body_string("ok acct-1")
    }
}

#[tokio::test]
async fn header_and_request_send_both_tokens_and_a_renewed_one_reaches_the_next_process() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/login"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("X-Session", "sess-1")
                .insert_header("X-Account-Token", "acct-1")
                .set_body_json(serde_json::json!({"ttl": 1800})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/api/things"))
        .respond_with(Api {
            live: Mutex::new("acct-1".into()),
            renewed: Mutex::new(false),
        })
        .mount(&server)
        .await;
    let dir = temp_dir("session-values");
    std::fs::write(dir.join("specs/two_tokens.yaml"), YAML).expect("write");
    let base = server.uri();

    let out = cli(&dir, &base)
        .args(["header", "two_tokens"])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("X-Session: sess-1"), "{stdout}");
    assert!(stdout.contains("X-Account-Token: acct-1"), "{stdout}");

    // The first call is answered with a renewed account token; the next process sends it.
    for expected in ["ok acct-1", "ok acct-2"] {
        let out = cli(&dir, &base)
            .args(["request", "two_tokens", "/api/things"])
            .output()
            .expect("runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), expected);
    }
    let out = cli(&dir, &base)
        .args(["header", "two_tokens"])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("X-Account-Token: acct-2"), "{stdout}");
}

#[test]
fn an_undeclared_session_value_is_reported_at_its_placeholder() {
    let dir = temp_dir("session-values-bad");
    let bad = YAML.replace(
        "X-Account-Token: ${session.account_token}",
        "X-Account-Token: ${session.acount_token}",
    );
    std::fs::write(dir.join("specs/two_tokens.yaml"), bad).expect("write");
    let out = cli(&dir, "https://example.invalid")
        .arg("validate")
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Line 27 `    X-Account-Token: ${...`: the placeholder starts at column 22.
    assert!(
        stderr.contains("two_tokens.yaml:27:22")
            && stderr.contains("unknown session value `acount_token`"),
        "{stderr}"
    );
}
