//! Computed credentials (issue 9, item 4): a client assertion the client signs itself, against a
//! vendor written from this invented page:
//!
//! > **Acme Identity: authenticating your client.** Request tokens with
//! > `POST /oauth2/token` (form-encoded): `grant_type=client_credentials`,
//! > `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer` and
//! > `client_assertion`, a JWT you sign with the key registered for your client: the client
//! > secret (HS256), or your RSA (RS256) or P-256 (ES256) private key, whose public key you upload
//! > in the console. Its `iss` and `sub` are your client id, `aud` is
//! > `https://auth.acme.test/oauth2/token`, `iat` the time you signed it, and `exp` no more than
//! > five minutes after `iat`. We verify it with the registered key and answer
//! > `{"access_token": "...", "token_type": "Bearer", "expires_in": 3600}`; an assertion that does
//! > not verify, has expired, or lives longer than five minutes is answered
//! > `401 {"error": "invalid_client"}`.

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_runtime::auth_spec::{self, ProviderSpec};
use auth_runtime::{AuthErrorKind, Authenticator, Credentials, ManualClock};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::ExposeSecret;
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const AUDIENCE: &str = "https://auth.acme.test/oauth2/token";
const CLIENT_ID: &str = "client-7";

fn key_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/keys")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn spec(algorithm: &str) -> Arc<ProviderSpec> {
    let yaml = format!(
        r#"
title: Acme Identity
environments:
  production: {{}}
default_environment: production
credentials:
  client_id: {{ secret: false }}
  signing_key: {{}}
  client_assertion:
    signed_jwt:
      algorithm: {algorithm}
      key: signing_key
      header: {{ kid: "${{credentials.client_id}}-key" }}
      claims:
        iss: "${{credentials.client_id}}"
        sub: "${{credentials.client_id}}"
        aud: {AUDIENCE}
        iat: "${{now.epoch_seconds}}"
        exp: {{ now_plus: 5m }}
login:
  method: POST
  path: /oauth2/token
  encoding: form
  body:
    grant_type: client_credentials
    client_assertion_type: urn:ietf:params:oauth:client-assertion-type:jwt-bearer
    client_assertion: ${{credentials.client_assertion}}
  response:
    access_token: $.access_token
    access_token_expiry:
      - expires_in: {{ path: $.expires_in }}
    examples:
      - body: {{ access_token: abc, token_type: Bearer, expires_in: 3600 }}
policy:
  refresh: after_expiry
usage:
  headers:
    Authorization: Bearer ${{session.access_token}}
  expired:
    status: [401]
"#
    );
    Arc::new(auth_spec::parse("acme.yaml", &yaml).unwrap_or_else(|d| panic!("{d}")))
}

/// The claims and header `kid` of every assertion that verified.
type Seen = Arc<Mutex<Vec<(Value, Option<String>)>>>;

/// The vendor: verifies each assertion with the registered (public) key as its page says.
struct Vendor {
    key: DecodingKey,
    algorithm: Algorithm,
    /// The claims and header `kid` of every assertion that verified.
    seen: Seen,
}

impl Respond for Vendor {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let rejected = ResponseTemplate::new(401)
            .set_body_json(serde_json::json!({"error": "invalid_client"}));
        let form = common::form_body(request);
        let field = |name: &str| form.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
        if field("client_assertion_type").as_deref()
            != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        {
            return rejected;
        }
        let Some(assertion) = field("client_assertion") else {
            return rejected;
        };
        let mut validation = Validation::new(self.algorithm);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[CLIENT_ID]);
        validation.sub = Some(CLIENT_ID.into());
        validation.set_required_spec_claims(&["exp", "iat", "aud", "iss", "sub"]);
        validation.leeway = 0;
        let Ok(data) = jsonwebtoken::decode::<Value>(&assertion, &self.key, &validation) else {
            return rejected;
        };
        let iat = data.claims["iat"].as_u64().unwrap_or(0);
        let exp = data.claims["exp"].as_u64().unwrap_or(0);
        if exp <= iat || exp - iat > 300 {
            return rejected;
        }
        self.seen
            .lock()
            .expect("lock")
            .push((data.claims, data.header.kid));
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": format!("token-{iat}"), "token_type": "Bearer", "expires_in": 3600
        }))
    }
}

async fn vendor(key: DecodingKey, algorithm: Algorithm) -> (MockServer, Seen) {
    let server = MockServer::start().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("POST"))
        .and(path("/oauth2/token"))
        .respond_with(Vendor {
            key,
            algorithm,
            seen: Arc::clone(&seen),
        })
        .mount(&server)
        .await;
    (server, seen)
}

fn auth(
    spec: Arc<ProviderSpec>,
    base: String,
    key: &str,
    clock: Arc<ManualClock>,
) -> Authenticator {
    Authenticator::builder(
        spec,
        Credentials::new()
            .with("client_id", CLIENT_ID)
            .with("signing_key", key),
    )
    .base_url(base)
    .clock(clock)
    .retry(common::fast_retry())
    .build()
    .expect("builds")
}

fn epoch(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).expect("after 1970").as_secs()
}

/// Logs in twice an hour apart (the first token expired): each login signs a new assertion at
/// the engine's clock, and the vendor verifies both with its key.
async fn two_logins(algorithm: &str, signing_key: &str, key: DecodingKey, alg: Algorithm) {
    let (server, seen) = vendor(key, alg).await;
    let start = SystemTime::now();
    let clock = Arc::new(ManualClock::starting_at(start));
    let auth = auth(spec(algorithm), server.uri(), signing_key, clock.clone());
    let first = auth
        .access_token()
        .await
        .expect("the vendor accepts the assertion");
    clock.advance(Duration::from_secs(3700));
    let second = auth
        .access_token()
        .await
        .expect("a second login, a new assertion");
    assert_ne!(
        first.secret().expose_secret(),
        second.secret().expose_secret()
    );
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 2, "two assertions verified");
    for (i, (claims, kid)) in seen.iter().enumerate() {
        let iat = epoch(start) + if i == 0 { 0 } else { 3700 };
        assert_eq!(claims["iat"], iat, "iat is the engine's clock");
        assert_eq!(
            claims["exp"],
            iat + 300,
            "exp is within the declared lifetime"
        );
        assert_eq!(claims["iss"], CLIENT_ID);
        assert_eq!(kid.as_deref(), Some("client-7-key"));
    }
}

#[tokio::test]
async fn hs256_assertion_verifies_with_the_shared_secret() {
    let secret = "a shared secret of the client, 32 bytes or more";
    two_logins(
        "HS256",
        secret,
        DecodingKey::from_secret(secret.as_bytes()).expect("secret"),
        Algorithm::HS256,
    )
    .await;
}

#[tokio::test]
async fn rs256_assertion_verifies_with_the_public_key() {
    let public = DecodingKey::from_rsa_pem(key_file("test-only-rsa-public.pem").as_bytes())
        .expect("public key");
    two_logins(
        "RS256",
        &key_file("test-only-rsa-private.pem"),
        public,
        Algorithm::RS256,
    )
    .await;
}

#[tokio::test]
async fn es256_assertion_verifies_with_the_public_key() {
    let public = DecodingKey::from_ec_pem(key_file("test-only-p256-public.pem").as_bytes())
        .expect("public key");
    two_logins(
        "ES256",
        &key_file("test-only-p256-private.pem"),
        public,
        Algorithm::ES256,
    )
    .await;
}

#[tokio::test]
async fn a_key_of_the_wrong_kind_is_a_typed_error_naming_the_credential() {
    let public = DecodingKey::from_rsa_pem(key_file("test-only-rsa-public.pem").as_bytes())
        .expect("public key");
    let (server, _) = vendor(public, Algorithm::RS256).await;
    // An EC key where the spec says RS256.
    let wrong = key_file("test-only-p256-private.pem");
    let clock = Arc::new(ManualClock::starting_at(SystemTime::now()));
    let auth = auth(spec("RS256"), server.uri(), &wrong, clock);
    let error = auth.access_token().await.expect_err("cannot sign");
    match error.kind() {
        AuthErrorKind::SigningFailed {
            credential, key, ..
        } => {
            assert_eq!(credential, "client_assertion");
            assert_eq!(key, "signing_key");
        }
        other => panic!("expected SigningFailed, got {other:?}"),
    }
    let shown = format!("{error} {error:?}");
    assert!(shown.contains("client_assertion"), "{shown}");
    assert!(
        !shown.contains("PRIVATE KEY"),
        "the key never shows: {shown}"
    );
    let body_line = wrong.lines().nth(1).expect("a PEM body line");
    assert!(!shown.contains(body_line), "the key never shows: {shown}");
    assert!(
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty(),
        "nothing is sent without a signature"
    );
}

#[tokio::test]
async fn a_vendor_that_rejects_the_assertion_is_credentials_rejected() {
    // The vendor registered another key than the one the client signs with.
    let (server, _) = vendor(
        DecodingKey::from_secret(b"the vendor's idea of the secret").expect("secret"),
        Algorithm::HS256,
    )
    .await;
    let clock = Arc::new(ManualClock::starting_at(SystemTime::now()));
    let auth = auth(spec("HS256"), server.uri(), "another secret", clock);
    let error = auth.access_token().await.expect_err("rejected");
    assert!(error.is_credentials_rejected(), "{error:?}");
}
