//! JWT claims in templates through the command line (issue 9, item 3): a provider that exists
//! only as a YAML file in a `--specs` folder, against a vendor played by wiremock from this
//! invented page:
//!
//! > `POST /oauth/token` with `{"key": "..."}` answers `{"access_token": "<JWT>"}`; the token
//! > lasts an hour. Its `tid` claim is your tenant: send it as `X-Tenant-Id` next to
//! > `Authorization: Bearer <token>` on every call, or the call is refused with 403.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const YAML: &str = r#"title: Tenant Cloud
environments:
  production: {}
default_environment: production
credentials:
  api_key: {}
login:
  method: POST
  path: /oauth/token
  encoding: json
  body: { key: "${credentials.api_key}" }
  response:
    access_token: $.access_token
    access_token_expiry: [{ lifetime: 1h }]
    examples:
      - body: { access_token: eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzdmMiLCJ0aWQiOiJ0LWV4YW1wbGUiLCJyZWdpb24iOjEsImV4cCI6MTc2NzIyNTYwMH0.c2ln }
policy:
  refresh: after_expiry
usage:
  headers:
    Authorization: Bearer ${session.access_token}
    X-Tenant-Id: ${session.access_token.claims.tid}
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
        .env("TENANT_API_KEY", "key-1")
        .arg("--store")
        .arg(dir.join("sessions.json"))
        .arg("--specs")
        .arg(dir.join("specs"))
        .stdin(Stdio::null());
    command
}

fn jwt(claims: serde_json::Value) -> String {
    let enc = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.c2ln",
        enc.encode(r#"{"alg":"RS256"}"#),
        enc.encode(claims.to_string())
    )
}

#[tokio::test]
async fn header_and_request_send_the_tenant_claim() {
    let token = jwt(serde_json::json!({ "sub": "svc", "tid": "t-77" }));
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({ "access_token": token })),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/me"))
        .and(header("authorization", format!("Bearer {token}").as_str()))
        .and(header("x-tenant-id", "t-77"))
        .respond_with(ResponseTemplate::new(200).set_body_string("tenant ok"))
        .mount(&server)
        .await;
    let dir = temp_dir("jwt-claims");
    std::fs::write(dir.join("specs/tenant.yaml"), YAML).expect("write");
    let base = server.uri();

    let out = cli(&dir)
        .args(["--base-url", &base, "header", "tenant"])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("X-Tenant-Id: t-77"), "{stdout}");
    assert!(
        stdout.contains(&format!("Authorization: Bearer {token}")),
        "{stdout}"
    );

    let out = cli(&dir)
        .args(["--base-url", &base, "request", "tenant", "/v1/me"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "tenant ok");
}

#[test]
fn a_claim_no_example_token_shows_is_reported_at_its_placeholder() {
    let dir = temp_dir("jwt-claims-bad");
    let bad = YAML.replace("claims.tid}", "claims.tenant}");
    std::fs::write(dir.join("specs/tenant.yaml"), bad).expect("write");
    let out = cli(&dir).arg("validate").output().expect("runs");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Line 22 `    X-Tenant-Id: ${...`: the placeholder starts at column 18.
    assert!(
        stderr.contains("tenant.yaml:22:18") && stderr.contains("has no claim `tenant`"),
        "{stderr}"
    );
}
