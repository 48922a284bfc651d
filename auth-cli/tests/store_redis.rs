//! `--store redis://...` (issue 10): sessions in a real `redis-server` the test starts, shared
//! by separate `auth-cli` processes, against a vendor played by wiremock from this invented page:
//!
//! > `POST /login` with `{"key": "..."}` answers `{"access_token": "...", "expires_in": 900}`.
//! > Avoid needless logins: our fraud prevention flags clients that log in on every call.

#[path = "../../auth-runtime/tests/common/redis.rs"]
mod redis;
#[path = "../../auth-runtime/tests/common/redis_tls.rs"]
mod redis_tls;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const YAML: &str = r#"title: Shared
environments:
  production: {}
default_environment: production
credentials:
  key: {}
login:
  method: POST
  path: /login
  encoding: json
  body: { key: "${credentials.key}" }
  response:
    access_token: $.access_token
    access_token_expiry:
      - expires_in: { path: $.expires_in }
    examples:
      - body: { access_token: abc, expires_in: 900 }
policy:
  refresh: after_expiry
usage:
  headers:
    Authorization: Bearer ${session.access_token}
"#;

struct Login(Arc<AtomicU32>);

impl Respond for Login {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(200)
            .set_body_json(serde_json::json!({"access_token": format!("t-{n}"), "expires_in": 900}))
    }
}

fn specs() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "auth-cli-redis-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("shared.yaml"), YAML).expect("write");
    dir
}

fn cli(specs: &Path, store: &str, base_url: &str, args: &[&str]) -> Output {
    cli_env(specs, store, base_url, args, &[])
}

fn cli_env(
    specs: &Path,
    store: &str,
    base_url: &str,
    args: &[&str],
    env: &[(&str, &Path)],
) -> Output {
    Command::new(env!("CARGO_BIN_EXE_auth-cli"))
        .env_clear()
        .env("SHARED_KEY", "key-secret")
        .envs(env.iter().copied())
        .args(["--store", store, "--base-url", base_url])
        .arg("--specs")
        .arg(specs)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("runs")
}

#[tokio::test]
async fn processes_share_one_session_through_redis() {
    let Some(server) = redis::RedisServer::start() else {
        return;
    };
    let vendor = MockServer::start().await;
    let logins = Arc::new(AtomicU32::new(0));
    Mock::given(method("POST"))
        .and(path("/login"))
        .respond_with(Login(Arc::clone(&logins)))
        .mount(&vendor)
        .await;
    let specs = specs();
    let uri = vendor.uri();

    let first = cli(&specs, &server.url, &uri, &["token", "shared"]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&first.stdout).trim(), "t-1");
    // Another process (another machine, as far as Redis knows) reads the same session.
    let second = cli(&specs, &server.url, &uri, &["token", "shared"]);
    assert_eq!(String::from_utf8_lossy(&second.stdout).trim(), "t-1");
    assert_eq!(logins.load(Ordering::SeqCst), 1, "one login for both");
    let status = cli(&specs, &server.url, &uri, &["status", "shared"]);
    assert!(status.status.success());
    assert!(!String::from_utf8_lossy(&status.stdout).contains("t-1"));
    assert!(
        cli(&specs, &server.url, &uri, &["logout", "shared"])
            .status
            .success()
    );
    let third = cli(&specs, &server.url, &uri, &["token", "shared"]);
    assert_eq!(String::from_utf8_lossy(&third.stdout).trim(), "t-2");

    // A Redis that is not there: a typed store failure (exit 1), nothing sent, no secret shown.
    let gone = format!("redis://:hunter2@127.0.0.1:{}/0", free_port());
    let out = cli(&specs, &gone, &uri, &["token", "shared"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("unavailable"), "{stderr}");
    assert!(
        !stderr.contains("hunter2") && !stderr.contains("key-secret"),
        "{stderr}"
    );
    assert_eq!(logins.load(Ordering::SeqCst), 2);
    let _ = std::fs::remove_dir_all(specs);
}

#[tokio::test]
async fn rediss_with_a_private_ca_and_client_certificates_from_the_environment() {
    use redis_tls::{ClientAuth, TlsRedis};
    let Some(tls) = TlsRedis::start(ClientAuth::Required) else {
        return;
    };
    let vendor = MockServer::start().await;
    let logins = Arc::new(AtomicU32::new(0));
    Mock::given(method("POST"))
        .and(path("/login"))
        .respond_with(Login(Arc::clone(&logins)))
        .mount(&vendor)
        .await;
    let specs = specs();
    let uri = vendor.uri();
    let all = [
        ("REDIS_CA_CERT", tls.ca_file.as_path()),
        ("REDIS_CLIENT_CERT", tls.client_cert_file.as_path()),
        ("REDIS_CLIENT_KEY", tls.client_key_file.as_path()),
    ];
    let token = ["token", "shared"];

    let first = cli_env(&specs, &tls.url, &uri, &token, &all);
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&first.stdout).trim(), "t-1");
    let second = cli_env(&specs, &tls.url, &uri, &token, &all);
    assert_eq!(String::from_utf8_lossy(&second.stdout).trim(), "t-1");
    assert_eq!(logins.load(Ordering::SeqCst), 1, "one login for both");

    // The public roots do not vouch for the test CA: a store failure, nothing sent.
    let untrusted = cli_env(&specs, &tls.url, &uri, &token, &[]);
    assert_eq!(
        untrusted.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&untrusted.stderr)
    );
    // The server requires a client certificate.
    let anonymous = cli_env(&specs, &tls.url, &uri, &token, &all[..1]);
    assert_eq!(
        anonymous.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&anonymous.stderr)
    );
    // A certificate without its key is a usage mistake the message names.
    let half = cli_env(&specs, &tls.url, &uri, &token, &all[..2]);
    let stderr = String::from_utf8_lossy(&half.stderr);
    assert_eq!(half.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("REDIS_CLIENT_KEY"), "{stderr}");
    let key = String::from_utf8_lossy(&tls.client_key_pem).into_owned();
    for out in [&first, &second, &untrusted, &anonymous, &half] {
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(
            !text.contains("PRIVATE KEY") && !text.contains(key.trim()),
            "{text}"
        );
    }
    assert_eq!(
        logins.load(Ordering::SeqCst),
        1,
        "no login without the store"
    );
    let _ = std::fs::remove_dir_all(specs);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
