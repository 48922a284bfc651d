//! The simulator of a spec whose API answers are judged by their body (issue 9, item 1): once a
//! session has ended, an API call with its token gets the `session_over` rule's envelope, and
//! the engine behind the middleware logs in again and replays.

mod common;

use std::sync::Arc;

use auth_mock::PROTECTED_PATH;
use auth_mock::{MockOptions, MockServer};
use auth_runtime::auth_spec::{self, ProviderSpec};

fn spec() -> Arc<ProviderSpec> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../auth-spec/tests/valid/api_failures.yaml");
    let yaml = std::fs::read_to_string(&path).expect("fixture");
    Arc::new(auth_spec::parse("envelope_api.yaml", &yaml).unwrap_or_else(|d| panic!("{d}")))
}

#[tokio::test]
async fn an_ended_session_is_answered_with_the_session_over_envelope() {
    let spec = spec();
    let mock = MockServer::start(Arc::clone(&spec), MockOptions::default())
        .await
        .expect("starts");
    let auth = common::engine(&mock, spec);
    let token = auth.access_token().await.expect("login");
    let api = format!("{}{PROTECTED_PATH}", mock.base_url());
    let http = reqwest::Client::new();
    let ok = http
        .get(&api)
        .header(
            "x-session",
            auth_runtime::secrecy::ExposeSecret::expose_secret(token.secret()),
        )
        .send()
        .await
        .expect("sent");
    assert_eq!(ok.status(), 200);

    mock.end_sessions();
    let over = http
        .get(&api)
        .header(
            "x-session",
            auth_runtime::secrecy::ExposeSecret::expose_secret(token.secret()),
        )
        .send()
        .await
        .expect("sent");
    let status = over.status().as_u16();
    let headers = over.headers().clone();
    let body = over.text().await.expect("body");
    let verdict = auth
        .api_failure(status, &headers, &body)
        .expect("the envelope says so");
    assert_eq!(
        verdict.means,
        auth_runtime::auth_spec::judge::FailureMeaning::SessionOver,
        "{body}"
    );

    // The middleware logs in again and replays.
    let client = auth.client(reqwest::Client::new());
    let replayed = client.get(&api).send().await.expect("sent");
    assert_eq!(replayed.status(), 200);
    let stats = mock.stats();
    assert_eq!(stats.logins, 2, "{stats:?}");
}
