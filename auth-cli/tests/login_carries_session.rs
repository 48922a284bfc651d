//! A login that carries the previous session, through the command line (issue 9, item 10): a
//! provider that exists only as a YAML file in a `--specs` folder, against a vendor played by
//! wiremock from this invented page:
//!
//! > **One session per user.** `POST /session` with `{"user": "...", "password": "..."}` answers
//! > `{"token": "...", "session_id": "...", "expires_in": 900}`. A login ends your previous
//! > session when it names it: its token as `previous_token` in the body, its id in the
//! > `X-Previous-Session` header; omit both on your first login. `GET /api/me` answers 401 to a
//! > token whose session has ended.
//!
//! The first process logs in; the second finds the stored session refused by the API, and logs in
//! again carrying it (read back from the session file, id included).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const YAML: &str = r#"title: Single Session
environments:
  production: {}
default_environment: production
credentials:
  user: { secret: false }
  password: {}
login:
  method: POST
  path: /session
  encoding: json
  headers:
    X-Previous-Session: ${response.session_id}
  body:
    user: ${credentials.user}
    password: ${credentials.password}
    previous_token: ${session.access_token}
  response:
    access_token: $.token
    access_token_expiry:
      - expires_in: { path: $.expires_in }
    examples:
      - body: { token: abc, session_id: s-1, expires_in: 900 }
policy:
  refresh: after_expiry
usage:
  headers:
    Authorization: Bearer ${session.access_token}
  expired: { status: [401] }
"#;

/// Each login's body and `X-Previous-Session` header.
type Logins = Arc<Mutex<Vec<(serde_json::Value, Option<String>)>>>;

struct Login(Logins);

impl Respond for Login {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body = serde_json::from_slice(&request.body).unwrap_or(serde_json::Value::Null);
        let previous = request
            .headers
            .get("x-previous-session")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut logins = self.0.lock().expect("logins");
        logins.push((body, previous));
        let n = logins.len();
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "token": format!("token-{n}"), "session_id": format!("s-{n}"), "expires_in": 900
        }))
    }
}

/// The API: only the latest session's token is accepted.
struct Api(Logins);

impl Respond for Api {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let latest = format!("Bearer token-{}", self.0.lock().expect("logins").len());
        let sent = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if sent == Some(latest.as_str()) {
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"me": "ann"}))
        } else {
            ResponseTemplate::new(401)
        }
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("auth-cli-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(dir.join("specs")).expect("temp dir");
    dir
}

/// `auth-cli --specs DIR/specs` with the vendor's credentials and its own session file.
fn cli(dir: &Path, base_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_auth-cli"));
    command
        .env_clear()
        .env("SINGLE_USER", "ann")
        .env("SINGLE_PASSWORD", "pw")
        .arg("--store")
        .arg(dir.join("sessions.json"))
        .arg("--specs")
        .arg(dir.join("specs"))
        .args(["--base-url", base_url])
        .stdin(Stdio::null());
    command
}

#[tokio::test]
async fn a_second_process_logs_in_carrying_the_stored_session() {
    let server = MockServer::start().await;
    let logins: Logins = Arc::default();
    Mock::given(method("POST"))
        .and(path("/session"))
        .respond_with(Login(Arc::clone(&logins)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/me"))
        .respond_with(Api(Arc::clone(&logins)))
        .mount(&server)
        .await;
    let dir = temp_dir("login-carries-session");
    std::fs::write(dir.join("specs/single.yaml"), YAML).expect("write");

    let out = cli(&dir, &server.uri())
        .args(["token", "single"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "token-1");

    // Another login happened elsewhere (the vendor now knows a newer session): the stored token
    // is refused, and this process logs in again carrying it.
    logins
        .lock()
        .expect("logins")
        .push((serde_json::Value::Null, None));
    let out = cli(&dir, &server.uri())
        .args(["request", "single", "/api/me"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ann"));

    let logins = logins.lock().expect("logins");
    assert_eq!(logins.len(), 3);
    assert_eq!(
        logins[0].0,
        serde_json::json!({"user": "ann", "password": "pw"}),
        "the first login has no previous session: the field is left out"
    );
    assert_eq!(logins[0].1, None);
    assert_eq!(
        logins[2].0,
        serde_json::json!({"user": "ann", "password": "pw", "previous_token": "token-1"})
    );
    assert_eq!(
        logins[2].1.as_deref(),
        Some("s-1"),
        "the session id was kept in the session file"
    );
}
