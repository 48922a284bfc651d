//! Login budgets through the command line (issue 9, item 8): a provider that exists only as a
//! YAML file in a `--specs` folder, against a vendor played by wiremock from this invented page:
//!
//! > `POST /oauth/token` with the form fields `grant_type=client_credentials`, `client_id` and
//! > `client_secret` answers `{"access_token": "...", "expires_in": 300}`. A client may make at
//! > most 5 token requests per hour; the 6th request within an hour is answered `429` and blocks
//! > the client for a day. Wait 2 seconds between two token requests.
//!
//! Eight `auth-cli` processes share one session file; the budget is counted there, so together
//! they never send a sixth request.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn yaml(policy: &str) -> String {
    format!(
        r#"title: Budget Bank
environments:
  production: {{}}
default_environment: production
credentials:
  client_id: {{ secret: false }}
  client_secret: {{}}
login:
  method: POST
  path: /oauth/token
  encoding: form
  body:
    grant_type: client_credentials
    client_id: ${{credentials.client_id}}
    client_secret: ${{credentials.client_secret}}
  response:
    access_token: $.access_token
    access_token_expiry:
      - expires_in: {{ path: $.expires_in }}
    examples:
      - body: {{ access_token: abc, expires_in: 300 }}
policy:
  refresh: after_expiry
{policy}
usage:
  headers:
    Authorization: Bearer ${{session.access_token}}
"#
    )
}

/// Counts requests and refuses past the 5th, as the page says.
struct Vendor {
    requests: Arc<AtomicU32>,
    refused: Arc<AtomicU32>,
}

impl Respond for Vendor {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        let n = self.requests.fetch_add(1, Ordering::SeqCst) + 1;
        if n > 5 {
            self.refused.fetch_add(1, Ordering::SeqCst);
            return ResponseTemplate::new(429);
        }
        ResponseTemplate::new(200)
            .set_body_json(serde_json::json!({"access_token": format!("t-{n}"), "expires_in": 300}))
    }
}

async fn vendor() -> (MockServer, Arc<AtomicU32>, Arc<AtomicU32>) {
    let server = MockServer::start().await;
    let requests = Arc::new(AtomicU32::new(0));
    let refused = Arc::new(AtomicU32::new(0));
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(Vendor {
            requests: Arc::clone(&requests),
            refused: Arc::clone(&refused),
        })
        .mount(&server)
        .await;
    (server, requests, refused)
}

fn temp_dir(name: &str, yaml: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("auth-cli-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(dir.join("specs")).expect("temp dir");
    std::fs::write(dir.join("specs/budget.yaml"), yaml).expect("write");
    dir
}

/// `auth-cli --specs DIR/specs --base-url URL` with a clean environment and a shared store.
fn cli(dir: &Path, base_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_auth-cli"));
    command
        .env_clear()
        .env("BUDGET_CLIENT_ID", "app")
        .env("BUDGET_CLIENT_SECRET", "s3cret-value")
        .arg("--store")
        .arg(dir.join("sessions.json"))
        .arg("--specs")
        .arg(dir.join("specs"))
        .arg("--base-url")
        .arg(base_url)
        .stdin(Stdio::null());
    command
}

fn run(command: &mut Command) -> Output {
    command.output().expect("runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A `token` that may not log in: exit 6, saying when the next login is allowed, no secret.
fn assert_not_allowed_yet(out: &Output, rule: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(6), "{err}");
    assert!(err.contains(rule), "{err}");
    assert!(err.contains("the next login is allowed at 20"), "{err}");
    assert!(!err.contains("s3cret-value"), "{err}");
    assert!(out.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_processes_on_one_store_never_exceed_the_budget() {
    let (server, requests, refused) = vendor().await;
    let dir = temp_dir(
        "login-budget",
        &yaml("  # \"at most 5 token requests per hour\"\n  login_limit: { requests: 5, per: 1h }"),
    );
    let validate = run(cli(&dir, &server.uri()).arg("validate"));
    assert!(validate.status.success(), "{}", stderr(&validate));

    // Each process logs in (or reads a session another stored), then logs out, three times.
    let uri = server.uri();
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (dir, uri) = (dir.clone(), uri.clone());
        workers.push(std::thread::spawn(move || {
            let mut outs = Vec::new();
            for _ in 0..3 {
                outs.push(run(cli(&dir, &uri).args(["token", "budget"])));
                run(cli(&dir, &uri).args(["logout", "budget"]));
            }
            outs
        }));
    }
    let outs: Vec<Output> = workers
        .into_iter()
        .flat_map(|w| w.join().expect("worker"))
        .collect();
    assert!(requests.load(Ordering::SeqCst) <= 5, "never a 6th request");
    for out in &outs {
        match out.status.code() {
            Some(0) => assert!(String::from_utf8_lossy(&out.stdout).starts_with("t-")),
            _ => assert_not_allowed_yet(out, "the vendor allows 5 logins per 1h"),
        }
    }
    // Whatever the interleaving, one process at a time reaches the end of the budget.
    let mut last = None;
    for _ in 0..6 {
        let out = run(cli(&dir, &uri).args(["token", "budget"]));
        run(cli(&dir, &uri).args(["logout", "budget"]));
        if out.status.code() != Some(0) {
            last = Some(out);
            break;
        }
    }
    let last = last.expect("the budget ends within 5 more logins");
    assert_not_allowed_yet(&last, "the vendor allows 5 logins per 1h");
    assert_eq!(
        requests.load(Ordering::SeqCst),
        5,
        "exactly the budget was used"
    );
    assert_eq!(
        refused.load(Ordering::SeqCst),
        0,
        "the vendor never had to refuse"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_long_interval_says_when_and_a_short_one_waits() {
    let (server, requests, _) = vendor().await;
    let uri = server.uri();
    let dir = temp_dir("login-interval", &yaml("  min_login_interval: 1h"));
    assert!(
        run(cli(&dir, &uri).args(["token", "budget"]))
            .status
            .success()
    );
    run(cli(&dir, &uri).args(["logout", "budget"]));
    let out = run(cli(&dir, &uri).args(["token", "budget"]));
    assert_not_allowed_yet(&out, "the vendor allows a login every 1h");
    assert_eq!(requests.load(Ordering::SeqCst), 1);

    // "Wait 2 seconds between two token requests": within --max-login-wait, the CLI waits.
    let dir = temp_dir("login-spacing", &yaml("  min_login_interval: 2s"));
    assert!(
        run(cli(&dir, &uri).args(["token", "budget"]))
            .status
            .success()
    );
    run(cli(&dir, &uri).args(["logout", "budget"]));
    let out = run(cli(&dir, &uri).args(["--max-login-wait", "5s", "token", "budget"]));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(requests.load(Ordering::SeqCst), 3);
    let out = run(cli(&dir, &uri).args(["--max-login-wait", "0s", "logout", "budget"]));
    assert!(out.status.success());
    let out = run(cli(&dir, &uri).args(["--max-login-wait", "0s", "token", "budget"]));
    assert_not_allowed_yet(&out, "the vendor allows a login every 2s");
    let _ = std::fs::remove_dir_all(dir);
}
