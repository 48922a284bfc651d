//! Request bodies that are not mappings (issue 9, item 13), against a vendor written from its
//! (invented) "Session API" page:
//!
//! > `POST /session` with `{"api_key": "..."}` answers
//! > `{"token": "...", "refresh_token": "...", "expires_in": 900}`.
//! > To renew, `POST /session/renew` with the refresh token as a JSON string body
//! > (`Content-Type: application/json`, the body is `"<refresh token>"`, quotes included). It
//! > answers a new pair; a refresh token works once.
//! > To end a session, `POST /session/revoke` with a JSON array of the tokens to revoke.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_runtime::auth_spec;
use auth_runtime::{Authenticator, Credentials, LogoutOutcome, ManualClock};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const API_KEY: &str = "key-0c1d";
const LIFETIME: Duration = Duration::from_secs(900);

/// The spec a user writes from the page.
const SPEC: &str = r#"title: Session API
environments:
  production: { base_url: https://api.session.example }
default_environment: production
credentials:
  api_key: {}
login:
  method: POST
  path: /session
  encoding: json
  body: { api_key: "${credentials.api_key}" }
  response:
    access_token: $.token
    refresh_token: $.refresh_token
    access_token_expiry:
      - expires_in: { path: $.expires_in }
    refresh_token_expiry: []
    examples:
      - body: { token: at-1, refresh_token: rt-1, expires_in: 900 }
refresh:
  method: POST
  path: /session/renew
  encoding: json
  body: ${session.refresh_token}
  response:
    access_token: $.token
    refresh_token: $.refresh_token
    access_token_expiry:
      - expires_in: { path: $.expires_in }
    refresh_token_expiry: []
    examples:
      - body: { token: at-2, refresh_token: rt-2, expires_in: 900 }
logout:
  method: POST
  path: /session/revoke
  encoding: json
  body: [ "${session.access_token}", "${session.refresh_token}" ]
policy:
  refresh: after_expiry
  rotation: rotates
usage:
  headers:
    Authorization: Bearer ${session.access_token}
"#;

#[derive(Default)]
struct Vendor {
    serial: u64,
    /// Refresh tokens issued and not yet used.
    live: Vec<String>,
    /// Requests that did not follow the page.
    malformed: Vec<String>,
}

impl Vendor {
    fn issue(&mut self) -> ResponseTemplate {
        self.serial += 1;
        let refresh = format!("rt-{}", self.serial);
        self.live.push(refresh.clone());
        ResponseTemplate::new(200).set_body_json(json!({
            "token": format!("at-{}", self.serial),
            "refresh_token": refresh,
            "expires_in": LIFETIME.as_secs(),
        }))
    }
}

struct Login(Arc<Mutex<Vendor>>);

impl Respond for Login {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut vendor = self.0.lock().expect("vendor");
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        if body != json!({ "api_key": API_KEY }) {
            vendor.malformed.push(format!("login body {body}"));
            return ResponseTemplate::new(401);
        }
        vendor.issue()
    }
}

struct Renew(Arc<Mutex<Vendor>>);

impl Respond for Renew {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut vendor = self.0.lock().expect("vendor");
        let json = request
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        // The page: the body is the refresh token as a JSON string.
        let presented = match serde_json::from_slice::<Value>(&request.body) {
            Ok(Value::String(token)) if json => token,
            _ => {
                vendor.malformed.push(format!(
                    "renew body {:?}",
                    String::from_utf8_lossy(&request.body)
                ));
                return ResponseTemplate::new(400);
            }
        };
        match vendor.live.iter().position(|t| *t == presented) {
            Some(i) => {
                vendor.live.remove(i);
                vendor.issue()
            }
            None => ResponseTemplate::new(401),
        }
    }
}

async fn bodies(server: &MockServer, at: &str) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == at)
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect()
}

#[tokio::test]
async fn the_renewal_body_is_the_refresh_token_as_a_json_string() {
    let server = MockServer::start().await;
    let vendor = Arc::new(Mutex::new(Vendor::default()));
    Mock::given(method("POST"))
        .and(path("/session"))
        .respond_with(Login(Arc::clone(&vendor)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/session/renew"))
        .respond_with(Renew(Arc::clone(&vendor)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/session/revoke"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let spec =
        Arc::new(auth_spec::parse("session_api.yaml", SPEC).unwrap_or_else(|d| panic!("{d}")));
    let clock = Arc::new(ManualClock::new());
    let auth = Authenticator::builder(spec, Credentials::new().with("api_key", API_KEY))
        .base_url(server.uri())
        .clock(clock.clone())
        .build()
        .expect("builds");

    let first = auth.access_token().await.expect("login");
    assert_eq!(first.secret().expose_secret(), "at-1");
    clock.advance(LIFETIME + Duration::from_secs(1));
    let second = auth.access_token().await.expect("renewed");
    assert_eq!(second.secret().expose_secret(), "at-2");

    // The exact bytes the page asks for: a JSON string, quotes included.
    assert_eq!(bodies(&server, "/session/renew").await, [r#""rt-1""#]);
    assert_eq!(
        auth.logout().await.expect("logout"),
        LogoutOutcome::VendorCalled
    );
    assert_eq!(
        bodies(&server, "/session/revoke").await,
        [r#"["at-2","rt-2"]"#]
    );
    let vendor = vendor.lock().expect("vendor");
    assert!(vendor.malformed.is_empty(), "{:?}", vendor.malformed);
}
