//! Redis stopped and restarted during a run (issue 10): cached tokens keep flowing, a renewal
//! fails typed while Redis is down and sends nothing, and everything recovers after it is back
//! with nothing lost (`appendonly yes`). Against a vendor written from this invented page:
//!
//! > `POST /login` with `{"key": "..."}` answers `{"access_token", "refresh_token",
//! > "expires_in": 2}`. `POST /refresh` with `{"refresh_token": "..."}` answers a new pair; a
//! > refresh token works once.

mod common;

use std::sync::Arc;
use std::time::Duration;

use auth_runtime::{AuthErrorKind, Authenticator, Credentials, RedisStore, StoreError};
use secrecy::ExposeSecret as _;
use wiremock::MockServer;

const PERSISTENT: &[&str] = &["--appendonly", "yes", "--appendfsync", "always"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_then_back_cached_tokens_flow_renewals_fail_typed_then_recover() {
    let Some(mut redis) = common::redis::RedisServer::start_with(PERSISTENT) else {
        return;
    };
    let server = MockServer::start().await;
    let vendor = common::rotating::mount(&server, Duration::ZERO).await;
    let spec = common::rotating::spec();
    let store = RedisStore::connect(&redis.url).await.expect("connects");
    let auth = Authenticator::builder(Arc::clone(&spec), Credentials::new().with("key", "k"))
        .base_url(server.uri())
        .store(Arc::new(store))
        .retry(common::fast_retry())
        .build()
        .expect("builds");
    let first = auth.access_token().await.expect("login");
    assert_eq!(first.secret().expose_secret(), "a-1");

    redis.stop();
    // The cached token never touches Redis.
    for _ in 0..100 {
        let cached = auth.access_token().await.expect("served from memory");
        assert_eq!(cached.secret().expose_secret(), "a-1");
    }
    // Expired while Redis is down: the renewal needs the store's lock, so it fails, typed, and
    // nothing is sent (never a refresh without the lock).
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let error = tokio::time::timeout(Duration::from_secs(30), auth.access_token())
        .await
        .expect("a bounded failure")
        .expect_err("Redis is down");
    assert!(
        matches!(
            error.kind(),
            AuthErrorKind::Store(StoreError::Unavailable { .. })
        ),
        "{error:?}"
    );
    assert_eq!(vendor.lock().expect("vendor").refreshes, 0);

    // Back, with its data. A new replica (nothing in memory) finds the session in Redis and
    // refreshes it with the stored refresh token: nothing was lost.
    redis.restart(PERSISTENT);
    let fresh = Authenticator::builder(Arc::clone(&spec), Credentials::new().with("key", "k"))
        .base_url(server.uri())
        .store(Arc::new(
            RedisStore::connect(&redis.url).await.expect("connects"),
        ))
        .retry(common::fast_retry())
        .build()
        .expect("builds");
    let renewed = fresh.access_token().await.expect("the stored session");
    assert_eq!(renewed.secret().expose_secret(), "a-2");
    // The first engine recovers by itself (its connection reconnects) and adopts that session.
    let mut recovered = None;
    for _ in 0..50 {
        match auth.access_token().await {
            Ok(token) => {
                recovered = Some(token);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    let recovered = recovered.expect("recovers once Redis is back");
    assert_eq!(recovered.secret().expose_secret(), "a-2");
    let v = vendor.lock().expect("vendor");
    assert_eq!(
        (v.logins, v.refreshes, v.reused),
        (1, 1, 0),
        "nothing lost, nothing resent"
    );
}
