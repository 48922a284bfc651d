//! Helpers shared by the scenario tests. The vendor servers themselves live in each test file,
//! written from the vendor's document.
#![allow(dead_code)]

pub mod redis;
pub mod redis_tls;
pub mod rotating;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_runtime::auth_spec::model::Retry;
use auth_runtime::auth_spec::{self, ProviderSpec};
use base64::Engine as _;

/// A provider spec from the repository's `providers/` folder.
pub fn spec(name: &str) -> Arc<ProviderSpec> {
    parsed("../providers", name)
}

/// An invented vendor from `auth-spec/tests/valid/` (a feature of the language, in one file).
pub fn fixture(name: &str) -> Arc<ProviderSpec> {
    parsed("../auth-spec/tests/valid", name)
}

/// `name.yaml` in `folder` (relative to this crate), parsed.
fn parsed(folder: &str, name: &str) -> Arc<ProviderSpec> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(folder)
        .join(format!("{name}.yaml"));
    Arc::new(auth_spec::parse_file(&path).unwrap_or_else(|d| panic!("{d}")))
}

/// An unsigned JWT with these claims (clients read `exp` without verifying).
pub fn jwt(claims: serde_json::Value) -> String {
    let enc = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.c2lnbmF0dXJl",
        enc.encode(r#"{"kid":"1","alg":"RS256"}"#),
        enc.encode(claims.to_string())
    )
}

/// Seconds since the epoch of a wall time.
pub fn epoch(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Fast retries so fault tests stay well under a second.
pub fn fast_retry() -> Retry {
    Retry {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(50),
    }
}

/// The JSON body of a wiremock request.
pub fn json_body(request: &wiremock::Request) -> serde_json::Value {
    serde_json::from_slice(&request.body).unwrap_or(serde_json::Value::Null)
}

/// The form fields of a wiremock request.
pub fn form_body(request: &wiremock::Request) -> Vec<(String, String)> {
    url::form_urlencoded::parse(&request.body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// One form field.
pub fn form_field(request: &wiremock::Request, name: &str) -> Option<String> {
    form_body(request)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// How many received requests went to `path`.
pub async fn count(server: &wiremock::MockServer, path: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == path)
        .count()
}

/// Every task's output, in the order they finish; then a fresh cooperative budget for the
/// test's own task.
///
/// Joining hundreds of finished tasks in one poll can spend tokio's budget for the polling task
/// to the last unit. A `wiremock::MockServer` dropped after that verifies its mocks on a nested
/// executor, where the tokio lock it reads is refused for want of budget, again and again: the
/// test spins forever. Yielding once gives the task a new budget.
pub async fn join_every<T: 'static>(mut tasks: tokio::task::JoinSet<T>) -> Vec<T> {
    let mut outputs = Vec::with_capacity(tasks.len());
    while let Some(result) = tasks.join_next().await {
        outputs.push(result.expect("task"));
    }
    tokio::task::yield_now().await;
    outputs
}

/// An engine builder for `spec` against the simulator `mock`: its credentials, its base URL.
pub fn builder(
    mock: &auth_mock::MockServer,
    spec: Arc<ProviderSpec>,
) -> auth_runtime::AuthenticatorBuilder {
    auth_runtime::Authenticator::builder(spec, mock.credentials().into_iter().collect())
        .base_url(mock.base_url())
}

/// [`builder`], built.
pub fn engine(
    mock: &auth_mock::MockServer,
    spec: Arc<ProviderSpec>,
) -> auth_runtime::Authenticator {
    builder(mock, spec).build().expect("builds")
}
