//! Typed clients on a shared Redis store (issue 10): two clients, as two replicas would be, share
//! one session through a real `redis-server` the test starts, against a vendor written from the
//! invented page quoted in `auth-spec/tests/valid/login_limit.yaml`.

#[path = "../../auth-runtime/tests/common/redis.rs"]
mod redis;

auth_macros::provider!("../auth-spec/tests/valid/login_limit.yaml");

use std::sync::Arc;

use auth_runtime::RedisStore;
use secrecy::ExposeSecret as _;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_typed_clients_share_one_session_through_redis() {
    let Some(server) = redis::RedisServer::start() else {
        return;
    };
    let vendor = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"access_token": "shared-1", "expires_in": 300})),
        )
        .expect(1)
        .mount(&vendor)
        .await;
    let client = || async {
        let store = RedisStore::connect(&server.url).await.expect("connects");
        login_limit::Client::builder(login_limit::Credentials {
            client_id: "app".to_owned(),
            client_secret: "s3cret".to_owned().into(),
        })
        .environment(login_limit::Environment::Url(vendor.uri()))
        .store(Arc::new(store))
        .build()
        .expect("builds")
    };
    let first = client().await;
    let second = client().await;
    let a = first.access_token().await.expect("logs in");
    let b = second
        .access_token()
        .await
        .expect("reads the stored session");
    assert_eq!(a.secret().expose_secret(), "shared-1");
    assert_eq!(b.secret().expose_secret(), "shared-1");
}
