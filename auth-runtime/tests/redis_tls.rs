//! `rediss://` (issue 10): a real `redis-server` on a TLS port with a CA and certificates the
//! test makes. A store trusts the server only through the CA it is given; a server that requires
//! client certificates takes the store's; two engines share one session over TLS, with a rotating
//! refresh token sent once. Against a vendor written from this invented page:
//!
//! > `POST /login` with `{"key": "..."}` answers `{"access_token", "refresh_token",
//! > "expires_in": 2}`. `POST /refresh` with `{"refresh_token": "..."}` answers a new pair; a
//! > refresh token works once.

mod common;

use std::sync::Arc;
use std::time::Duration;

use auth_runtime::{Authenticator, Credentials, RedisStore, RedisTls, StoreError, TokenStore};
use common::redis_tls::{ClientAuth, TlsRedis};
use secrecy::ExposeSecret as _;
use wiremock::MockServer;

fn trusting(tls: &TlsRedis) -> RedisTls {
    RedisTls::new().with_root_ca(tls.ca_pem.clone())
}

/// Connects, then reads once: a refused handshake may surface at either step.
async fn reach(url: &str, tls: &RedisTls) -> Result<RedisStore, StoreError> {
    let store = RedisStore::connect_tls(url, tls).await?;
    store.load("probe").await?;
    Ok(store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_engines_share_a_rotating_session_over_tls() {
    let Some(tls) = TlsRedis::start(ClientAuth::No) else {
        return;
    };
    let server = MockServer::start().await;
    let vendor = common::rotating::mount(&server, Duration::ZERO).await;
    let spec = common::rotating::spec();
    let mut engines = Vec::new();
    for _ in 0..2 {
        let store = RedisStore::connect_tls(&tls.url, &trusting(&tls))
            .await
            .expect("connects over TLS with the test CA");
        engines.push(
            Authenticator::builder(Arc::clone(&spec), Credentials::new().with("key", "k"))
                .base_url(server.uri())
                .store(Arc::new(store))
                .retry(common::fast_retry())
                .build()
                .expect("builds"),
        );
    }
    let first = engines[0].access_token().await.expect("login");
    let shared = engines[1].access_token().await.expect("read from Redis");
    assert_eq!(first.secret().expose_secret(), "a-1");
    assert_eq!(
        shared.secret().expose_secret(),
        "a-1",
        "the session is shared"
    );
    for expiry in 0..3 {
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let (a, b) = tokio::time::timeout(Duration::from_secs(20), async {
            tokio::join!(engines[0].access_token(), engines[1].access_token())
        })
        .await
        .unwrap_or_else(|_| panic!("expiry {expiry}: renewal did not finish"));
        let (a, b) = (a.expect("renewed"), b.expect("renewed"));
        assert_eq!(
            a.secret().expose_secret(),
            b.secret().expose_secret(),
            "expiry {expiry}: both callers get the one new token"
        );
    }
    let v = vendor.lock().expect("vendor");
    assert_eq!(v.logins, 1, "one login between the two replicas");
    assert_eq!(v.refreshes, 3, "one refresh per expiry");
    assert_eq!(v.reused, 0, "no refresh token sent twice");
}

#[tokio::test]
async fn the_server_is_trusted_only_through_the_given_ca() {
    let Some(tls) = TlsRedis::start(ClientAuth::No) else {
        return;
    };
    reach(&tls.url, &trusting(&tls))
        .await
        .expect("trusted through the test CA");

    // The public web roots do not vouch for the test CA; nor does another CA.
    let another = TlsRedis::start(ClientAuth::No).expect("a second server");
    for (what, settings) in [
        ("public roots", RedisTls::new()),
        ("another CA", trusting(&another)),
    ] {
        let error = reach(&tls.url, &settings)
            .await
            .expect_err("an untrusted certificate is refused");
        let StoreError::Unavailable { store, message } = &error else {
            panic!("{what}: expected Unavailable, got {error:?}");
        };
        assert!(store.starts_with("rediss://127.0.0.1:"), "{what}: {store}");
        assert!(
            message.to_lowercase().contains("certificate"),
            "{what}: the message says why: {message}"
        );
    }

    // TLS settings for a URL without TLS are a mistake, not silently ignored.
    let plain = tls.server.url.clone();
    let error = RedisStore::connect_tls(&plain, &trusting(&tls))
        .await
        .expect_err("redis:// with TLS settings");
    assert!(error.to_string().contains("rediss://"), "{error}");
}

#[tokio::test]
async fn a_server_that_requires_client_certificates_takes_the_stores() {
    let Some(tls) = TlsRedis::start(ClientAuth::Required) else {
        return;
    };
    let error = reach(&tls.url, &trusting(&tls))
        .await
        .expect_err("no client certificate: refused");
    assert!(matches!(error, StoreError::Unavailable { .. }), "{error:?}");

    let with_cert =
        trusting(&tls).with_client_cert(tls.client_cert_pem.clone(), tls.client_key_pem.clone());
    let debug = format!("{with_cert:?}");
    assert!(
        !debug.contains("PRIVATE KEY"),
        "Debug shows no key: {debug}"
    );
    let store = reach(&tls.url, &with_cert)
        .await
        .expect("the client certificate is accepted");
    assert!(store.load("nothing-here").await.expect("reads").is_none());
}
