//! Templates in endpoint paths through the command line (issue 9, item 6): a provider that exists
//! only as a YAML file in a `--specs` folder, whose login path names the tenant, against a vendor
//! played by wiremock from this invented page:
//!
//! > `POST /api/v1/{tenant}/login` with `{"api_key": "..."}` answers
//! > `{"token": "...", "expires_in": 900}`. The tenant is the name shown in the console;
//! > percent-encode it. Behind our gateway every path starts with `/gw`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const YAML: &str = r#"title: Tenancy
environments:
  production: {}
default_environment: production
credentials:
  tenant: { secret: false }
  api_key: {}
login:
  method: POST
  path: /api/v1/${credentials.tenant}/login
  encoding: json
  body:
    api_key: ${credentials.api_key}
  response:
    access_token: $.token
    access_token_expiry:
      - expires_in: { path: $.expires_in }
    examples:
      - body: { token: abc, expires_in: 900 }
policy:
  refresh: after_expiry
usage:
  headers:
    Authorization: Bearer ${session.access_token}
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
fn cli(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_auth-cli"));
    command
        .env_clear()
        .arg("--store")
        .arg(dir.join("sessions.json"))
        .arg("--specs")
        .arg(dir.join("specs"))
        .stdin(Stdio::null());
    command
}

#[tokio::test]
async fn the_tenant_in_the_login_path_is_sent_encoded_behind_a_gateway() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/gw/api/v1/acme%20corp%2Feu/login"))
        .and(body_json(serde_json::json!({"api_key": "key-1"})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"token": "tenant-token", "expires_in": 900})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let dir = temp_dir("path-templates");
    std::fs::write(dir.join("specs/tenancy.yaml"), YAML).expect("write");

    let validate = cli(&dir).arg("validate").output().expect("runs");
    assert!(
        validate.status.success(),
        "{}",
        String::from_utf8_lossy(&validate.stderr)
    );

    let out = cli(&dir)
        .env("TENANCY_TENANT", "acme corp/eu")
        .env("TENANCY_API_KEY", "key-1")
        .args(["--base-url", &format!("{}/gw", server.uri())])
        .args(["token", "tenancy"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "tenant-token");
}

#[test]
fn an_undeclared_credential_in_a_path_is_reported_at_its_placeholder() {
    let dir = temp_dir("path-templates-bad");
    let bad = YAML.replace(
        "/api/v1/${credentials.tenant}/login",
        "/api/v1/${credentials.tennant}/login",
    );
    std::fs::write(dir.join("specs/tenancy.yaml"), bad).expect("write");
    let out = cli(&dir).arg("validate").output().expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Line 10 `  path: /api/v1/${...`: the placeholder starts at column 17.
    assert!(
        stderr.contains("tenancy.yaml:10:17")
            && stderr.contains("`${credentials.tennant}` names a credential that is not declared"),
        "{stderr}"
    );
}
