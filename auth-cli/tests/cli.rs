//! The command line, run as a process: every subcommand, text and JSON output, exit codes,
//! persisted sessions, refresh after expiry, several processes on one session, and a provider
//! that exists only as a YAML file in a `--specs` folder.
//!
//! Vendors are played by wiremock servers written from the vendor documents where the test is
//! about a vendor's behaviour, and by the spec-driven simulator (`auth_mock::MockServer`,
//! the same one `auth-cli mock` serves) where it is about the CLI's own behaviour.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use assert_cmd::assert::OutputAssertExt as _;
use auth_mock::{MockOptions, MockServer};
use predicates::prelude::*;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer as Wiremock, ResponseTemplate};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "auth-cli-{name}-{}-{}",
        std::process::id(),
        fastrand()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn fastrand() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
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

fn spec(name: &str) -> Arc<auth_spec::ProviderSpec> {
    let source = providers::spec_source(name).expect("built-in");
    Arc::new(auth_spec::parse(format!("{name}.yaml"), source).expect("valid"))
}

/// ID Issuer, as its document describes the login (nested token) and the refresh.
async fn idissuer(expires_in: u64) -> Wiremock {
    let server = Wiremock::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/auth/token"))
        .and(body_string_contains("\"username\":\"user@example.com\""))
        .and(body_string_contains("\"password\":\"pw\""))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": {"token_type": "bearer", "token": "login-token", "expires_in": expires_in},
            "refresh_token": "refresh-1"
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/auth/token"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(serde_json::json!({"error": "invalid credentials"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/auth/refreshtoken"))
        .and(body_string_contains("\"refresh_token\":\"refresh-1\""))
        .and(body_string_contains("\"token\":\"login-token\""))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": {"token_type": "bearer", "token": "refreshed-token", "expires_in": 3600},
            "refresh_token": "refresh-2"
        })))
        .mount(&server)
        .await;
    server
}

async fn count(server: &Wiremock, at: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == at)
        .count()
}

fn idissuer_cli(dir: &Path, server: &Wiremock) -> Command {
    let mut command = cli(dir);
    command
        .env("IDISSUER_USERNAME", "user@example.com")
        .env("IDISSUER_PASSWORD", "pw")
        .args(["--base-url", &server.uri()]);
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_is_persisted_then_refreshed_after_expiry() {
    // Two seconds: long enough for the second process to start well within the lifetime.
    let server = idissuer(2).await;
    let dir = temp_dir("persist");
    idissuer_cli(&dir, &server)
        .args(["token", "idissuer"])
        .assert()
        .success()
        .stdout("login-token\n");
    // Within the lifetime: no request at all.
    idissuer_cli(&dir, &server)
        .args(["token", "idissuer"])
        .assert()
        .success()
        .stdout("login-token\n");
    assert_eq!(
        count(&server, "/v2/auth/token").await,
        1,
        "the second call sent nothing"
    );
    // After expiry: a refresh, not a new login.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    idissuer_cli(&dir, &server)
        .args(["token", "idissuer"])
        .assert()
        .success()
        .stdout("refreshed-token\n");
    assert_eq!(count(&server, "/v2/auth/token").await, 1);
    assert_eq!(count(&server, "/v2/auth/refreshtoken").await, 1);
    let file = std::fs::read_to_string(dir.join("sessions.json")).expect("store file");
    assert!(!file.contains("\"pw\""), "credentials are never stored");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.join("sessions.json"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_status_json_and_logout() {
    let server = idissuer(3600).await;
    let dir = temp_dir("header");
    idissuer_cli(&dir, &server)
        .args(["header", "idissuer"])
        .assert()
        .success()
        .stdout("Authorization: Bearer login-token\n");
    let out = idissuer_cli(&dir, &server)
        .args(["token", "idissuer", "--format", "json"])
        .output()
        .expect("runs");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["access_token"], "login-token");
    assert!(
        json["expires_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );

    let out = idissuer_cli(&dir, &server)
        .args(["status", "idissuer", "--format", "json"])
        .output()
        .expect("runs");
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(status["session"]["generation"], 1);
    assert_eq!(status["session"]["has_refresh_token"], true);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("login-token") && !text.contains("refresh-1"),
        "status shows no secret: {text}"
    );
    idissuer_cli(&dir, &server)
        .args(["status", "idissuer"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("token expires:")
                .and(predicate::str::contains("login-token").not()),
        );

    idissuer_cli(&dir, &server)
        .args(["logout", "idissuer"])
        .assert()
        .success();
    idissuer_cli(&dir, &server)
        .args(["status", "idissuer"])
        .assert()
        .success()
        .stdout(predicate::str::contains("session:       none"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_tell_usage_credentials_and_vendor_failures_apart() {
    let server = idissuer(3600).await;
    let dir = temp_dir("codes");
    // Missing credential: usage error, naming the variable.
    cli(&dir)
        .args(["token", "idissuer", "--base-url", &server.uri()])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("IDISSUER_USERNAME"));
    // Rejected credentials.
    cli(&dir)
        .env("IDISSUER_USERNAME", "user@example.com")
        .env("IDISSUER_PASSWORD", "wrong-password")
        .args(["token", "idissuer", "--base-url", &server.uri()])
        .assert()
        .code(3)
        .stderr(
            predicate::str::contains("rejected")
                .and(predicate::str::contains("wrong-password").not()),
        );
    // Nothing listening: the vendor is unreachable.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    cli(&dir)
        .env("IDISSUER_USERNAME", "u")
        .env("IDISSUER_PASSWORD", "p")
        .args([
            "token",
            "idissuer",
            "--base-url",
            &format!("http://127.0.0.1:{port}"),
        ])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("unreachable"));
    // Intergiro's documents name no host: say so.
    cli(&dir)
        .env("INTERGIRO_API_KEY", "k")
        .args(["token", "intergiro"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("base URL"));
    cli(&dir)
        .args(["token", "no-such-vendor"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown provider"));
    cli(&dir).args(["frobnicate"]).assert().code(2);
    cli(&dir)
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit codes"));
}

#[test]
fn providers_validate_and_completions() {
    let dir = temp_dir("list");
    cli(&dir).arg("providers").assert().success().stdout(
        predicate::str::contains("apiax (Apiax)")
            .and(predicate::str::contains("INTERGIRO_API_KEY")),
    );
    let out = cli(&dir)
        .args(["providers", "--format", "json"])
        .output()
        .expect("runs");
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(list.as_array().map(Vec::len), Some(3));
    assert_eq!(
        list[2]["environments"][0]["base_url"],
        serde_json::Value::Null,
        "intergiro names no host"
    );
    cli(&dir)
        .arg("validate")
        .assert()
        .success()
        .stderr(predicate::str::contains("3 spec(s) valid"));
    cli(&dir)
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(predicate::str::contains("auth-cli"));
}

#[test]
fn a_bad_spec_folder_gets_diagnostics_with_positions() {
    let dir = temp_dir("bad");
    let specs = dir.join("specs");
    std::fs::create_dir_all(&specs).expect("dir");
    let good = providers::spec_source("idissuer").expect("built-in");
    std::fs::write(
        specs.join("broken.yaml"),
        good.replace(
            "    access_token: $.access_token.token",
            "    acces_token: $.access_token.token",
        )
        .replace("IDISSUER_", "BROKEN_"),
    )
    .expect("write");
    cli(&dir)
        .args(["validate", &specs.display().to_string()])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("broken.yaml:")
                .and(predicate::str::contains("unknown key `acces_token`"))
                .and(predicate::str::contains("did you mean `access_token`?")),
        );
    let out = cli(&dir)
        .args(["validate", "--format", "json", &specs.display().to_string()])
        .output()
        .expect("runs");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["valid"], false);
    let line = report["diagnostics"][0]["line"].as_u64().expect("line");
    let text = std::fs::read_to_string(specs.join("broken.yaml")).expect("read");
    assert!(
        text.lines()
            .nth(line as usize - 1)
            .is_some_and(|l| l.contains("acces_token")),
        "the line is the bad key's"
    );
    // Every command refuses to run with a broken --specs folder.
    cli(&dir)
        .args(["--specs", &specs.display().to_string(), "providers"])
        .assert()
        .code(2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_through_the_simulator_refreshes_and_replays_on_expired_answers() {
    let mock = MockServer::start(spec("idissuer"), MockOptions::default())
        .await
        .expect("mock");
    let dir = temp_dir("request");
    let run = |dir: &Path| {
        let mut command = cli(dir);
        command
            .envs(mock.credential_env())
            .args(["--base-url", &mock.base_url()]);
        command
    };
    run(&dir)
        .args(["request", "idissuer", "/__protected"])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"ok\":true"));
    mock.expire_tokens();
    run(&dir)
        .args([
            "request",
            "idissuer",
            "GET",
            "/__protected",
            "--format",
            "json",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("\"status\": 200"));
    let stats = mock.stats();
    assert_eq!(stats.expired_answers, 1);
    assert_eq!(
        stats.refreshes, 1,
        "one refresh, then the request was replayed"
    );
    assert_eq!(
        stats.logins, 1,
        "the session was reused from the store across processes"
    );
    run(&dir)
        .args([
            "request",
            "idissuer",
            &format!("{}/__nowhere", mock.base_url()),
        ])
        .assert()
        .code(5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_processes_on_an_expired_session_send_one_refresh() {
    // The renewed token must outlive the eight processes, or a late one rightly renews it
    // again: on a loaded 2-core machine starting eight processes can take more than a second.
    let options = MockOptions {
        access_ttl: Duration::from_secs(4),
        ..MockOptions::default()
    };
    let mock = MockServer::start(spec("intergiro"), options)
        .await
        .expect("mock");
    let dir = temp_dir("eight");
    let run = |dir: &Path| {
        let mut command = cli(dir);
        command.envs(mock.credential_env()).args([
            "--base-url",
            &mock.base_url(),
            "token",
            "intergiro",
        ]);
        command
    };
    run(&dir).assert().success();
    tokio::time::sleep(Duration::from_millis(4100)).await;
    let children: Vec<_> = (0..8)
        .map(|_| {
            run(&dir)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("starts")
        })
        .collect();
    let tokens: Vec<String> = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|c| {
                let out = c.wait_with_output().expect("ends");
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                String::from_utf8_lossy(&out.stdout).trim().to_owned()
            })
            .collect()
    })
    .await
    .expect("join");
    let stats = mock.stats();
    assert!(
        tokens.windows(2).all(|w| w[0] == w[1]),
        "every process printed the same token ({} distinct; {stats:?})",
        tokens
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len()
    );
    assert_eq!(stats.refreshes, 1, "one refresh for eight processes");
    assert_eq!(
        stats.reused_refresh_tokens, 0,
        "no refresh token sent twice"
    );
    assert_eq!(stats.premature_refreshes, 0);
    assert_eq!(stats.logins, 1);
}

#[test]
fn a_new_provider_from_a_specs_folder_works_end_to_end() {
    let dir = temp_dir("new");
    let specs = dir.join("specs");
    std::fs::create_dir_all(&specs).expect("dir");
    std::fs::write(
        specs.join("newvendor.yaml"),
        r#"title: New Vendor
environments:
  production: { base_url: https://api.newvendor.example }
default_environment: production
credentials:
  client_id: { secret: false, example: demo-client }
  client_secret: { example: demo-secret }
login:
  method: POST
  path: /token
  encoding: form
  body:
    grant_type: client_credentials
    client_id: ${credentials.client_id}
    client_secret: ${credentials.client_secret}
  response:
    access_token: $.access_token
    access_token_expiry: [ { expires_in: { path: $.expires_in } } ]
    examples: [ { body: { access_token: t, expires_in: 300, token_type: bearer } } ]
policy: { refresh: ahead_of_expiry, margin: 30s }
usage:
  headers: { X-Auth-Token: "${session.access_token}" }
  expired: { status: [401] }
"#,
    )
    .expect("write");
    let with_specs = |command: &mut Command| {
        command.args(["--specs", &specs.display().to_string()]);
    };
    let mut validate = cli(&dir);
    with_specs(&mut validate);
    validate
        .arg("validate")
        .assert()
        .success()
        .stderr(predicate::str::contains("ok: newvendor (New Vendor)"));

    // `auth-cli mock` as its own process; its first stdout line is the base URL.
    let mut mock = cli(&dir);
    with_specs(&mut mock);
    let mut child = mock
        .args(["mock", "newvendor"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("mock starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("base URL line");
    let base_url = line.trim().to_owned();
    assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url}");

    let mut token = cli(&dir);
    with_specs(&mut token);
    let out = token
        .env("NEWVENDOR_CLIENT_ID", "demo-client")
        .env("NEWVENDOR_CLIENT_SECRET", "demo-secret")
        .args(["--base-url", &base_url, "header", "newvendor"])
        .output()
        .expect("runs");
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let header = String::from_utf8_lossy(&out.stdout);
    assert!(header.starts_with("X-Auth-Token: mock-access-"), "{header}");
}

#[test]
fn demo_runs_every_provider_lifecycle() {
    let dir = temp_dir("demo");
    cli(&dir).arg("demo").assert().success().stdout(
        predicate::str::contains("all steps passed").and(predicate::str::contains("✗").not()),
    );
}

/// On a terminal, a missing credential is asked for (the password without echo). `script`
/// (util-linux, present on every Debian-like system) gives the command a pseudo-terminal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_credentials_are_prompted_for_on_a_terminal() {
    let mock = MockServer::start(spec("idissuer"), MockOptions::default())
        .await
        .expect("mock");
    let dir = temp_dir("prompt");
    let values: Vec<String> = mock.credential_env().into_iter().map(|(_, v)| v).collect();
    let command = format!(
        "{} --store {} --base-url {} token idissuer",
        env!("CARGO_BIN_EXE_auth-cli"),
        dir.join("sessions.json").display(),
        mock.base_url()
    );
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("`script` (util-linux) is needed for this test");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "{}\n{}", values[0], values[1]).expect("typed");
    }
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("ends");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{screen}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        screen.contains("IDISSUER_USERNAME is not set; enter it:"),
        "{screen}"
    );
    assert!(
        screen.contains("IDISSUER_PASSWORD is not set; enter it:"),
        "{screen}"
    );
    assert!(
        screen.lines().any(|l| l.trim().starts_with("mock-access-")),
        "the token was printed: {screen}"
    );
    assert_eq!(mock.stats().logins, 1);
}
