//! One bad file in a `--specs` folder does not disable the others (issue 9, item 12): `token`
//! for a valid provider works with one warning line naming the bad file, `token` for the bad
//! one fails with its diagnostics, and `validate` still reports them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const GOOD: &str = r#"title: Good Vendor
environments:
  production: { base_url: https://api.good.example }
default_environment: production
credentials:
  api_key: { env: GOOD_VENDOR_KEY }
login:
  method: POST
  path: /login
  encoding: json
  body: { api_key: "${credentials.api_key}" }
  response:
    access_token: $.token
    access_token_expiry: [ { expires_in: { path: $.expires_in } } ]
    examples: [ { body: { token: t, expires_in: 3600 } } ]
policy: { refresh: after_expiry }
usage:
  headers: { Authorization: "Bearer ${session.access_token}" }
"#;

/// The good spec with a misspelt key and a duration without a unit.
fn bad() -> String {
    GOOD.replace("GOOD_VENDOR_KEY", "BAD_VENDOR_KEY")
        .replace("  encoding: json", "  encodin: json")
        .replace(
            "policy: { refresh: after_expiry }",
            "policy: { refresh: after_expiry, min_login_interval: 10 }",
        )
}

fn workspace() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "auth-cli-spec-folder-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(dir.join("specs")).expect("dir");
    std::fs::write(dir.join("specs/good_vendor.yaml"), GOOD).expect("spec");
    std::fs::write(dir.join("specs/bad_vendor.yaml"), bad()).expect("spec");
    dir
}

fn run(dir: &Path, base_url: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let output: Output = Command::new(env!("CARGO_BIN_EXE_auth-cli"))
        .env_clear()
        .env("GOOD_VENDOR_KEY", "good-key")
        .env("BAD_VENDOR_KEY", "bad-key")
        .arg("--specs")
        .arg(dir.join("specs"))
        .arg("--store")
        .arg(dir.join("sessions.json"))
        .arg("--base-url")
        .arg(base_url)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_bad_file_does_not_disable_the_others() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/login"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"token": "good-token", "expires_in": 3600})),
        )
        .mount(&server)
        .await;
    let dir = workspace();
    let bad_file = dir.join("specs/bad_vendor.yaml").display().to_string();
    let uri = server.uri();

    let (code, stdout, stderr) = {
        let (dir, uri) = (dir.clone(), uri.clone());
        tokio::task::spawn_blocking(move || run(&dir, &uri, &["token", "good_vendor"]))
            .await
            .expect("join")
    };
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "good-token\n");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one warning line: {stderr}");
    assert!(
        lines[0].starts_with("warning: ") && lines[0].contains(&bad_file),
        "{stderr}"
    );

    let (code, stdout, stderr) = {
        let (dir, uri) = (dir.clone(), uri.clone());
        tokio::task::spawn_blocking(move || run(&dir, &uri, &["token", "bad_vendor"]))
            .await
            .expect("join")
    };
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stdout, "");
    for want in [
        format!("{bad_file}:10:3: error: unknown key `encodin`"),
        format!("{bad_file}:16:54: error: `10` has no unit"),
    ] {
        assert!(stderr.contains(&want), "want {want}: {stderr}");
    }

    let (code, _, stderr) = tokio::task::spawn_blocking(move || run(&dir, &uri, &["validate"]))
        .await
        .expect("join");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{bad_file}:10:3: error: unknown key `encodin`"))
            && stderr.contains(&format!("{bad_file}:16:54: error: `10` has no unit")),
        "{stderr}"
    );
    assert_eq!(
        server.received_requests().await.unwrap_or_default().len(),
        1,
        "only the good vendor's login was sent"
    );
}

/// Two files reading one environment variable: the later one (by file name) carries the
/// conflict and is unusable; the first keeps working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_across_files_counts_against_the_later_file() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/login"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"token": "good-token", "expires_in": 3600})),
        )
        .mount(&server)
        .await;
    let dir = workspace();
    // Replace the bad file by a valid copy that reads the good vendor's variable.
    let copy = dir.join("specs/good_vendor_copy.yaml");
    std::fs::remove_file(dir.join("specs/bad_vendor.yaml")).expect("remove");
    std::fs::write(&copy, GOOD).expect("spec");
    let copy = copy.display().to_string();
    let uri = server.uri();

    let (code, stdout, stderr) = {
        let (dir, uri) = (dir.clone(), uri.clone());
        tokio::task::spawn_blocking(move || run(&dir, &uri, &["token", "good_vendor"]))
            .await
            .expect("join")
    };
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout, "good-token\n");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&copy), "{stderr}");

    let (code, stdout, stderr) =
        tokio::task::spawn_blocking(move || run(&dir, &uri, &["token", "good_vendor_copy"]))
            .await
            .expect("join");
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stdout, "");
    assert!(
        stderr.contains(&format!("{copy}:6:"))
            && stderr.contains("`GOOD_VENDOR_KEY` is already used by provider `good_vendor`"),
        "{stderr}"
    );
}
