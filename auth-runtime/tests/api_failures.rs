//! Ordinary API answers judged by their body (issue 9, item 1), against a vendor written from
//! this invented page:
//!
//! > **Envelopes.** Every answer is HTTP 200 with `{"result": {"code": N, "text": "..."}}`; the
//! > call succeeded when `code` is 0. Log in with `POST /auth/login` and `{"key": "..."}`; the
//! > answer carries `session`, sent as `X-Session` on every call. Code 12 means your session has
//! > ended: log in again. Any other code means the call failed; `text` says why.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use auth_runtime::auth_spec::judge::FailureMeaning;
use auth_runtime::auth_spec::{self, ProviderSpec};
use auth_runtime::{Authenticator, Credentials};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn spec() -> Arc<ProviderSpec> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../auth-spec/tests/valid/api_failures.yaml");
    let yaml = std::fs::read_to_string(&path).expect("fixture");
    Arc::new(auth_spec::parse("envelope_api.yaml", &yaml).unwrap_or_else(|d| panic!("{d}")))
}

/// Sessions `s-1`, `s-2`, ... ; the API ends the first session (code 12), or, when
/// `refuses`, answers every call with code 7.
struct Vendor {
    logins: AtomicU32,
    calls: AtomicU32,
    refuses: bool,
}

struct Login(Arc<Vendor>);

impl Respond for Login {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.0.logins.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"result": {"code": 0, "text": "OK"}, "session": format!("s-{n}")}),
        )
    }
}

struct Accounts(Arc<Vendor>);

impl Respond for Accounts {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.calls.fetch_add(1, Ordering::SeqCst);
        let session = request
            .headers
            .get("x-session")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let body = match session {
            _ if self.0.refuses => {
                serde_json::json!({"result": {"code": 7, "text": "Unknown account"}})
            }
            "s-1" => serde_json::json!({"result": {"code": 12, "text": "Session ended"}}),
            "s-2" => serde_json::json!({"result": {"code": 0, "text": "OK"}, "accounts": ["a-1"]}),
            _ => serde_json::json!({"result": {"code": 7, "text": "Unknown session"}}),
        };
        ResponseTemplate::new(200).set_body_json(body)
    }
}

async fn vendor(refuses: bool) -> (MockServer, Arc<Vendor>) {
    let server = MockServer::start().await;
    let vendor = Arc::new(Vendor {
        logins: AtomicU32::new(0),
        calls: AtomicU32::new(0),
        refuses,
    });
    Mock::given(method("POST"))
        .and(path("/auth/login"))
        .respond_with(Login(Arc::clone(&vendor)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/accounts"))
        .respond_with(Accounts(Arc::clone(&vendor)))
        .mount(&server)
        .await;
    (server, vendor)
}

fn engine(server: &MockServer) -> Authenticator {
    Authenticator::builder(spec(), Credentials::new().with("api_key", "k-1"))
        .base_url(server.uri())
        .retry(common::fast_retry())
        .build()
        .expect("builds")
}

#[tokio::test]
async fn a_session_over_envelope_in_a_200_is_one_login_and_a_replay() {
    let (server, vendor) = vendor(false).await;
    let auth = engine(&server);
    let client = auth.client(reqwest::Client::new());
    let answer = client
        .get(format!("{}/accounts", server.uri()))
        .send()
        .await
        .expect("sent");
    let body: serde_json::Value = answer.json().await.expect("json");
    assert_eq!(
        body["accounts"][0], "a-1",
        "the replay with the new session"
    );
    assert_eq!(vendor.logins.load(Ordering::SeqCst), 2, "one login more");
    assert_eq!(vendor.calls.load(Ordering::SeqCst), 2, "one replay");
}

#[tokio::test]
async fn an_error_envelope_goes_back_to_the_caller_with_the_vendors_code() {
    let (server, vendor) = vendor(true).await;
    let auth = engine(&server);
    let client = auth.client(reqwest::Client::new());
    let answer = client
        .get(format!("{}/accounts", server.uri()))
        .send()
        .await
        .expect("sent");
    let status = answer.status().as_u16();
    let headers = answer.headers().clone();
    let body = answer.text().await.expect("body");
    assert_eq!(status, 200);
    // The answer is the caller's: no login, no replay for an error.
    assert_eq!(vendor.logins.load(Ordering::SeqCst), 1);
    assert_eq!(vendor.calls.load(Ordering::SeqCst), 1);
    // And the engine says what it means, with the vendor's code and message.
    let verdict = auth
        .api_failure(status, &headers, &body)
        .expect("a failure");
    assert_eq!(verdict.means, FailureMeaning::Error);
    assert_eq!(verdict.detail, "the vendor says code 7: Unknown account");
    assert!(
        auth.api_failure(200, &headers, r#"{"result": {"code": 0}}"#)
            .is_none()
    );
}
