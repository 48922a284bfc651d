//! Benchmarks of the Redis store against the memory store, same run, same vendor
//! (`cargo bench -p auth-runtime --bench redis`; needs `redis-server` on PATH, which the bench
//! starts on a free port and stops).
//!
//! - `renewal`: one login through the store (the session logged out first, so each iteration
//!   takes the lock, records the login, sends it to a local vendor that answers at once, writes
//!   the session and releases the lock): memory vs Redis.
//! - `hot_path`: returning a cached valid token with the session in memory vs in Redis: the
//!   cached token never touches the store, so the two should be the same.
#![allow(missing_docs)]

#[path = "../tests/common/redis.rs"]
mod redis;

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use auth_runtime::auth_spec;
use auth_runtime::{Authenticator, Credentials, MemoryStore, RedisStore, TokenStore};
use criterion::{Criterion, criterion_group, criterion_main};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const SPEC: &str = r#"
title: Bench
environments:
  local: { base_url: "http://127.0.0.1:1" }
default_environment: local
credentials:
  api_key: {}
login:
  method: POST
  path: /login
  encoding: json
  body: { api_key: "${credentials.api_key}" }
  response:
    access_token: $.access_token
    access_token_expiry: [ { expires_in: { path: $.expires_in } } ]
    examples: [ { body: { access_token: t, expires_in: 3600 } } ]
policy: { refresh: after_expiry }
usage:
  headers: { Authorization: "Bearer ${session.access_token}" }
"#;

fn poll_once<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("the cached path must not wait"),
    }
}

fn stores(c: &mut Criterion) {
    let Some(server) = redis::RedisServer::start() else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let vendor = runtime.block_on(async {
        let vendor = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"access_token": "t", "expires_in": 3600})),
            )
            .mount(&vendor)
            .await;
        vendor
    });
    let spec = Arc::new(auth_spec::parse("bench.yaml", SPEC).expect("spec"));
    let engine = |store: Arc<dyn TokenStore>| {
        Authenticator::builder(Arc::clone(&spec), Credentials::new().with("api_key", "k"))
            .base_url(vendor.uri())
            .store(store)
            .build()
            .expect("builds")
    };
    let redis_store = runtime
        .block_on(RedisStore::connect(&server.url))
        .expect("connects");
    let in_memory = engine(Arc::new(MemoryStore::new()));
    let in_redis = engine(Arc::new(redis_store));

    let mut group = c.benchmark_group("renewal");
    for (name, auth) in [("memory_store", &in_memory), ("redis_store", &in_redis)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                runtime.block_on(async {
                    auth.logout().await.expect("logout");
                    auth.access_token().await.expect("login")
                })
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("hot_path_by_store");
    for (name, auth) in [("memory_store", &in_memory), ("redis_store", &in_redis)] {
        runtime.block_on(auth.access_token()).expect("token");
        let _guard = runtime.enter();
        group.bench_function(name, |b| {
            b.iter(|| poll_once(auth.access_token()).expect("cached"))
        });
    }
    group.finish();
}

criterion_group!(benches, stores);
criterion_main!(benches);
