//! Several session values (issue 9, item 2), against a vendor written from this invented page:
//!
//! > **Two tokens.** `POST /api/login` with `{"user": "...", "password": "..."}` answers 200 with
//! > two headers, `X-Session` (your session token) and `X-Account-Token`, a `X-Login-Id` header,
//! > and the body `{"user": {"id": 42}, "ttl": 1800}` (seconds). Every API call must send
//! > `X-Session`, `X-Account-Token` and `X-User: <user id>`; a call missing one is refused
//! > with 401. Shortly before the session expires, an API answer may carry a new
//! > `X-Account-Token` (or a new `X-Session`): from then on only the new one works, and a new
//! > `X-Session` lasts 30 minutes. `DELETE /api/session` with `X-Session` and
//! > `X-Login-Id: <the login's X-Login-Id>` ends the session.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_runtime::auth_spec::{self, ProviderSpec};
use auth_runtime::{Authenticator, Credentials, FileStore, ManualClock};
use secrecy::ExposeSecret;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const SPEC: &str = r#"
title: Two Tokens
environments:
  production: {}
default_environment: production
credentials:
  user: { secret: false }
  password: {}
login:
  method: POST
  path: /api/login
  encoding: json
  body: { user: "${credentials.user}", password: "${credentials.password}" }
  response:
    access_token: "@header:X-Session"
    values:
      account_token: "@header:X-Account-Token"
      user_id: $.user.id
    access_token_expiry:
      - expires_in: { path: $.ttl }
      - lifetime: 30m
    examples:
      - headers: { X-Session: sess-1, X-Account-Token: acct-1, X-Login-Id: login-1 }
        body: { user: { id: 42 }, ttl: 1800 }
logout:
  method: DELETE
  path: /api/session
  headers:
    X-Session: ${session.access_token}
    X-Login-Id: "${response.@header:X-Login-Id}"
policy:
  refresh: after_expiry
usage:
  headers:
    X-Session: ${session.access_token}
    X-Account-Token: ${session.account_token}
    X-User: ${session.user_id}
  renewed_by_answers:
    access_token: "@header:X-Session"
    account_token: "@header:X-Account-Token"
"#;

fn spec() -> Arc<ProviderSpec> {
    Arc::new(auth_spec::parse("two_tokens.yaml", SPEC).unwrap_or_else(|d| panic!("{d}")))
}

/// The vendor's API: the session and account tokens it accepts, and the renewal it sends once.
struct Api {
    /// (session, account) the vendor accepts now.
    live: Mutex<(String, String)>,
    /// A renewal (header, value) for the next answer.
    renew: Mutex<Option<(&'static str, String)>>,
    calls: AtomicUsize,
}

impl Respond for Api {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let got = |name: &str| {
            request
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let mut live = self.live.lock().expect("live");
        let ok = got("x-session").as_deref() == Some(live.0.as_str())
            && got("x-account-token").as_deref() == Some(live.1.as_str())
            && got("x-user").as_deref() == Some("42");
        if !ok {
            return ResponseTemplate::new(401);
        }
        let mut answer = ResponseTemplate::new(200).set_body_string("things");
        if let Some((name, value)) = self.renew.lock().expect("renew").take() {
            // From now on only the new one works.
            if name == "X-Session" {
                live.0.clone_from(&value);
            } else {
                live.1.clone_from(&value);
            }
            answer = answer.insert_header(name, value.as_str());
        }
        answer
    }
}

async fn vendor() -> (MockServer, Arc<Api>) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/login"))
        .and(body_json(
            serde_json::json!({"user": "ann", "password": "pw"}),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("X-Session", "sess-1")
                .insert_header("X-Account-Token", "acct-1")
                .insert_header("X-Login-Id", "login-1")
                .set_body_json(serde_json::json!({"user": {"id": 42}, "ttl": 1800})),
        )
        .mount(&server)
        .await;
    let api = Arc::new(Api {
        live: Mutex::new(("sess-1".into(), "acct-1".into())),
        renew: Mutex::new(None),
        calls: AtomicUsize::new(0),
    });
    Mock::given(path("/api/things"))
        .respond_with(ApiHandle(Arc::clone(&api)))
        .mount(&server)
        .await;
    (server, api)
}

struct ApiHandle(Arc<Api>);

impl Respond for ApiHandle {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.respond(request)
    }
}

fn engine(server: &MockServer, store: Option<&std::path::Path>) -> Authenticator {
    let mut builder = Authenticator::builder(
        spec(),
        Credentials::new()
            .with("user", "ann")
            .with("password", "pw"),
    )
    .base_url(server.uri())
    .retry(common::fast_retry());
    if let Some(path) = store {
        builder = builder.store(Arc::new(FileStore::new(path)));
    }
    builder.build().expect("builds")
}

async fn call(auth: &Authenticator, server: &MockServer) -> u16 {
    auth.client(reqwest::Client::new())
        .get(format!("{}/api/things", server.uri()))
        .send()
        .await
        .expect("sent")
        .status()
        .as_u16()
}

fn temp_store(name: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir =
        std::env::temp_dir().join(format!("auth-values-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join("sessions.json")
}

#[tokio::test]
async fn two_header_tokens_both_arrive_on_the_api_call_and_logout_names_the_login() {
    let (server, api) = vendor().await;
    Mock::given(method("DELETE"))
        .and(path("/api/session"))
        .and(header("x-session", "sess-1"))
        .and(header("x-login-id", "login-1"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let auth = engine(&server, None);
    assert_eq!(
        call(&auth, &server).await,
        200,
        "both tokens and the user id"
    );
    assert_eq!(call(&auth, &server).await, 200);
    assert_eq!(api.calls.load(Ordering::SeqCst), 2);
    assert_eq!(common::count(&server, "/api/login").await, 1);
    let shown = format!("{:?}", auth.cached().expect("cached").session());
    assert!(
        !shown.contains("acct-1") && shown.contains("account_token"),
        "{shown}"
    );
    auth.logout().await.expect("logout");
}

#[tokio::test]
async fn a_rolling_token_replaces_the_stored_one_across_engines_sharing_a_file_store() {
    let (server, api) = vendor().await;
    let store = temp_store("rolling");
    let first = engine(&server, Some(&store));
    assert_eq!(call(&first, &server).await, 200);
    let before = first.cached().expect("cached");
    // The next answer carries a new account token; from then on only it works.
    *api.renew.lock().expect("renew") = Some(("X-Account-Token", "acct-2".into()));
    assert_eq!(
        call(&first, &server).await,
        200,
        "answered with the renewal"
    );
    assert_eq!(
        call(&first, &server).await,
        200,
        "sent with the new account token"
    );
    let after = first.cached().expect("cached");
    assert!(after.generation() > before.generation());
    assert_eq!(
        after.session().values["account_token"].expose_secret(),
        "acct-2"
    );
    // An answer to a request of the older session never overwrites the newer one.
    let mut stale = http::HeaderMap::new();
    stale.insert("x-account-token", "acct-0".parse().expect("value"));
    first.observe_answer(&before, &stale).await;
    assert_eq!(
        first.cached().expect("cached").session().values["account_token"].expose_secret(),
        "acct-2"
    );
    // Another engine (another process) on the same file store uses the new value, no login.
    let second = engine(&server, Some(&store));
    assert_eq!(call(&second, &server).await, 200);
    assert_eq!(common::count(&server, "/api/login").await, 1);
    let text = std::fs::read_to_string(&store).expect("store file");
    assert!(
        text.contains("acct-2") && !text.contains("acct-1"),
        "{text}"
    );
}

#[tokio::test]
async fn a_rolled_session_token_lasts_its_declared_lifetime() {
    let (server, api) = vendor().await;
    let clock = Arc::new(ManualClock::new());
    let auth = Authenticator::builder(
        spec(),
        Credentials::new()
            .with("user", "ann")
            .with("password", "pw"),
    )
    .base_url(server.uri())
    .clock(clock.clone())
    .retry(common::fast_retry())
    .build()
    .expect("builds");
    assert_eq!(call(&auth, &server).await, 200);
    clock.advance(Duration::from_secs(1500));
    *api.renew.lock().expect("renew") = Some(("X-Session", "sess-2".into()));
    assert_eq!(call(&auth, &server).await, 200);
    let token = auth.cached().expect("cached");
    assert_eq!(token.secret().expose_secret(), "sess-2");
    // `expires_in` belongs to token answers: the declared `lifetime: 30m` counts from now.
    let wall = auth_runtime::Clock::wall(&*clock);
    assert_eq!(token.expires_at(), Some(wall + Duration::from_secs(1800)));
    // Past the first token's expiry the rolled one is still used: no login.
    clock.advance(Duration::from_secs(600));
    assert_eq!(call(&auth, &server).await, 200);
    assert_eq!(common::count(&server, "/api/login").await, 1);
}

/// The same vendor's renewal, from its page: "`POST /api/renew` with `{"refresh": "..."}` (the
/// `refresh` of the login's body) answers a new `X-Session` and `{"ttl": 1800}`; the account
/// token stays as it was."
const WITH_RENEWAL: &str = r#"
title: Two Tokens
environments:
  production: {}
default_environment: production
credentials:
  user: { secret: false }
  password: {}
login:
  method: POST
  path: /api/login
  encoding: json
  body: { user: "${credentials.user}", password: "${credentials.password}" }
  response:
    access_token: "@header:X-Session"
    refresh_token: $.refresh
    values:
      account_token: "@header:X-Account-Token"
      user_id: $.user.id
    access_token_expiry:
      - expires_in: { path: $.ttl }
    refresh_token_expiry: []
    examples:
      - headers: { X-Session: sess-1, X-Account-Token: acct-1 }
        body: { user: { id: 42 }, ttl: 1800, refresh: r-1 }
refresh:
  method: POST
  path: /api/renew
  encoding: json
  body: { refresh: "${session.refresh_token}" }
  response:
    access_token: "@header:X-Session"
    access_token_expiry:
      - expires_in: { path: $.ttl }
    examples:
      - headers: { X-Session: sess-2 }
        body: { ttl: 1800 }
policy:
  refresh: after_expiry
  rotation: reusable
usage:
  headers:
    X-Session: ${session.access_token}
    X-Account-Token: ${session.account_token}
    X-User: ${session.user_id}
"#;

#[tokio::test]
async fn a_refresh_that_does_not_declare_a_value_carries_it_over() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/login"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("X-Session", "sess-1")
                .insert_header("X-Account-Token", "acct-1")
                .set_body_json(
                    serde_json::json!({"user": {"id": 42}, "ttl": 1800, "refresh": "r-1"}),
                ),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/renew"))
        .and(body_json(serde_json::json!({"refresh": "r-1"})))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("X-Session", "sess-2")
                .set_body_json(serde_json::json!({"ttl": 1800})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let api = Arc::new(Api {
        live: Mutex::new(("sess-2".into(), "acct-1".into())),
        renew: Mutex::new(None),
        calls: AtomicUsize::new(0),
    });
    Mock::given(path("/api/things"))
        .respond_with(ApiHandle(Arc::clone(&api)))
        .mount(&server)
        .await;
    let clock = Arc::new(ManualClock::new());
    let auth = Authenticator::builder(
        Arc::new(
            auth_spec::parse("two_tokens.yaml", WITH_RENEWAL).unwrap_or_else(|d| panic!("{d}")),
        ),
        Credentials::new()
            .with("user", "ann")
            .with("password", "pw"),
    )
    .base_url(server.uri())
    .clock(clock.clone())
    .retry(common::fast_retry())
    .build()
    .expect("builds");
    auth.access_token().await.expect("login");
    clock.advance(Duration::from_secs(1801));
    // The refreshed session: a new X-Session, the login's account token and user id.
    assert_eq!(call(&auth, &server).await, 200);
    let session = auth.cached().expect("cached");
    assert_eq!(session.secret().expose_secret(), "sess-2");
    assert_eq!(
        session.session().values["account_token"].expose_secret(),
        "acct-1"
    );
}
