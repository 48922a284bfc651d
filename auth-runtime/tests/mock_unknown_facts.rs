//! The simulator of a spec that declares facts `unknown` (issue 9, item 7): it takes a body of
//! unknown encoding as JSON or as a form, and, with `usage: unknown`, the token in any header or
//! query value (alone or after a scheme), but never a call without it.

use std::sync::Arc;

use auth_mock::PROTECTED_PATH;
use auth_mock::{MockOptions, MockServer};
use auth_runtime::auth_spec::{self, ProviderSpec};

fn spec() -> Arc<ProviderSpec> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../auth-spec/tests/valid/unknown_facts.yaml");
    let yaml = std::fs::read_to_string(&path).expect("fixture");
    Arc::new(auth_spec::parse("sparse.yaml", &yaml).unwrap_or_else(|d| panic!("{d}")))
}

#[tokio::test]
async fn either_encoding_logs_in_and_the_token_may_ride_anywhere() {
    let mock = MockServer::start(spec(), MockOptions::default())
        .await
        .expect("starts");
    let env = mock.credential_env();
    let (user, password) = (env[0].1.clone(), env[1].1.clone());
    let http = reqwest::Client::new();
    let url = format!("{}/session", mock.base_url());
    let as_json = http
        .post(&url)
        .json(&serde_json::json!({"user": user, "password": password}))
        .send()
        .await
        .expect("sent");
    assert_eq!(as_json.status(), 200);
    let as_form = http
        .post(&url)
        .form(&[("user", user.as_str()), ("password", password.as_str())])
        .send()
        .await
        .expect("sent");
    assert_eq!(as_form.status(), 200);
    let as_text = http
        .post(&url)
        .header("content-type", "text/plain")
        .body(format!("user={user}&password={password}"))
        .send()
        .await
        .expect("sent");
    assert_eq!(as_text.status(), 400, "neither JSON nor a form");
    assert_eq!(mock.stats().logins, 2);

    let login: serde_json::Value = as_form.json().await.expect("json");
    let token = login["token"].as_str().expect("token").to_owned();
    let api = format!("{}{PROTECTED_PATH}", mock.base_url());
    let bare = http.get(&api).send().await.expect("sent");
    assert_eq!(bare.status(), 401, "no token, no answer");
    let custom = http
        .get(&api)
        .header("X-Whatever", &token)
        .send()
        .await
        .expect("sent");
    assert_eq!(custom.status(), 200);
    let bearer = http
        .get(&api)
        .bearer_auth(&token)
        .send()
        .await
        .expect("sent");
    assert_eq!(bearer.status(), 200);
    let wrong = http
        .get(&api)
        .bearer_auth(format!("{token}x"))
        .send()
        .await
        .expect("sent");
    assert_eq!(wrong.status(), 401);
}
