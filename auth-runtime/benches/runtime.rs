//! Benchmarks of the engine (`cargo bench -p auth-runtime`).
//!
//! - `hot_path`: returning a cached valid token, 1 and 2 threads, next to a naive
//!   `tokio::sync::Mutex<Option<Token>>` cache (lock, check the expiry against the clock, clone
//!   the token: what a hand-written client does). The futures are polled once with a no-op waker:
//!   both complete without waiting, so this measures the cache and nothing else.
//! - `herd`: 10,000 tasks asking at once for a token that is not there yet, against a local
//!   vendor that takes 20 ms to answer (a realistic token endpoint); compared with one login.
//!   Requests sent are counted and printed.
//! - `middleware`: requests per second through the auth middleware vs plain reqwest, same local
//!   server, 16 in flight.
#![allow(missing_docs)]

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use auth_runtime::auth_spec;
use auth_runtime::{Authenticator, Credentials};
use criterion::{Criterion, criterion_group, criterion_main};
use secrecy::{ExposeSecret, SecretString};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

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
  expired: { status: [401] }
"#;

struct Counted {
    logins: Arc<AtomicUsize>,
    delay: Duration,
}

impl Respond for Counted {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.logins.fetch_add(1, Ordering::SeqCst);
        ResponseTemplate::new(200)
            .set_body_json(
                serde_json::json!({"access_token": format!("token-{n}"), "expires_in": 3600}),
            )
            .set_delay(self.delay)
    }
}

async fn vendor(delay: Duration) -> (MockServer, Arc<AtomicUsize>) {
    let server = MockServer::start().await;
    let logins = Arc::new(AtomicUsize::new(0));
    Mock::given(method("POST"))
        .and(path("/login"))
        .respond_with(Counted {
            logins: Arc::clone(&logins),
            delay,
        })
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    (server, logins)
}

fn engine(server: &MockServer) -> Authenticator {
    let spec = Arc::new(auth_spec::parse("bench.yaml", SPEC).expect("valid bench spec"));
    Authenticator::builder(spec, Credentials::new().with("api_key", "k"))
        .base_url(server.uri())
        .build()
        .expect("engine")
}

#[derive(Clone)]
struct NaiveToken {
    // What a real cache hands out; cloned on every call like a real cache does.
    #[allow(dead_code)]
    access_token: SecretString,
    expires_at: Instant,
}

async fn naive_get(cache: &tokio::sync::Mutex<Option<NaiveToken>>) -> Option<NaiveToken> {
    let guard = cache.lock().await;
    guard
        .as_ref()
        .filter(|t| Instant::now() < t.expires_at)
        .cloned()
}

/// Polls a future once; the hot path never waits, so it is ready at once.
fn poll_once<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(value) => value,
        Poll::Pending => panic!("the cached path must not wait"),
    }
}

fn hot_path(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (server, _) = rt.block_on(vendor(Duration::ZERO));
    let auth = engine(&server);
    rt.block_on(auth.access_token()).expect("login");
    // The cache people write by hand: a token and its expiry behind an async mutex.
    let naive: Arc<tokio::sync::Mutex<Option<NaiveToken>>> =
        Arc::new(tokio::sync::Mutex::new(Some(NaiveToken {
            access_token: SecretString::from("token-0123456789abcdef0123456789abcdef"),
            expires_at: Instant::now() + Duration::from_secs(3600),
        })));

    let mut group = c.benchmark_group("hot_path");
    group.bench_function("engine_1_thread", |b| {
        b.iter(|| poll_once(auth.access_token()).expect("cached"))
    });
    group.bench_function("naive_mutex_1_thread", |b| {
        b.iter(|| poll_once(naive_get(&naive)).expect("cached"))
    });
    group.bench_function("engine_2_threads", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                let auth = auth.clone();
                move || {
                    let _ = poll_once(auth.access_token()).expect("cached");
                }
            })
        })
    });
    group.bench_function("naive_mutex_2_threads", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                let naive = Arc::clone(&naive);
                move || {
                    // Contended, the naive lock may have to wait: spin on try_lock like a waiter would.
                    loop {
                        if let Ok(guard) = naive.try_lock() {
                            let _ = guard.clone();
                            break;
                        }
                        std::hint::spin_loop();
                    }
                }
            })
        })
    });
    group.finish();
    drop(server);
}

/// Runs `iters` calls on each of two threads at once; returns the wall time (per-call latency
/// under contention = time / iters).
fn two_threads<M, F>(iters: u64, make: M) -> Duration
where
    M: Fn() -> F,
    F: FnMut() + Send + 'static,
{
    let barrier = Arc::new(std::sync::Barrier::new(3));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let mut call = make();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                for _ in 0..iters {
                    call();
                }
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    for h in handles {
        h.join().expect("bench thread");
    }
    start.elapsed()
}

fn herd(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let round_trip = Duration::from_millis(20);
    let (server, logins) = rt.block_on(vendor(round_trip));
    let mut group = c.benchmark_group("herd");
    group.sample_size(10);
    group.bench_function("one_login", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let auth = engine(&server);
                let start = Instant::now();
                rt.block_on(auth.access_token()).expect("login");
                total += start.elapsed();
            }
            total
        })
    });
    let before = logins.load(Ordering::SeqCst);
    let mut runs = 0;
    group.bench_function("10000_callers", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                runs += 1;
                let auth = engine(&server);
                let start = Instant::now();
                rt.block_on(async {
                    let mut set = tokio::task::JoinSet::new();
                    for _ in 0..10_000 {
                        let auth = auth.clone();
                        set.spawn(async move {
                            auth.access_token()
                                .await
                                .map(|t| t.secret().expose_secret().len())
                        });
                    }
                    while let Some(result) = set.join_next().await {
                        result.expect("task").expect("token");
                    }
                });
                total += start.elapsed();
            }
            total
        })
    });
    group.finish();
    let sent = logins.load(Ordering::SeqCst) - before;
    println!(
        "herd: {runs} runs of 10,000 callers sent {sent} login request(s) ({} per run)",
        sent as f64 / runs.max(1) as f64
    );
    drop(server);
}

/// Sends `count` GET requests, `concurrency` at a time; returns the elapsed time.
async fn batch<F, Fut>(count: usize, concurrency: usize, send: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: Future<Output = u16> + Send + 'static,
{
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..count {
        if set.len() >= concurrency
            && let Some(done) = set.join_next().await
        {
            assert_eq!(done.expect("task"), 200);
        }
        set.spawn(send());
    }
    while let Some(done) = set.join_next().await {
        assert_eq!(done.expect("task"), 200);
    }
    start.elapsed()
}

fn middleware(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (server, _) = rt.block_on(vendor(Duration::ZERO));
    let auth = engine(&server);
    rt.block_on(auth.access_token()).expect("login");
    let plain = reqwest::Client::new();
    let with_auth = auth.client(reqwest::Client::new());
    // reqwest-middleware's own cost, with no middleware in it, for reference.
    let empty = reqwest_middleware::ClientBuilder::new(reqwest::Client::new()).build();
    let url = format!("{}/api", server.uri());
    let (count, concurrency) = (256, 16);
    // One batch of `count` requests through each client.
    let run_plain = || {
        rt.block_on(batch(count, concurrency, || {
            let (client, url) = (plain.clone(), url.clone());
            async move {
                client
                    .get(url)
                    .bearer_auth("token")
                    .send()
                    .await
                    .expect("sent")
                    .status()
                    .as_u16()
            }
        }))
    };
    let run_empty = || {
        rt.block_on(batch(count, concurrency, || {
            let (client, url) = (empty.clone(), url.clone());
            async move {
                client
                    .get(url)
                    .bearer_auth("token")
                    .send()
                    .await
                    .expect("sent")
                    .status()
                    .as_u16()
            }
        }))
    };
    let run_auth = || {
        rt.block_on(batch(count, concurrency, || {
            let (client, url) = (with_auth.clone(), url.clone());
            async move {
                client
                    .get(url)
                    .send()
                    .await
                    .expect("sent")
                    .status()
                    .as_u16()
            }
        }))
    };
    let mut group = c.benchmark_group("middleware");
    group.throughput(criterion::Throughput::Elements(count as u64));
    group.bench_function("plain_reqwest", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run_plain()).sum())
    });
    group.bench_function("empty_middleware_stack", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run_empty()).sum())
    });
    group.bench_function("with_auth_middleware", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run_auth()).sum())
    });
    group.finish();

    // The machine is shared and its speed drifts from minute to minute: measure the clients
    // back to back in rotation and take the median of the per-round ratios, so that drift
    // between rounds cancels out. The empty reqwest-middleware stack separates that crate's own
    // cost from the auth layer's.
    let runs: [&dyn Fn() -> Duration; 3] = [&run_plain, &run_empty, &run_auth];
    let mut ratios_plain = Vec::new();
    let mut ratios_empty = Vec::new();
    let mut plain_rates = Vec::new();
    for round in 0..40 {
        let mut t = [Duration::ZERO; 3];
        for i in 0..3 {
            let which = (round + i) % 3;
            t[which] = runs[which]();
        }
        ratios_plain.push(t[0].as_secs_f64() / t[2].as_secs_f64());
        ratios_empty.push(t[1].as_secs_f64() / t[2].as_secs_f64());
        plain_rates.push(count as f64 / t[0].as_secs_f64());
    }
    let median = |values: &mut Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    println!(
        "middleware throughput, median of 40 rotating rounds of {count} requests: auth/plain {:.3}, auth/empty-stack {:.3} (plain reqwest ran at {:.0} req/s)",
        median(&mut ratios_plain),
        median(&mut ratios_empty),
        median(&mut plain_rates)
    );
    drop(server);
}

criterion_group!(benches, hot_path, herd, middleware);
criterion_main!(benches);
