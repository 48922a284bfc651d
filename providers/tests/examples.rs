//! Runs each vendor's example program (`providers/examples/`) against a local server that
//! answers as the vendor's document says, with the credentials in the environment variables the
//! documents' specs name.

use std::path::PathBuf;
use std::process::Command;

use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The example binary; `cargo test` builds examples, a single-test run may not have, so build it.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target dir");
    let binary = dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !binary.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", "providers", "--example", name])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building example {name}");
    }
    binary
}

fn run(name: &str, base_url: &str, env: &[(&str, &str)]) -> String {
    let output = Command::new(example(name))
        .arg(base_url)
        .envs(env.iter().copied())
        .output()
        .expect("example runs");
    assert!(
        output.status.success(),
        "{name} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[tokio::test]
async fn intergiro_example() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/auth/login"))
        .and(body_string_contains("\"api_key\":\"key-1\""))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "eyJraWQiOiIxIiwiYWxnIjoi.eyJleHAiOjQxMDI0NDQ4MDB9.sig",
            "refresh_token": "r-1"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v3/individuals"))
        .and(header(
            "authorization",
            "Bearer eyJraWQiOiIxIiwiYWxnIjoi.eyJleHAiOjQxMDI0NDQ4MDB9.sig",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_string("[]"))
        .mount(&server)
        .await;
    let out = run(
        "intergiro",
        &server.uri(),
        &[("INTERGIRO_API_KEY", "key-1")],
    );
    assert_eq!(out, "200 []");
}

#[tokio::test]
async fn apiax_example() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth/realms/apiax/protocol/openid-connect/token"))
        .and(body_string_contains("grant_type=password"))
        .and(body_string_contains("client_id=integration-api"))
        .and(body_string_contains("username=u1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "ACCESS_TOKEN", "expires_in": 1800, "refresh_expires_in": 0,
            "refresh_token": "REFRESH_TOKEN", "token_type": "bearer"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/rules"))
        .and(header("authorization", "Bearer ACCESS_TOKEN"))
        .respond_with(ResponseTemplate::new(200).set_body_string("rules"))
        .mount(&server)
        .await;
    let out = run(
        "apiax",
        &server.uri(),
        &[("APIAX_USERNAME", "u1"), ("APIAX_PASSWORD", "p1")],
    );
    assert_eq!(out, "200 rules");
}

#[tokio::test]
async fn idissuer_example() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/auth/token"))
        .and(body_string_contains("\"username\":\"u@example.com\""))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": {"token_type": "bearer", "token": "T-1", "expires_in": 3600},
            "refresh_token": "R-1"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/documents"))
        .and(header("authorization", "Bearer T-1"))
        .respond_with(ResponseTemplate::new(200).set_body_string("docs"))
        .mount(&server)
        .await;
    let out = run(
        "idissuer",
        &server.uri(),
        &[
            ("IDISSUER_USERNAME", "u@example.com"),
            ("IDISSUER_PASSWORD", "p"),
        ],
    );
    assert_eq!(out, "200 docs");
}
