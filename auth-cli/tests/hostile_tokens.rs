//! A vendor answering a token that is not a valid header value (CR/LF, controls): the CLI must
//! not print or store it (issue 8, item 13). Run as a process against a local wiremock vendor
//! (ID Issuer's login answer, as its document shows it, with the hostile token inside).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("auth-cli-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// `auth-cli` with a clean environment, its own session file and ID Issuer's credentials.
fn cli(store: &Path, server: &MockServer) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_auth-cli"));
    command
        .env_clear()
        .arg("--store")
        .arg(store.join("sessions.json"))
        .args(["--base-url", &server.uri()])
        .env("IDISSUER_USERNAME", "user@example.com")
        .env("IDISSUER_PASSWORD", "pw")
        .stdin(Stdio::null());
    command
}

/// ID Issuer whose login answers this access token.
async fn vendor(token: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/auth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": {"token_type": "bearer", "token": token, "expires_in": 3600},
            "refresh_token": "refresh-1"
        })))
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_with_a_line_break_is_an_unexpected_answer_not_printed_nor_stored() {
    let server = vendor("login-token\r\nX-Injected: 1").await;
    let dir = temp_dir("hostile-token");
    for command in ["token", "header"] {
        let output = cli(&dir, &server)
            .args([command, "idissuer"])
            .output()
            .expect("runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(4),
            "{command}: stdout {stdout:?}, stderr {stderr:?}"
        );
        assert!(stdout.is_empty(), "{command}: stdout {stdout:?}");
        assert!(
            stderr.contains("access_token.token") && stderr.contains("line break"),
            "{command}: the error names the path and the problem: {stderr:?}"
        );
        assert!(
            !stderr.contains("X-Injected") && !stderr.contains("login-token"),
            "{command}: the value is never shown: {stderr:?}"
        );
    }
    let stored = std::fs::read_to_string(dir.join("sessions.json")).unwrap_or_default();
    assert!(!stored.contains("X-Injected"), "not stored: {stored}");
    // A well-formed token from the same vendor shape works (the test is not vacuous).
    let fine = vendor("login-token").await;
    let output = cli(&dir, &fine)
        .args(["token", "idissuer"])
        .output()
        .expect("runs");
    assert_eq!(
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).as_ref()
        ),
        (Some(0), "login-token\n"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
