//! Arguments that would send credentials or tokens where they must not go (issue 8, items
//! 15-17), and the CLI's own output (item 19). Run as processes.

use std::io::Read as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use assert_cmd::assert::OutputAssertExt as _;
use predicates::prelude::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer as Wiremock, ResponseTemplate};

fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "auth-cli-args-{name}-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// `auth-cli` with a clean environment and its own session file.
fn cli(store: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_auth-cli"));
    command
        .env_clear()
        .arg("--store")
        .arg(store.join("sessions.json"));
    command.stdin(Stdio::null());
    command
}

/// A TCP listener that counts connections and the bytes they sent, answering nothing.
struct Listener {
    port: u16,
    connections: Arc<AtomicUsize>,
    received: Arc<std::sync::Mutex<Vec<u8>>>,
}

impl Listener {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let received = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (count, bytes) = (Arc::clone(&connections), Arc::clone(&received));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                count.fetch_add(1, Ordering::SeqCst);
                let _ = stream.set_read_timeout(Some(std::time::Duration::from_millis(500)));
                let mut buffer = [0u8; 4096];
                if let Ok(n) = stream.read(&mut buffer) {
                    bytes.lock().expect("bytes").extend_from_slice(&buffer[..n]);
                }
            }
        });
        Self {
            port,
            connections,
            received,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    fn received(&self) -> String {
        String::from_utf8_lossy(&self.received.lock().expect("bytes")).into_owned()
    }
}

/// Item 15: `--base-url http://example.com` went out through a proxy with the API key in clear
/// text. It is refused before anything is sent.
#[test]
fn a_non_loopback_http_base_url_is_refused_and_nothing_is_sent() {
    let dir = temp_dir("http");
    let proxy = Listener::start();
    cli(&dir)
        .env("INTERGIRO_API_KEY", "key-that-must-stay-home")
        .env("HTTP_PROXY", proxy.url())
        .env("http_proxy", proxy.url())
        .env("ALL_PROXY", proxy.url())
        .args(["--base-url", "http://example.com", "token", "intergiro"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("http://example.com")
                .and(predicate::str::contains("unencrypted"))
                .and(predicate::str::contains("https://")),
        );
    assert_eq!(proxy.connections(), 0, "sent: {}", proxy.received());
}

/// Duration flags take the spec's grammar: another spelling is a usage error saying what to
/// write, and the grammar's forms are accepted.
#[test]
fn duration_flags_take_the_spec_grammar() {
    let dir = temp_dir("durations");
    for (flag, value, write) in [
        ("--lock-timeout", "2min", "write `2m`"),
        ("--max-login-wait", "60 seconds", "write `60s`"),
        ("--lock-timeout", "1800", "write `1800s`"),
    ] {
        cli(&dir)
            .args([flag, value, "providers"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(write));
    }
    cli(&dir)
        .args([
            "--lock-timeout",
            "1m 30s",
            "--max-login-wait",
            "500ms",
            "providers",
        ])
        .assert()
        .success();
}

/// Item 17: a password in the base URL was sent as Basic, printed by `status` and kept in the
/// store key. It is refused, and never echoed.
#[test]
fn a_password_in_the_base_url_is_refused_and_never_echoed() {
    let dir = temp_dir("userinfo");
    let vendor = Listener::start();
    let url = format!("http://alice:pw-in-url-9@127.0.0.1:{}", vendor.port);
    for command in ["token", "status", "logout"] {
        cli(&dir)
            .env("INTERGIRO_API_KEY", "k-1234")
            .args(["--base-url", &url, command, "intergiro"])
            .assert()
            .code(2)
            .stdout(predicate::str::contains("pw-in-url-9").not())
            .stderr(
                predicate::str::contains("user name or password")
                    .and(predicate::str::contains("pw-in-url-9").not())
                    .and(predicate::str::contains("alice").not()),
            );
    }
    assert_eq!(vendor.connections(), 0, "sent: {}", vendor.received());
    assert!(!dir.join("sessions.json").exists());
}

/// An unsigned JWT expiring in an hour (Intergiro's tokens are JWTs; the engine reads `exp`).
fn jwt() -> String {
    use base64::Engine as _;
    let enc = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
        + 3600;
    format!(
        "{}.{}.c2ln",
        enc.encode(r#"{"alg":"RS256"}"#),
        enc.encode(format!(r#"{{"exp":{exp}}}"#))
    )
}

/// Intergiro's login and any GET answered 200, on a wiremock server.
async fn intergiro() -> Wiremock {
    let server = Wiremock::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/auth/login"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": jwt(), "refresh_token": "refresh-1"
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("api answer"))
        .mount(&server)
        .await;
    server
}

/// Requests that reached `server` carrying an `Authorization` header.
async fn with_token(server: &Wiremock) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.headers.contains_key("authorization"))
        .count()
}

/// Item 16: `request intergiro http://127.0.0.1:B/abs` and the path `@127.0.0.1:B/at` delivered
/// the bearer token to port B. Only the base URL's origin gets it, unless `--allow-origin`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_sends_the_token_only_to_the_base_urls_origin() {
    let vendor = intergiro().await;
    let other = Wiremock::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("other answer"))
        .mount(&other)
        .await;
    let dir = temp_dir("origin");
    let run = |args: &[&str]| {
        let mut command = cli(&dir);
        command
            .env("INTERGIRO_API_KEY", "k-1234")
            .args(["--base-url", &vendor.uri(), "request", "intergiro"])
            .args(args);
        command
    };
    run(&["/v3/accounts"])
        .assert()
        .success()
        .stdout("api answer\n");
    assert_eq!(with_token(&vendor).await, 1);

    let b = other.address();
    let absolute = format!("{}/abs", other.uri());
    run(&[&absolute]).assert().code(2).stderr(
        predicate::str::contains(other.uri()).and(predicate::str::contains("--allow-origin")),
    );
    for tricky in [
        format!("@{b}/at"),
        format!("@{b}"),
        format!("{b}/x"),
        format!("//{b}/x"),
        format!("\\\\{b}/x"),
        format!("/\\{b}/x"),
    ] {
        let out = run(&[&tricky]).output().expect("runs");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{tricky}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        other.received_requests().await.map(|r| r.len()),
        Some(0),
        "the other origin received nothing"
    );

    // Allowed explicitly.
    run(&["--allow-origin", &other.uri(), &absolute])
        .assert()
        .success()
        .stdout("other answer\n");
    assert_eq!(with_token(&other).await, 1);
}

/// A stdout whose reader is already gone: every write to it fails with a broken pipe.
fn closed_stdout() -> Stdio {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    Stdio::from(writer)
}

/// Item 19: `auth-cli --format json providers | true` panicked with "Broken pipe" (exit 101).
/// A closed stdout is a quiet exit.
#[test]
fn a_closed_stdout_is_a_quiet_exit() {
    let dir = temp_dir("pipe");
    for args in [
        &["--format", "json", "providers"][..],
        &["providers"],
        &["completions", "bash"],
        &["validate", "--format", "json"],
    ] {
        let out = cli(&dir)
            .args(args)
            .stdout(closed_stdout())
            .stderr(Stdio::piped())
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}

/// A spec with a logout endpoint, for a `--specs` folder.
const WITH_LOGOUT: &str = r#"title: Session Vendor
environments:
  production: { base_url: https://api.session.example }
default_environment: production
credentials:
  api_key: {}
login:
  method: POST
  path: /login
  encoding: json
  body: { api_key: "${credentials.api_key}" }
  response:
    access_token: $.access_token
    access_token_expiry: [ { expires_in: { path: $.expires_in } } ]
    examples: [ { body: { access_token: t, expires_in: 3600 } } ]
logout:
  method: POST
  path: /logout
  headers: { Authorization: "Bearer ${session.access_token}" }
policy:
  refresh: after_expiry
usage:
  headers: { Authorization: "Bearer ${session.access_token}" }
  expired: { status: [401] }
"#;

async fn session_vendor() -> Wiremock {
    let server = Wiremock::start().await;
    Mock::given(method("POST"))
        .and(path("/login"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"access_token": "at-1", "expires_in": 3600})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/logout"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    server
}

/// Item 19: `logout` said "session forgotten" whether or not it called the vendor; `-v` logged
/// neither a cache hit nor a logout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_says_what_it_did_and_verbose_logs_cache_hits_and_logouts() {
    let server = session_vendor().await;
    let dir = temp_dir("logout");
    let specs = dir.join("specs");
    std::fs::create_dir_all(&specs).expect("dir");
    std::fs::write(specs.join("sessionvendor.yaml"), WITH_LOGOUT).expect("spec");
    let run = |args: &[&str]| {
        let mut command = cli(&dir);
        command
            .env("SESSIONVENDOR_API_KEY", "k-1234")
            .args(["--specs", &specs.display().to_string()])
            .args(["--base-url", &server.uri()])
            .args(args);
        command
    };
    run(&["token", "sessionvendor"]).assert().success();
    run(&["-v", "token", "sessionvendor"])
        .assert()
        .success()
        .stdout("at-1\n")
        .stderr(predicate::str::contains("no request sent"));
    run(&["-v", "logout", "sessionvendor"])
        .assert()
        .success()
        .stderr(
            predicate::str::contains("the vendor's logout endpoint was called")
                .and(predicate::str::contains("logged out")),
        );
    assert_eq!(
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path() == "/logout")
            .count(),
        1
    );
    run(&["logout", "sessionvendor"])
        .assert()
        .success()
        .stderr(predicate::str::contains("no session"));

    // Intergiro has no logout endpoint: the session is only forgotten here.
    let vendor = intergiro().await;
    let mut token = cli(&dir);
    token
        .env("INTERGIRO_API_KEY", "k-1234")
        .args(["--base-url", &vendor.uri(), "token", "intergiro"])
        .assert()
        .success();
    let mut logout = cli(&dir);
    logout
        .env("INTERGIRO_API_KEY", "k-1234")
        .args(["--base-url", &vendor.uri(), "logout", "intergiro"])
        .assert()
        .success()
        .stderr(
            predicate::str::contains("no logout endpoint")
                .and(predicate::str::contains("forgotten")),
        );
}

/// Item 19: `RUST_LOG` was ignored (the filter was fixed to `auth_runtime=debug`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_log_is_honoured() {
    let vendor = intergiro().await;
    let dir = temp_dir("rustlog");
    let run = |store: &str| {
        let mut command = cli(&dir.join(store));
        command.env("INTERGIRO_API_KEY", "k-1234").args([
            "--base-url",
            &vendor.uri(),
            "token",
            "intergiro",
        ]);
        command
    };
    std::fs::create_dir_all(dir.join("a")).expect("dir");
    std::fs::create_dir_all(dir.join("b")).expect("dir");
    // Without -v, RUST_LOG alone turns logging on.
    run("a")
        .env("RUST_LOG", "auth_runtime=info")
        .assert()
        .success()
        .stderr(predicate::str::contains("logged in"));
    // With -v, RUST_LOG still decides what is shown.
    run("b")
        .env("RUST_LOG", "auth_runtime=warn")
        .arg("-v")
        .assert()
        .success()
        .stderr(predicate::str::contains("logged in").not());
}

/// Item 19: `status --base-url URL` named the default environment as if the URL were it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_with_a_base_url_names_no_environment() {
    let vendor = intergiro().await;
    let dir = temp_dir("status");
    let mut status = cli(&dir);
    status
        .env("INTERGIRO_API_KEY", "k-1234")
        .args(["--base-url", &vendor.uri(), "status", "intergiro"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("production")
                .not()
                .and(predicate::str::contains("custom base URL")),
        );
    let out = cli(&dir)
        .env("IDISSUER_USERNAME", "u")
        .env("IDISSUER_PASSWORD", "p")
        .args([
            "--format",
            "json",
            "--base-url",
            &vendor.uri(),
            "status",
            "idissuer",
        ])
        .output()
        .expect("runs");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["environment"], serde_json::Value::Null, "{json}");
    assert_eq!(json["custom_base_url"], true, "{json}");
    // Without --base-url the environment is named.
    let out = cli(&dir)
        .env("IDISSUER_USERNAME", "u")
        .env("IDISSUER_PASSWORD", "p")
        .args(["--format", "json", "status", "idissuer"])
        .output()
        .expect("runs");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["environment"], "production", "{json}");
    assert_eq!(json["custom_base_url"], false, "{json}");
}

/// Item 19: `--format json demo` printed text.
#[test]
fn demo_in_json() {
    let dir = temp_dir("demo");
    let out = cli(&dir)
        .args(["--format", "json", "demo"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(json["passed"], true, "{json}");
    let providers = json["providers"].as_array().expect("providers");
    assert_eq!(providers.len(), 3);
    assert!(
        providers
            .iter()
            .all(|p| p["steps"].as_array().is_some_and(|s| !s.is_empty())),
        "{json}"
    );
}

/// Item 10 (display): `status` showed a far-future expiry as 1970.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_a_far_future_expiry_right() {
    use base64::Engine as _;
    let enc = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    for exp in ["253402300799", "1e15", "99999999999"] {
        let server = Wiremock::start().await;
        let token = format!(
            "{}.{}.c2ln",
            enc.encode(r#"{"alg":"RS256"}"#),
            enc.encode(format!(r#"{{"exp":{exp}}}"#))
        );
        Mock::given(method("POST"))
            .and(path("/v3/auth/login"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"access_token": token, "refresh_token": "refresh-1"}),
            ))
            .mount(&server)
            .await;
        let dir = temp_dir("far");
        let run = |args: &[&str]| {
            let mut command = cli(&dir);
            command
                .env("INTERGIRO_API_KEY", "k-1234")
                .args(["--base-url", &server.uri()])
                .args(args);
            command
        };
        let out = run(&["token", "intergiro"]).output().expect("runs");
        if !out.status.success() {
            // An expiry the engine refuses as out of range is fine too; it must not be 1970.
            assert_eq!(
                out.status.code(),
                Some(4),
                "{exp}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            continue;
        }
        let out = run(&["status", "intergiro"]).output().expect("runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let expires = text
            .lines()
            .find(|l| l.starts_with("token expires:"))
            .unwrap_or_else(|| panic!("{exp}: {text}"));
        assert!(!expires.contains("1970"), "{exp}: {expires}");
        let year: u32 = expires
            .trim_start_matches("token expires:")
            .trim()
            .get(..4)
            .and_then(|y| y.parse().ok())
            .unwrap_or_else(|| panic!("{exp}: {expires}"));
        assert!(year >= 5138, "{exp}: {expires}");
        assert!(!expires.contains("(expired)"), "{exp}: {expires}");
    }
}
