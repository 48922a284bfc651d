//! Computed credentials through the command line (issue 9, item 4): a provider that exists only
//! as a YAML file in a `--specs` folder, whose login sends a client assertion the client signs
//! with an RSA private key read from the environment, against a vendor played by wiremock from
//! this invented page:
//!
//! > `POST /oauth2/token` (form) with `grant_type=client_credentials` and `client_assertion`: a
//! > JWT signed RS256 with your private key (upload the public key in the console), `iss` = your
//! > client id, `aud` = `https://auth.acme.test/oauth2/token`, `exp` at most 5 minutes away.
//! > Answers `{"access_token": "...", "expires_in": 3600}`, or 401 `invalid_client`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const AUDIENCE: &str = "https://auth.acme.test/oauth2/token";

const YAML: &str = r#"title: Acme Identity
environments:
  production: {}
default_environment: production
credentials:
  client_id: { secret: false, env: ACME_CLIENT_ID }
  private_key: { env: ACME_PRIVATE_KEY_PEM }
  client_assertion:
    signed_jwt:
      algorithm: RS256
      key: private_key
      claims:
        iss: "${credentials.client_id}"
        sub: "${credentials.client_id}"
        aud: https://auth.acme.test/oauth2/token
        iat: "${now.epoch_seconds}"
        exp: { now_plus: 5m }
login:
  method: POST
  path: /oauth2/token
  encoding: form
  body:
    grant_type: client_credentials
    client_assertion_type: urn:ietf:params:oauth:client-assertion-type:jwt-bearer
    client_assertion: ${credentials.client_assertion}
  response:
    access_token: $.access_token
    access_token_expiry:
      - expires_in: { path: $.expires_in }
    examples:
      - body: { access_token: abc, expires_in: 3600 }
policy:
  refresh: after_expiry
usage:
  headers:
    Authorization: Bearer ${session.access_token}
  expired:
    status: [401]
"#;

fn key_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../auth-runtime/tests/fixtures/keys")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("auth-cli-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(dir.join("specs")).expect("temp dir");
    std::fs::write(dir.join("specs/acme.yaml"), YAML).expect("write");
    dir
}

fn cli(dir: &Path, vendor: &str, private_key: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_auth-cli"));
    command
        .env_clear()
        .env("ACME_CLIENT_ID", "client-7")
        .env("ACME_PRIVATE_KEY_PEM", private_key)
        .arg("--store")
        .arg(dir.join("sessions.json"))
        .arg("--specs")
        .arg(dir.join("specs"))
        .arg("--base-url")
        .arg(vendor)
        .stdin(Stdio::null());
    command
}

/// Verifies the assertion with the registered public key, as the page says.
struct Vendor(DecodingKey);

impl Respond for Vendor {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let form: Vec<(String, String)> = url::form_urlencoded::parse(&request.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let assertion = form
            .iter()
            .find(|(k, _)| k == "client_assertion")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&["client-7"]);
        validation.leeway = 0;
        match jsonwebtoken::decode::<Value>(&assertion, &self.0, &validation) {
            Ok(data)
                if data.claims["exp"].as_u64().unwrap_or(0)
                    <= data.claims["iat"].as_u64().unwrap_or(0) + 300 =>
            {
                ResponseTemplate::new(200).set_body_json(
                    serde_json::json!({"access_token": "signed-in-token", "expires_in": 3600}),
                )
            }
            _ => ResponseTemplate::new(401)
                .set_body_json(serde_json::json!({"error": "invalid_client"})),
        }
    }
}

async fn vendor() -> MockServer {
    let server = MockServer::start().await;
    let public = DecodingKey::from_rsa_pem(key_file("test-only-rsa-public.pem").as_bytes())
        .expect("public key");
    Mock::given(method("POST"))
        .and(path("/oauth2/token"))
        .respond_with(Vendor(public))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn token_signs_the_assertion_with_the_private_key_from_the_environment() {
    let server = vendor().await;
    let dir = temp_dir("signed");
    let validate = cli(&dir, &server.uri(), "")
        .arg("validate")
        .output()
        .expect("runs");
    assert!(
        validate.status.success(),
        "{}",
        String::from_utf8_lossy(&validate.stderr)
    );
    let out = cli(&dir, &server.uri(), &key_file("test-only-rsa-private.pem"))
        .args(["token", "acme"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "signed-in-token"
    );
}

#[tokio::test]
async fn a_key_that_is_not_a_pem_private_key_is_a_usage_error_that_never_shows_it() {
    let server = vendor().await;
    let dir = temp_dir("signed-bad");
    let public = key_file("test-only-rsa-public.pem");
    let out = cli(&dir, &server.uri(), &public)
        .args(["token", "acme"])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(2),
        "exit 2: usage or credential error"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("client_assertion") && stderr.contains("private_key"),
        "{stderr}"
    );
    let body_line = public.lines().nth(1).expect("PEM body");
    assert!(!stderr.contains(body_line), "{stderr}");
    assert!(
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
}

#[tokio::test]
async fn a_vendor_that_rejects_the_assertion_is_exit_3() {
    let server = vendor().await;
    let dir = temp_dir("signed-rejected");
    // Another RSA key than the one registered at the vendor does not exist in the fixtures; an
    // EC key where RS256 is declared cannot sign, so a wrong algorithm at the vendor is shown
    // with a spec that signs HS256 instead.
    std::fs::write(
        dir.join("specs/acme.yaml"),
        YAML.replace("algorithm: RS256", "algorithm: HS256"),
    )
    .expect("write");
    let out = cli(&dir, &server.uri(), "a shared secret")
        .args(["token", "acme"])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
