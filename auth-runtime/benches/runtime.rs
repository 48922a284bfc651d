//! Benchmarks of the engine (`cargo bench -p auth-runtime`).
//!
//! - `hot_path`: returning a cached valid token, 1 and 2 threads: `access_token().await` next to
//!   `cached()` (the floor: an `ArcSwap` load and an `Arc` clone) and a naive
//!   `tokio::sync::Mutex<Option<Token>>` cache (lock, check the expiry against the clock, clone
//!   the token: what a hand-written client does). The futures are awaited in a loop inside one
//!   async block, as a caller's `async fn` awaits them, polled once with a no-op waker: all
//!   complete without waiting, so this measures the cache and nothing else. Printed: the median
//!   ratio of rotating rounds of the first two, side by side.
//!   `put_token_1_thread` / `put_token_2_threads`: the cached token put on a request
//!   (`apply_http`) and dropped with it, per call, on one thread and on two at once (where
//!   threads that shared a reference count would contend).
//! - `herd`: 10,000 tasks asking at once for a token that is not there yet, against a local
//!   vendor that takes 50 ms to answer (a realistic token endpoint); compared with one caller.
//!   Requests sent are counted and printed.
//! - `layer_cost`: the auth layers' own work per request, with no network: the same request
//!   through a reqwest-middleware stack, and a tower service, that answer at once, with and
//!   without the auth layer, and with a layer that only passes the request on (what being a
//!   layer costs before any work of its own); and the tower service with and without the
//!   layer polled in place, on one thread and on two at once, each with its own clone of the
//!   service (`tower_{bare,auth}_{1_thread,2_threads}`: what the threads contend on).
//! - `middleware` / `tower`: requests through the auth middleware vs an empty reqwest-middleware
//!   stack and plain reqwest (all over one `reqwest::Client`'s connection pool), and through the
//!   tower layer vs the bare hyper-util client it wraps; next to them, layers that do nothing:
//!   a middleware and a tower layer that pass the request on in a future of their own, and a
//!   middleware that hands on the next layer's future (what reqwest-middleware costs per layer
//!   before the layer does anything); a tower layer whose own unboxed future looks at each
//!   answer's status and does nothing else (what being a layer that judges answers costs, as
//!   the auth layer must); and the tower layer without its copy of each request for a replay
//!   (`without_replay()`: what the copy costs). One local server answering at once (its own thread), the
//!   client on one thread, 16 in flight; every request carries the same `Authorization` header,
//!   put on by the auth layer or by hand. Printed: the median of 401 rotating rounds' ratios
//!   (drift between rounds cancels out), with a control pair of identical clients.
//!
//! `BENCH_ROUNDS=N` sets how many side-by-side rounds (default 401: with 61, the ratios moved
//! by 1-2% from run to run, wider than the 0.5% they are checked against; with 401, by about
//! 0.5%); `BENCH_NO_ROUNDS=1` skips them, e.g. to run one benchmark under a profiler with
//! criterion's `--profile-time`.
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
    engine_for(&server.uri())
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

/// `calls` awaits of `make()`'s future in one async block, polled once: what `.await` in a
/// caller's `async fn` compiles to (the future polled inside the caller's state machine), with
/// no helper call around each one. Returns the time they took.
fn awaited<F, Fut>(calls: u64, make: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: Future,
{
    let start = Instant::now();
    poll_once(async {
        for _ in 0..calls {
            std::hint::black_box(make().await);
        }
    });
    start.elapsed()
}

/// `calls` calls of `get` in a plain loop; returns the time they took.
fn called<T>(calls: u64, get: impl Fn() -> T) -> Duration {
    let start = Instant::now();
    for _ in 0..calls {
        std::hint::black_box(get());
    }
    start.elapsed()
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
    let engine = |calls: u64| {
        awaited(calls, || async {
            auth.access_token().await.expect("cached")
        })
    };
    let cached = |calls: u64| called(calls, || auth.cached().expect("cached"));
    group.bench_function("engine_1_thread", |b| b.iter_custom(engine));
    group.bench_function("cached_1_thread", |b| b.iter_custom(cached));
    group.bench_function("naive_mutex_1_thread", |b| {
        b.iter_custom(|calls| awaited(calls, || async { naive_get(&naive).await.expect("cached") }))
    });
    group.bench_function("engine_2_threads", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                let auth = auth.clone();
                move |calls| {
                    awaited(calls, || async {
                        auth.access_token().await.expect("cached")
                    });
                }
            })
        })
    });
    group.bench_function("naive_mutex_2_threads", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                let naive = Arc::clone(&naive);
                move |calls| {
                    for _ in 0..calls {
                        // Contended, the naive lock may have to wait: spin on try_lock like a
                        // waiter would.
                        loop {
                            if let Ok(guard) = naive.try_lock() {
                                let _ = guard.clone();
                                break;
                            }
                            std::hint::spin_loop();
                        }
                    }
                }
            })
        })
    });
    // Putting the cached token on a request, as both layers do for each one: the token's
    // header value is cloned onto the request and dropped with it. Each thread parses its own
    // URI: clones of one would share its reference counts.
    let url = format!("{}/api", server.uri());
    let put = |auth: &Authenticator, uri: &http::Uri, calls: u64| {
        called(calls, || {
            let mut request = http::Request::new(());
            *request.uri_mut() = uri.clone();
            let token = auth.cached().expect("cached");
            auth.apply_http(&token, &mut request).expect("applied");
            request
        })
    };
    group.bench_function("put_token_1_thread", |b| {
        let uri: http::Uri = url.parse().expect("uri");
        b.iter_custom(|calls| put(&auth, &uri, calls))
    });
    group.bench_function("put_token_2_threads", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                let auth = auth.clone();
                let uri: http::Uri = url.parse().expect("uri");
                move |calls| {
                    put(&auth, &uri, calls);
                }
            })
        })
    });
    group.finish();
    if !no_rounds() {
        // Side by side, as the other ratios: the two criterion runs above are minutes apart,
        // and this machine's speed drifts more than the difference between them.
        const CALLS: u32 = 200_000;
        let engine = || engine(u64::from(CALLS));
        let cached = || cached(u64::from(CALLS));
        let times = rotate(&[&engine, &cached]);
        let median = |t: &[f64]| {
            let mut t = t.to_vec();
            t.sort_by(f64::total_cmp);
            t[t.len() / 2] / f64::from(CALLS) * 1e9
        };
        println!(
            "hot path, median of {} rotating rounds of {CALLS} calls: access_token().await {:.1} ns, cached() {:.1} ns, ratio {:.2}x",
            rounds(),
            median(&times[0]),
            median(&times[1]),
            1.0 / median_ratio(&times[0], &times[1]),
        );
    }
    drop(server);
}

/// Runs `make()`'s batch of `iters` calls on each of two threads at once; returns the wall
/// time (per-call latency under contention = time / iters).
fn two_threads<M, F>(iters: u64, make: M) -> Duration
where
    M: Fn() -> F,
    F: FnOnce(u64) + Send + 'static,
{
    let barrier = Arc::new(std::sync::Barrier::new(3));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let calls = make();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                calls(iters);
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
    let round_trip = Duration::from_millis(50);
    let (server, logins) = rt.block_on(vendor(round_trip));
    // One caller on a fresh engine: the time of one login.
    let one = || {
        let auth = engine(&server);
        let start = Instant::now();
        rt.block_on(auth.access_token()).expect("login");
        start.elapsed()
    };
    // 10,000 tasks on a fresh engine, all asking before the login has answered, spawned from
    // inside the runtime (as a server's request handlers are). Timed until the last of them
    // holds its token; no JoinSet, whose own bookkeeping would be timed too.
    let many = || {
        let auth = engine(&server);
        rt.block_on(callers(10_000, move || {
            let auth = auth.clone();
            async move {
                let token = auth.access_token().await.expect("token");
                assert!(!token.secret().expose_secret().is_empty());
            }
        }))
    };
    // The floor: 10,000 tasks woken by one tokio watch channel after the same 50 ms, spawned
    // and timed the same way: what waking and running 10,000 tasks costs with no engine.
    let floor = || {
        let (tx, rx) = tokio::sync::watch::channel(0u64);
        rt.block_on(async {
            let sender = tokio::spawn(async move {
                tokio::time::sleep(round_trip).await;
                tx.send_replace(1);
            });
            let elapsed = callers(10_000, move || {
                let mut rx = rx.clone();
                async move {
                    let _ = rx.wait_for(|v| *v > 0).await;
                }
            })
            .await;
            sender.await.expect("sender");
            elapsed
        })
    };
    let mut group = c.benchmark_group("herd");
    group.sample_size(10);
    group.bench_function("one_caller", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| one()).sum())
    });
    let before = logins.load(Ordering::SeqCst);
    let mut runs = 0;
    group.bench_function("10000_callers", |b| {
        b.iter_custom(|iters| {
            runs += iters;
            (0..iters).map(|_| many()).sum()
        })
    });
    group.finish();
    let sent = logins.load(Ordering::SeqCst) - before;
    if no_rounds() {
        return;
    }
    // Side by side, so that drift between the two criterion runs does not count.
    let (mut ones, mut manys, mut floors) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..15 {
        ones.push(one().as_secs_f64());
        manys.push(many().as_secs_f64());
        floors.push(floor().as_secs_f64());
    }
    for values in [&mut ones, &mut manys, &mut floors] {
        values.sort_by(f64::total_cmp);
    }
    let (one_ms, many_ms, floor_ms) = (ones[7] * 1e3, manys[7] * 1e3, floors[7] * 1e3);
    println!(
        "herd: {runs} runs of 10,000 callers sent {sent} login request(s) ({} per run); side by side, medians of 15: one caller {one_ms:.1} ms, 10,000 callers {many_ms:.1} ms = {:.2}x (floor: 10,000 tasks on a watch channel {floor_ms:.1} ms = {:.2}x)",
        sent as f64 / runs.max(1) as f64,
        many_ms / one_ms,
        floor_ms / one_ms,
    );
    drop(server);
}

/// Spawns `count` tasks from inside the runtime, each running `make()`; returns the time from
/// the first spawn until the last task has finished.
async fn callers<M, F>(count: usize, make: M) -> Duration
where
    M: Fn() -> F + Send + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let start = Instant::now();
    let finished = Arc::new(AtomicUsize::new(0));
    let (done, last) = tokio::sync::oneshot::channel::<Instant>();
    let done = Arc::new(std::sync::Mutex::new(Some(done)));
    tokio::spawn(async move {
        for _ in 0..count {
            let (work, finished, done) = (make(), Arc::clone(&finished), Arc::clone(&done));
            tokio::spawn(async move {
                work.await;
                if finished.fetch_add(1, Ordering::AcqRel) + 1 == count {
                    let at = Instant::now();
                    if let Some(done) = done.lock().expect("lock").take() {
                        let _ = done.send(at);
                    }
                }
            });
        }
    });
    last.await.expect("every caller finished") - start
}

/// A local API answering every request at once: `POST /login` with a token, anything else
/// `200 ok`. Plain hyper on a thread and runtime of its own, so that the server costs the same
/// for every client compared and keeps nothing per request (wiremock records every request,
/// and a memory that grows round after round is a drift of its own).
/// The token the local API's login hands out, and the header the auth layers make of it: the
/// stacks without an auth layer send this same header by hand, so that every client puts the
/// same bytes on the wire and the comparison is of the layers' work only.
const BEARER: &str = "Bearer token-0123456789abcdef";
const TOKEN: &str = "token-0123456789abcdef";
const _: () = assert!(BEARER.len() == "Bearer ".len() + TOKEN.len());

struct LocalApi {
    base_url: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

fn local_api() -> LocalApi {
    use http_body_util::Full;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("non-blocking");
    let base_url = format!("http://{}", listener.local_addr().expect("address"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let login = bytes::Bytes::from(format!(r#"{{"access_token":"{TOKEN}","expires_in":3600}}"#));
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("server runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            let serve = async {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let login = login.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(
                            move |request: http::Request<hyper::body::Incoming>| {
                                let login = login.clone();
                                async move {
                                    let mut answer = http::Response::new(Full::new(
                                        bytes::Bytes::from_static(b"ok"),
                                    ));
                                    if request.uri().path() == "/login" {
                                        *answer.body_mut() = Full::new(login);
                                        answer.headers_mut().insert(
                                            http::header::CONTENT_TYPE,
                                            http::HeaderValue::from_static("application/json"),
                                        );
                                    }
                                    Ok::<_, std::convert::Infallible>(answer)
                                }
                            },
                        );
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                            .await;
                    });
                }
            };
            tokio::select! {
                _ = serve => {}
                _ = stopped => {}
            }
        });
    });
    LocalApi {
        base_url,
        _stop: stop,
    }
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

/// How many side-by-side rounds: `BENCH_ROUNDS`, else [`ROUNDS`].
fn rounds() -> usize {
    std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .filter(|r| *r > 0)
        .unwrap_or(ROUNDS)
}

/// Whether the side-by-side rounds are skipped (`BENCH_NO_ROUNDS=1`).
fn no_rounds() -> bool {
    std::env::var_os("BENCH_NO_ROUNDS").is_some_and(|v| v == "1")
}

fn client_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

const ROUNDS: usize = 401;
const COUNT: usize = 256;
const IN_FLIGHT: usize = 16;

/// Runs each client's batch back to back in rotation, `ROUNDS` times, and returns per client
/// the time of each round; the per-round ratios between clients cancel the machine's drift.
fn rotate(runs: &[&dyn Fn() -> Duration]) -> Vec<Vec<f64>> {
    let mut times = vec![Vec::new(); runs.len()];
    for round in 0..rounds() {
        for i in 0..runs.len() {
            let which = (round + i) % runs.len();
            times[which].push(runs[which]().as_secs_f64());
        }
    }
    times
}

/// The median over rounds of `a`'s throughput relative to `b`'s (time of b / time of a).
fn median_ratio(a: &[f64], b: &[f64]) -> f64 {
    let mut ratios: Vec<f64> = a.iter().zip(b).map(|(a, b)| b / a).collect();
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}

fn engine_for(base_url: &str) -> Authenticator {
    let spec = Arc::new(auth_spec::parse("bench.yaml", SPEC).expect("valid bench spec"));
    Authenticator::builder(spec, Credentials::new().with("api_key", "k"))
        .base_url(base_url)
        .build()
        .expect("engine")
}

fn middleware(c: &mut Criterion) {
    // The client on one thread, the server on another: each request's cost is the client's
    // CPU time, not how four busy threads happen to be scheduled on two cores.
    let rt = client_runtime();
    let api = local_api();
    let auth = engine_for(&api.base_url);
    rt.block_on(auth.access_token()).expect("login");
    // Every client below is this one's clone, sharing its connection pool: the stacks differ
    // in their layers only, not in which connections they were handed (separate pools made
    // two identical stacks read 1% apart).
    let plain = reqwest::Client::new();
    let with_auth = auth.client(plain.clone());
    // reqwest-middleware's own cost, with no middleware in it: what the auth layer adds is
    // measured against this.
    let empty = reqwest_middleware::ClientBuilder::new(plain.clone()).build();
    let url = format!("{}/api", api.base_url);
    let run_plain = || {
        rt.block_on(batch(COUNT, IN_FLIGHT, || {
            let (client, url) = (plain.clone(), url.clone());
            async move {
                let answer = client.get(url).bearer_auth(TOKEN).send().await;
                answer.expect("sent").status().as_u16()
            }
        }))
    };
    let run_empty = || stack_batch(&rt, &empty, &url, true);
    let run_auth = || stack_batch(&rt, &with_auth, &url, false);
    let mut group = c.benchmark_group("middleware");
    group.throughput(criterion::Throughput::Elements(COUNT as u64));
    group.bench_function("plain_reqwest", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run_plain()).sum())
    });
    group.bench_function("empty_middleware_stack", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run_empty()).sum())
    });
    group.bench_function("with_auth_middleware", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run_auth()).sum())
    });
    // A stack holding one middleware that only passes the request on: what being a
    // reqwest-middleware layer costs, before any work of the layer's own.
    let pass = reqwest_middleware::ClientBuilder::new(plain.clone())
        .with(PassOn)
        .build();
    let run_pass = || stack_batch(&rt, &pass, &url, true);
    group.bench_function("pass_on_middleware", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run_pass()).sum())
    });
    // One that hands on the next layer's future as its own: reqwest-middleware's cost of a
    // layer, without even the layer's own future (which a layer that looks at the answer
    // needs).
    let forward = reqwest_middleware::ClientBuilder::new(plain.clone())
        .with(Forward)
        .build();
    let run_forward = || stack_batch(&rt, &forward, &url, true);
    group.bench_function("forward_middleware", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run_forward()).sum())
    });
    group.finish();

    let empty2 = reqwest_middleware::ClientBuilder::new(plain.clone()).build();
    let run_empty2 = || stack_batch(&rt, &empty2, &url, true);
    if no_rounds() {
        return;
    }
    // `empty2`, identical to the empty stack: its ratio to it is what this measurement reads
    // when nothing differs (the noise floor of the other ratios).
    let times = rotate(&[
        &run_plain,
        &run_empty,
        &run_auth,
        &run_empty2,
        &run_pass,
        &run_forward,
    ]);
    println!(
        "middleware, median of {} rotating rounds of {COUNT} requests, {IN_FLIGHT} in flight: auth/empty-stack {:.3}, auth/plain {:.3}, empty-stack/plain {:.3}, pass-on-middleware/empty-stack {:.3}, forwarding-middleware/empty-stack {:.3}, auth/pass-on-middleware {:.3}; control, an identical empty stack/empty-stack {:.3}",
        rounds(),
        median_ratio(&times[2], &times[1]),
        median_ratio(&times[2], &times[0]),
        median_ratio(&times[1], &times[0]),
        median_ratio(&times[4], &times[1]),
        median_ratio(&times[5], &times[1]),
        median_ratio(&times[2], &times[4]),
        median_ratio(&times[3], &times[1]),
    );
}

/// A reqwest middleware that only passes the request on.
struct PassOn;

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for PassOn {
    async fn handle(
        &self,
        request: reqwest::Request,
        extensions: &mut http::Extensions,
        next: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        next.run(request, extensions).await
    }
}

/// A reqwest middleware whose future is the next layer's: no allocation of its own.
struct Forward;

impl reqwest_middleware::Middleware for Forward {
    fn handle<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        request: reqwest::Request,
        extensions: &'life1 mut http::Extensions,
        next: reqwest_middleware::Next<'life2>,
    ) -> std::pin::Pin<
        Box<
            dyn Future<Output = reqwest_middleware::Result<reqwest::Response>>
                + Send
                + 'async_trait,
        >,
    >
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        next.run(request, extensions)
    }
}

/// A tower layer's service that only passes the request on, boxing the future as a layer
/// that awaits anything must (the auth layer does).
#[derive(Clone)]
struct PassOnService<S>(S);

impl<S, Req> tower::Service<Req> for PassOnService<S>
where
    S: tower::Service<Req> + Clone + Send + 'static,
    S::Future: Send + 'static,
    Req: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let clone = self.0.clone();
        let mut inner = std::mem::replace(&mut self.0, clone);
        Box::pin(async move { inner.call(request).await })
    }
}

/// A tower layer's service whose future is its own, unboxed, and looks at the answer's status
/// when it comes, doing nothing else: the least a layer that judges answers costs (the auth
/// layer's future is built the same way).
#[derive(Clone)]
struct WatchService<S>(S);

impl<S, Req, RB> tower::Service<Req> for WatchService<S>
where
    S: tower::Service<Req, Response = http::Response<RB>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Watch<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        Watch {
            call: self.0.call(request),
        }
    }
}

pin_project_lite::pin_project! {
    /// [`WatchService`]'s future.
    struct Watch<F> {
        #[pin]
        call: F,
    }
}

impl<F, RB, E> Future for Watch<F>
where
    F: Future<Output = Result<http::Response<RB>, E>>,
{
    type Output = F::Output;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let answer = std::task::ready!(self.project().call.poll(cx));
        if let Ok(answer) = &answer {
            std::hint::black_box(answer.status());
        }
        Poll::Ready(answer)
    }
}

fn tower_layer(c: &mut Criterion) {
    use auth_runtime::tower::AuthLayer;
    use http_body_util::Empty;
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    use tower::ServiceBuilder;

    // The client on one thread, the server on another: each request's cost is the client's
    // CPU time, not how four busy threads happen to be scheduled on two cores.
    let rt = client_runtime();
    let api = local_api();
    let auth = engine_for(&api.base_url);
    rt.block_on(auth.access_token()).expect("login");
    let bare = Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
    let layered = ServiceBuilder::new()
        .layer(AuthLayer::new(auth.clone()))
        .service(bare.clone());
    let uri: http::Uri = format!("{}/api", api.base_url).parse().expect("uri");
    let request = |authorization: bool| {
        let mut request = http::Request::get(uri.clone());
        if authorization {
            request = request.header("authorization", BEARER);
        }
        request.body(Empty::new()).expect("request")
    };
    let run_bare = || service_batch(&rt, &bare, || request(true));
    let pass = PassOnService(bare.clone());
    let run_pass = || service_batch(&rt, &pass, || request(true));
    let run_layer = || service_batch(&rt, &layered, || request(false));
    let watch = WatchService(bare.clone());
    let run_watch = || service_batch(&rt, &watch, || request(true));
    // The auth layer without its copy of each request for a replay: what that copy costs.
    let unreplayed = ServiceBuilder::new()
        .layer(AuthLayer::new(auth.clone()).without_replay())
        .service(bare.clone());
    let run_unreplayed = || service_batch(&rt, &unreplayed, || request(false));
    let mut group = c.benchmark_group("tower");
    group.throughput(criterion::Throughput::Elements(COUNT as u64));
    group.bench_function("bare_hyper_client", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run_bare()).sum())
    });
    group.bench_function("with_auth_layer", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run_layer()).sum())
    });
    group.bench_function("pass_on_layer", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run_pass()).sum())
    });
    group.bench_function("auth_layer_without_replay", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run_unreplayed()).sum())
    });
    group.bench_function("watching_layer", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run_watch()).sum())
    });
    group.finish();

    if no_rounds() {
        return;
    }
    let times = rotate(&[
        &run_bare,
        &run_layer,
        &run_pass,
        &run_unreplayed,
        &run_watch,
    ]);
    println!(
        "tower, median of {} rotating rounds of {COUNT} requests, {IN_FLIGHT} in flight: auth layer/bare hyper client {:.3}, pass-on layer/bare {:.3}, auth layer/pass-on layer {:.3}, auth layer without replay/bare {:.3}, watching layer/bare {:.3}, auth layer/watching layer {:.3}",
        rounds(),
        median_ratio(&times[1], &times[0]),
        median_ratio(&times[2], &times[0]),
        median_ratio(&times[1], &times[2]),
        median_ratio(&times[3], &times[0]),
        median_ratio(&times[4], &times[0]),
        median_ratio(&times[1], &times[4]),
    );
}

/// One batch through a reqwest-middleware stack. `bearer`: the request carries a token of its
/// own (the stacks without the auth layer), so that every client sends the same header.
fn stack_batch(
    rt: &tokio::runtime::Runtime,
    client: &reqwest_middleware::ClientWithMiddleware,
    url: &str,
    bearer: bool,
) -> Duration {
    rt.block_on(batch(COUNT, IN_FLIGHT, || {
        let (client, url) = (client.clone(), url.to_owned());
        async move {
            let mut request = client.get(url);
            if bearer {
                request = request.bearer_auth(TOKEN);
            }
            request.send().await.expect("sent").status().as_u16()
        }
    }))
}

/// One batch through a tower service (a hyper-util client, bare or layered), each request
/// made by `request` and its body read to the end.
fn service_batch<S, E>(
    rt: &tokio::runtime::Runtime,
    service: &S,
    request: impl Fn() -> http::Request<http_body_util::Empty<bytes::Bytes>>,
) -> Duration
where
    S: tower::Service<
            http::Request<http_body_util::Empty<bytes::Bytes>>,
            Response = http::Response<hyper::body::Incoming>,
            Error = E,
        > + Clone
        + Send
        + 'static,
    S::Future: Send,
    E: std::fmt::Debug,
{
    use http_body_util::BodyExt as _;
    rt.block_on(batch(COUNT, IN_FLIGHT, || {
        let mut client = service.clone();
        let request = request();
        async move {
            std::future::poll_fn(|cx| client.poll_ready(cx))
                .await
                .expect("ready");
            let answer = client.call(request).await.expect("sent");
            let status = answer.status().as_u16();
            answer.into_body().collect().await.expect("body");
            status
        }
    }))
}

/// Answers every request at once without a network: the end of the stacks `layer_cost`
/// compares, so that the difference between them is the auth layer's own work and nothing else.
struct Canned;

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for Canned {
    async fn handle(
        &self,
        _: reqwest::Request,
        _: &mut http::Extensions,
        _: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        Ok(reqwest::Response::from(http::Response::new(
            reqwest::Body::from("ok"),
        )))
    }
}

impl tower::Service<http::Request<http_body_util::Empty<bytes::Bytes>>> for Canned {
    type Response = http::Response<http_body_util::Empty<bytes::Bytes>>;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Request<http_body_util::Empty<bytes::Bytes>>) -> Self::Future {
        std::future::ready(Ok(http::Response::new(http_body_util::Empty::new())))
    }
}

impl Clone for Canned {
    fn clone(&self) -> Self {
        Canned
    }
}

/// The auth layers' own cost per request, with no network: the same request through a stack
/// that ends in [`Canned`], with and without the auth layer (reqwest-middleware and tower).
fn layer_cost(c: &mut Criterion) {
    use tower::{Service, ServiceBuilder};
    let rt = client_runtime();
    let api = local_api();
    let auth = engine_for(&api.base_url);
    rt.block_on(auth.access_token()).expect("login");
    let url = format!("{}/api", api.base_url);
    let empty = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(Canned)
        .build();
    let with_auth = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(auth.middleware())
        .with(Canned)
        .build();
    let pass_on = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(PassOn)
        .with(Canned)
        .build();
    let mut group = c.benchmark_group("layer_cost");
    group.bench_function("reqwest_middleware_empty", |b| {
        b.iter(|| {
            let request = empty.get(&url).bearer_auth(TOKEN);
            rt.block_on(request.send()).expect("answer")
        })
    });
    group.bench_function("reqwest_middleware_pass_on", |b| {
        b.iter(|| {
            let request = pass_on.get(&url).bearer_auth(TOKEN);
            rt.block_on(request.send()).expect("answer")
        })
    });
    group.bench_function("reqwest_middleware_auth", |b| {
        b.iter(|| rt.block_on(with_auth.get(&url).send()).expect("answer"))
    });
    let uri: http::Uri = url.parse().expect("uri");
    let mut bare = Canned;
    let mut layered = ServiceBuilder::new()
        .layer(auth_runtime::tower::AuthLayer::new(auth.clone()))
        .service(Canned);
    group.bench_function("tower_bare", |b| {
        b.iter(|| {
            let request = http::Request::get(uri.clone())
                .header("authorization", BEARER)
                .body(http_body_util::Empty::new())
                .expect("request");
            rt.block_on(bare.call(request)).expect("answer")
        })
    });
    let mut passed = PassOnService(Canned);
    group.bench_function("tower_pass_on", |b| {
        b.iter(|| {
            let request = http::Request::get(uri.clone())
                .header("authorization", BEARER)
                .body(http_body_util::Empty::new())
                .expect("request");
            rt.block_on(passed.call(request)).expect("answer")
        })
    });
    group.bench_function("tower_auth", |b| {
        b.iter(|| {
            let request = http::Request::get(uri.clone())
                .body(http_body_util::Empty::new())
                .expect("request");
            rt.block_on(layered.call(request)).expect("answer")
        })
    });
    // Polled in place (no runtime), on one thread and on two at once, each with its own clone
    // of the service (as each task of a server holds one) and its own URI: what the threads
    // contend on, against the same measure on one thread.
    type Caller = Box<dyn FnMut(http::Uri) + Send>;
    let calls_of = |service: &dyn Fn() -> Caller| {
        let mut call = service();
        let uri: http::Uri = url.parse().expect("uri");
        move |calls: u64| {
            for _ in 0..calls {
                call(uri.clone());
            }
        }
    };
    let on_threads = |threads: usize, iters: u64, service: &dyn Fn() -> Caller| {
        if threads == 1 {
            let mut run = calls_of(service);
            let start = Instant::now();
            run(iters);
            start.elapsed()
        } else {
            two_threads(iters, || calls_of(service))
        }
    };
    let bare: &dyn Fn() -> Caller = &|| {
        let mut service = Canned;
        Box::new(move |uri| {
            let request = http::Request::get(uri)
                .header("authorization", BEARER)
                .body(http_body_util::Empty::new())
                .expect("request");
            std::hint::black_box(poll_once(service.call(request)).expect("answer"));
        })
    };
    let with_auth: &dyn Fn() -> Caller = &|| {
        let mut service = layered.clone();
        Box::new(move |uri| {
            let request = http::Request::get(uri)
                .body(http_body_util::Empty::new())
                .expect("request");
            std::hint::black_box(poll_once(service.call(request)).expect("answer"));
        })
    };
    for (threads, name) in [(1, "1_thread"), (2, "2_threads")] {
        group.bench_function(format!("tower_bare_{name}"), |b| {
            b.iter_custom(|iters| on_threads(threads, iters, bare))
        });
        group.bench_function(format!("tower_auth_{name}"), |b| {
            b.iter_custom(|iters| on_threads(threads, iters, with_auth))
        });
    }
    group.finish();
}

criterion_group!(benches, hot_path, herd, middleware, tower_layer, layer_cost);
criterion_main!(benches);
