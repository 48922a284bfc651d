//! The rotating-refresh vendor the Redis tests share, from the invented page each of them
//! quotes: `POST /login` with `{"key": "..."}` answers `{"access_token", "refresh_token",
//! "expires_in": 2}`; `POST /refresh` with `{"refresh_token": "..."}` answers a new pair, and a
//! refresh token works once (a second use is counted and refused).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_runtime::auth_spec::{self, ProviderSpec};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The spec a user would write for that page.
pub const SPEC: &str = r#"
title: Rotating
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
    refresh_token: $.refresh_token
    access_token_expiry:
      - expires_in: { path: $.expires_in }
    # The page does not say how long a refresh token lasts.
    refresh_token_expiry: []
    examples:
      - body: { access_token: a, refresh_token: r, expires_in: 2 }
refresh:
  method: POST
  path: /refresh
  encoding: json
  body: { refresh_token: "${session.refresh_token}" }
  response:
    access_token: $.access_token
    refresh_token: $.refresh_token
    access_token_expiry:
      - expires_in: { path: $.expires_in }
    # The page does not say how long a refresh token lasts.
    refresh_token_expiry: []
    examples:
      - body: { access_token: a, refresh_token: r, expires_in: 2 }
policy:
  refresh: after_expiry
  rotation: rotates
usage:
  headers:
    Authorization: Bearer ${session.access_token}
"#;

/// [`SPEC`], parsed.
pub fn spec() -> Arc<ProviderSpec> {
    Arc::new(auth_spec::parse("rotating.yaml", SPEC).unwrap_or_else(|d| panic!("{d}")))
}

/// What the vendor saw.
#[derive(Default)]
pub struct Vendor {
    /// Tokens issued so far: the n-th answer carries `a-n` and `r-n`.
    pub serial: u32,
    /// Logins answered.
    pub logins: u32,
    /// Refreshes answered.
    pub refreshes: u32,
    live: HashSet<String>,
    spent: HashSet<String>,
    /// Refresh tokens presented a second time (or never issued).
    pub reused: u32,
}

/// Answers `/login` or `/refresh`, after `delay`.
pub struct Tokens {
    vendor: Arc<Mutex<Vendor>>,
    refresh: bool,
    delay: Duration,
}

impl Tokens {
    /// The login answer.
    pub fn login(vendor: &Arc<Mutex<Vendor>>, delay: Duration) -> Self {
        Self {
            vendor: Arc::clone(vendor),
            refresh: false,
            delay,
        }
    }

    /// The refresh answer.
    pub fn refresh(vendor: &Arc<Mutex<Vendor>>, delay: Duration) -> Self {
        Self {
            refresh: true,
            ..Self::login(vendor, delay)
        }
    }
}

impl Respond for Tokens {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut v = self.vendor.lock().expect("vendor");
        if self.refresh {
            let presented = super::json_body(request)["refresh_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if v.spent.contains(&presented) || !v.live.remove(&presented) {
                v.reused += 1;
                return ResponseTemplate::new(400);
            }
            v.spent.insert(presented);
            v.refreshes += 1;
        } else {
            v.logins += 1;
        }
        v.serial += 1;
        let n = v.serial;
        v.live.insert(format!("r-{n}"));
        ResponseTemplate::new(200)
            .set_delay(self.delay)
            .set_body_json(serde_json::json!({
                "access_token": format!("a-{n}"), "refresh_token": format!("r-{n}"), "expires_in": 2
            }))
    }
}

/// Mounts both endpoints on `server`, each answering after `delay`.
pub async fn mount(server: &MockServer, delay: Duration) -> Arc<Mutex<Vendor>> {
    let vendor = Arc::new(Mutex::new(Vendor::default()));
    Mock::given(method("POST"))
        .and(path("/login"))
        .respond_with(Tokens::login(&vendor, delay))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/refresh"))
        .respond_with(Tokens::refresh(&vendor, delay))
        .mount(server)
        .await;
    vendor
}
