//! Facts a vendor's document leaves out, through the command line (issue 9, item 7): a provider
//! that exists only as a YAML file in a `--specs` folder, against a vendor played by wiremock
//! from this invented page:
//!
//! > Log in with `POST /session`, sending `user` and `password`; the answer is
//! > `{"token": "...", "expires_in": 900}`. Call `GET /accounts` with your token.
//!
//! The page does not say how the login body is encoded or how the token goes on API calls; the
//! vendor takes a form and `X-Sparse-Token: <token>`. The CLI never guesses either: the user
//! says (`--body-encoding`, `--token-header`), or the command exits 2 saying what is missing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const YAML: &str = r#"title: Sparse
environments:
  production: {}
default_environment: production
credentials:
  user: { secret: false }
  password: {}
login:
  method: POST
  path: /session
  # "sending `user` and `password`"
  encoding: unknown
  body:
    user: ${credentials.user}
    password: ${credentials.password}
  response:
    access_token: $.token
    access_token_expiry:
      - expires_in: { path: $.expires_in }
    examples:
      - body: { token: abc, expires_in: 900 }
policy:
  refresh: after_expiry
# "Call `GET /accounts` with your token."
usage: unknown
"#;

fn temp_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "auth-cli-unknown-facts-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(dir.join("specs")).expect("temp dir");
    std::fs::write(dir.join("specs/sparse.yaml"), YAML).expect("write");
    dir
}

fn cli(dir: &Path, base_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_auth-cli"))
        .env_clear()
        .env("SPARSE_USER", "ann")
        .env("SPARSE_PASSWORD", "pw-secret")
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

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn what_the_document_leaves_out_is_given_by_the_user_never_guessed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/session"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("user=ann"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"token": "tok-1", "expires_in": 900})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/accounts"))
        .and(header("x-sparse-token", "tok-1"))
        .respond_with(ResponseTemplate::new(200).set_body_string("[\"acc-1\"]"))
        .expect(1)
        .mount(&server)
        .await;
    let uri = server.uri();
    let dir = temp_dir();

    let out = cli(&dir, &uri, &["validate"]);
    assert!(out.status.success(), "{}", text(&out).1);

    // The login body's encoding: not guessed.
    let out = cli(&dir, &uri, &["token", "sparse"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("does not say how the login body is encoded"),
        "{stderr}"
    );
    assert!(stderr.contains("--body-encoding"), "{stderr}");
    assert!(stdout.is_empty());

    // Given, the token works without knowing how it is sent.
    let out = cli(&dir, &uri, &["--body-encoding", "form", "token", "sparse"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout.trim(), "tok-1");

    // `header` and `request` say the document does not tell.
    for args in [
        &["header", "sparse"][..],
        &["request", "sparse", "/accounts"][..],
    ] {
        let out = cli(&dir, &uri, args);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("does not say how the token is sent"),
            "{stderr}"
        );
        assert!(stderr.contains("--token-header"), "{stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
    }

    // And take the header from the user.
    let given = ["--token-header", "X-Sparse-Token: ${session.access_token}"];
    let out = cli(&dir, &uri, &[&given[..], &["header", "sparse"]].concat());
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout.trim(), "X-Sparse-Token: tok-1");
    let out = cli(
        &dir,
        &uri,
        &[&given[..], &["request", "sparse", "/accounts"]].concat(),
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout.trim(), "[\"acc-1\"]");

    // A header that cannot carry the token is refused before anything is sent.
    let out = cli(
        &dir,
        &uri,
        &["--token-header", "X-Sparse-Token: tok", "header", "sparse"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out).1);
    assert!(!text(&out).1.contains("pw-secret"));
    let _ = std::fs::remove_dir_all(dir);
}
