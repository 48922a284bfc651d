//! Hostile or odd configurations and vendor answers at the engine's edge (issue 8, items 11-18):
//! base URLs that would leak credentials, tokens sent to other origins, redirects, endless or huge
//! answers, connections that break mid-answer, and credentials echoed back in error bodies.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use auth_runtime::{
    AuthError, AuthErrorKind, Authenticator, Credentials, reqwest, reqwest_middleware,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const API_KEY: &str = "c5f90f4b-9d69-416a-8611-8a8c8d605c36";

fn intergiro(base_url: &str) -> Result<Authenticator, AuthError> {
    Authenticator::builder(
        common::spec("intergiro"),
        Credentials::new().with("api_key", API_KEY),
    )
    .base_url(base_url)
    .build()
}

/// Item 15: plain http is refused unless the host is a loopback one.
#[test]
fn non_loopback_http_base_urls_are_refused() {
    for url in [
        "http://example.com",
        "http://10.0.0.1:8080",
        "http://[2001:db8::1]",
        "http://localhost.example.com",
    ] {
        let error = intergiro(url).expect_err(url);
        let message = error.to_string();
        assert!(
            matches!(error.kind(), AuthErrorKind::Config(_)),
            "{url}: {error:?}"
        );
        assert!(
            message.contains("http://") && message.contains("unencrypted"),
            "{url}: {message}"
        );
    }
    for url in [
        "http://127.0.0.1:9",
        "http://127.1.2.3",
        "http://[::1]:9",
        "http://localhost:9",
        "http://LOCALHOST",
        "https://example.com",
    ] {
        intergiro(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    }
}

/// Item 17: a user name or password in the base URL is refused, and the error never shows it.
#[test]
fn userinfo_in_base_urls_is_refused_without_echoing_it() {
    for url in [
        "https://alice:s3cret-pw@api.example.com",
        "https://alice@api.example.com",
        "https://:s3cret-pw@api.example.com",
        "http://alice:s3cret-pw@127.0.0.1:9",
        "https://alice:s3cret-pw@",
    ] {
        let error = intergiro(url).expect_err(url);
        let message = format!("{error} {error:?}");
        assert!(!message.contains("s3cret-pw"), "{url}: {message}");
        assert!(!message.contains("alice"), "{url}: {message}");
    }
    let message = intergiro("https://alice:s3cret-pw@api.example.com")
        .expect_err("userinfo")
        .to_string();
    assert!(message.contains("user name or password"), "{message}");
}

/// Intergiro's login, answering a JWT valid for an hour, on a fresh wiremock server.
async fn intergiro_vendor() -> MockServer {
    let server = MockServer::start().await;
    let exp = common::epoch(std::time::SystemTime::now()) + 3600;
    Mock::given(method("POST"))
        .and(path("/v3/auth/login"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": common::jwt(serde_json::json!({"exp": exp})),
            "refresh_token": "refresh-1",
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&server)
        .await;
    server
}

/// Requests that reached `server` with an `Authorization` header.
async fn with_token(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.headers.contains_key("authorization"))
        .count()
}

/// Item 16: the token only goes to the base URL's origin; another origin must be allowed
/// explicitly with `AuthenticatorBuilder::allow_origin`.
#[tokio::test]
async fn the_token_only_goes_to_the_base_urls_origin() {
    let vendor = intergiro_vendor().await;
    let other = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&other)
        .await;
    let auth = intergiro(&vendor.uri()).expect("engine");
    let client = auth.client(reqwest::Client::new());
    let answer = client
        .get(format!("{}/v3/accounts", vendor.uri()))
        .send()
        .await
        .expect("same origin");
    assert_eq!(answer.status(), 200);
    assert_eq!(with_token(&vendor).await, 1);

    let foreign = format!("{}/abs", other.uri());
    let error = client.get(&foreign).send().await.expect_err("other origin");
    let error = match error {
        reqwest_middleware::Error::Middleware(e) => e.downcast::<AuthError>().expect("AuthError"),
        other => panic!("{other}"),
    };
    assert!(
        matches!(error.kind(), AuthErrorKind::TokenOriginRefused { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&other.uri()) && message.contains("allow"),
        "{message}"
    );
    // The same port on another host name is another origin too.
    let renamed = vendor.uri().replace("127.0.0.1", "localhost");
    assert!(client.get(format!("{renamed}/x")).send().await.is_err());
    let token = auth.access_token().await.expect("token");
    let mut request = reqwest::Request::new(
        reqwest::Method::GET,
        url::Url::parse(&foreign).expect("url"),
    );
    assert!(auth.apply(&token, &mut request).is_err());
    assert!(request.headers().is_empty(), "nothing was put on it");
    assert!(
        auth.authorize(reqwest::Client::new().get(&foreign))
            .await
            .is_err()
    );
    assert_eq!(other.received_requests().await.map(|r| r.len()), Some(0));

    // Allowed explicitly: it goes there.
    let allowed = Authenticator::builder(
        common::spec("intergiro"),
        Credentials::new().with("api_key", API_KEY),
    )
    .base_url(vendor.uri())
    .allow_origin(other.uri())
    .build()
    .expect("engine");
    let answer = allowed
        .client(reqwest::Client::new())
        .get(&foreign)
        .send()
        .await
        .expect("allowed origin");
    assert_eq!(answer.status(), 200);
    assert_eq!(with_token(&other).await, 1);
    // An allowed origin is checked like a base URL.
    let error = Authenticator::builder(
        common::spec("intergiro"),
        Credentials::new().with("api_key", API_KEY),
    )
    .base_url(vendor.uri())
    .allow_origin("http://example.com")
    .build()
    .expect_err("plain http to another host");
    assert!(error.to_string().contains("unencrypted"), "{error}");
}

/// A spec's credentials, each with a value of its own.
fn credentials_for(spec: &auth_runtime::auth_spec::ProviderSpec) -> Credentials {
    spec.credentials
        .iter()
        .fold(Credentials::new(), |c, field| {
            c.with(&field.name, format!("value-of-{}", field.name))
        })
}

/// A server that answers every request 200 with tokens, and counts what it receives.
async fn attacker() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": common::jwt(serde_json::json!({"exp": 4_000_000_000u64})),
            "refresh_token": "attacker-refresh",
            "expires_in": 300,
        })))
        .mount(&server)
        .await;
    server
}

/// A login endpoint that redirects (`status`) to `to` + the same path.
async fn redirecting(
    spec: &auth_runtime::auth_spec::ProviderSpec,
    status: u16,
    to: &str,
) -> MockServer {
    let server = MockServer::start().await;
    let login = spec.login.request.path.to_string();
    Mock::given(path(login.as_str()))
        .respond_with(
            ResponseTemplate::new(status).insert_header("Location", format!("{to}{login}")),
        )
        .mount(&server)
        .await;
    server
}

/// Item 12: a login answered 307/308 to another origin re-sent the credentials there (all three
/// vendors) and the tokens it returned were accepted. The engine's client never follows such a
/// redirect; a caller's own client that did is caught after the fact, and the answer refused.
#[tokio::test]
async fn token_requests_never_follow_a_redirect_to_another_origin() {
    for name in ["intergiro", "apiax", "idissuer"] {
        let spec = common::spec(name);
        for status in [307, 308, 302] {
            let b = attacker().await;
            let a = redirecting(&spec, status, &b.uri()).await;
            let build = |client: Option<reqwest::Client>| {
                let mut builder = Authenticator::builder(Arc::clone(&spec), credentials_for(&spec))
                    .base_url(a.uri())
                    .retry(common::fast_retry());
                if let Some(client) = client {
                    builder = builder.http_client(client);
                }
                builder.build().expect("engine")
            };
            // The engine's own client, and a caller's built from the safe preset.
            let preset = auth_runtime::http::client_builder()
                .user_agent("probe")
                .build()
                .expect("client");
            for auth in [build(None), build(Some(preset))] {
                let error = auth.access_token().await.expect_err("redirected");
                assert!(
                    matches!(error.kind(), AuthErrorKind::RedirectRefused { status: s, .. } if *s == status),
                    "{name} {status}: {error:?}"
                );
                let message = error.to_string();
                assert!(message.contains(&b.uri()), "{message}");
                assert!(message.contains("not sent"), "{message}");
            }
            assert_eq!(
                b.received_requests().await.map(|r| r.len()),
                Some(0),
                "{name} {status}: the other origin received nothing"
            );
            // A plain client follows redirects: the credentials went out, but the answer is
            // refused, and the error says what may have leaked.
            let auth = build(Some(reqwest::Client::new()));
            let error = auth.access_token().await.expect_err("followed");
            assert!(
                matches!(error.kind(), AuthErrorKind::RedirectFollowed { .. }),
                "{name} {status}: {error:?}"
            );
            let message = error.to_string();
            assert!(message.contains("may have been sent"), "{message}");
            assert!(message.contains(&b.uri()), "{message}");
            assert!(auth.status().await.expect("status").session.is_none());
        }
    }
}

/// A redirect within the vendor's own origin is followed.
#[tokio::test]
async fn a_redirect_within_the_origin_is_followed() {
    let vendor = intergiro_vendor().await;
    Mock::given(path("/old/login"))
        .respond_with(
            ResponseTemplate::new(308)
                .insert_header("Location", format!("{}/v3/auth/login", vendor.uri())),
        )
        .mount(&vendor)
        .await;
    let spec = common::spec("intergiro");
    let mut moved = (*spec).clone();
    moved.login.request.path = auth_runtime::auth_spec::template::Template::literal("/old/login");
    let auth = Authenticator::builder(Arc::new(moved), Credentials::new().with("api_key", API_KEY))
        .base_url(vendor.uri())
        .build()
        .expect("engine");
    auth.access_token()
        .await
        .expect("followed within the origin");
}

/// How a raw vendor behaves after reading a request.
#[derive(Clone, Copy)]
enum Raw {
    /// Sends headers announcing a 100-byte body, 10 bytes of it, and closes the connection.
    DropMidBody,
    /// Sends headers and 10 bytes of the body, then stalls.
    StallMidBody,
    /// Sends a chunked body that never ends.
    Endless,
    /// Announces (and sends) a 50 MB body.
    Huge,
}

/// What a raw vendor saw.
#[derive(Default)]
struct Seen {
    connections: AtomicUsize,
    /// Body bytes written before the client closed the connection (or the vendor stopped).
    written: AtomicU64,
    /// Connections the client closed while the vendor was still writing.
    closed_by_client: AtomicUsize,
}

/// Upper bound of what an `Endless` vendor writes, so that a client that reads it all (the
/// bug) ends too, instead of filling the machine's memory.
const ENDLESS_LIMIT: u64 = 256 << 20;

/// A vendor written on a raw socket, misbehaving as `raw` says, on every connection.
async fn raw_vendor(raw: Raw) -> (String, Arc<Seen>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Seen::default());
    let counters = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counters.connections.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(serve_raw(socket, raw, Arc::clone(&counters)));
        }
    });
    (url, seen)
}

/// Writes `bytes` (of which `body` are body bytes), counting; false once the client is gone.
async fn put(socket: &mut tokio::net::TcpStream, seen: &Seen, bytes: &[u8], body: u64) -> bool {
    use tokio::io::AsyncWriteExt as _;
    let ok = socket.write_all(bytes).await.is_ok();
    if ok {
        seen.written.fetch_add(body, Ordering::SeqCst);
    } else {
        seen.closed_by_client.fetch_add(1, Ordering::SeqCst);
    }
    ok
}

async fn serve_raw(mut socket: tokio::net::TcpStream, raw: Raw, seen: Arc<Seen>) {
    use tokio::io::AsyncReadExt as _;
    // The request: headers and a small body; enough to read it all in one go or two.
    let mut request = Vec::new();
    let mut buffer = [0u8; 8192];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
    }
    let head =
        |extra: &str| format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{extra}\r\n");
    match raw {
        Raw::DropMidBody => {
            let mut bytes = head("Content-Length: 100\r\n").into_bytes();
            bytes.extend_from_slice(br#"{"access_"#);
            put(&mut socket, &seen, &bytes, 10).await;
        }
        Raw::StallMidBody => {
            let mut bytes = head("Content-Length: 100\r\n").into_bytes();
            bytes.extend_from_slice(br#"{"access_"#);
            put(&mut socket, &seen, &bytes, 10).await;
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        Raw::Endless => {
            if !put(
                &mut socket,
                &seen,
                &head("Transfer-Encoding: chunked\r\n").into_bytes(),
                0,
            )
            .await
            {
                return;
            }
            let chunk = format!("10000\r\n{}\r\n", " ".repeat(0x10000)).into_bytes();
            while seen.written.load(Ordering::SeqCst) < ENDLESS_LIMIT {
                if !put(&mut socket, &seen, &chunk, 0x10000).await {
                    return;
                }
            }
        }
        Raw::Huge => {
            let size = 50_000_000u64;
            if !put(
                &mut socket,
                &seen,
                &head(&format!("Content-Length: {size}\r\n")).into_bytes(),
                0,
            )
            .await
            {
                return;
            }
            let chunk = vec![b' '; 0x10000];
            let mut sent = 0;
            while sent < size {
                let n = (size - sent).min(chunk.len() as u64);
                if !put(&mut socket, &seen, &chunk[..n as usize], n).await {
                    return;
                }
                sent += n;
            }
        }
    }
}

fn raw_engine(url: &str, timeout: Duration) -> Authenticator {
    Authenticator::builder(
        common::spec("intergiro"),
        Credentials::new().with("api_key", API_KEY),
    )
    .base_url(url)
    .timeout(timeout)
    .retry(common::fast_retry())
    .build()
    .expect("engine")
}

/// Item 14: a connection dropped mid-body was reported as "answer is not JSON ... body:
/// (empty)". The error says the answer was cut off, and how.
#[tokio::test]
async fn a_connection_dropped_mid_answer_is_reported_as_such() {
    let (url, seen) = raw_vendor(Raw::DropMidBody).await;
    let error = raw_engine(&url, Duration::from_secs(5))
        .access_token()
        .await
        .expect_err("cut off");
    let message = error.to_string();
    assert!(
        matches!(
            error.kind(),
            AuthErrorKind::AnswerIncomplete { status: 200, .. }
        ),
        "{error:?}"
    );
    assert!(message.contains("connection closed"), "{message}");
    assert!(!message.contains("not JSON"), "{message}");
    assert_eq!(seen.connections.load(Ordering::SeqCst), 1, "not retried");
}

/// Item 14: a body that stalls past the timeout is a timeout, not an empty answer.
#[tokio::test]
async fn a_body_that_stalls_past_the_timeout_is_reported_as_a_timeout() {
    let (url, _) = raw_vendor(Raw::StallMidBody).await;
    let error = tokio::time::timeout(
        Duration::from_secs(20),
        raw_engine(&url, Duration::from_millis(500)).access_token(),
    )
    .await
    .expect("ends")
    .expect_err("stalled");
    let message = error.to_string();
    assert!(
        matches!(error.kind(), AuthErrorKind::AnswerIncomplete { .. }),
        "{error:?}"
    );
    assert!(message.contains("timed out"), "{message}");
    assert!(!message.contains("not JSON"), "{message}");
}

/// Waits (up to 10 s) until the vendor has seen the client close the connection.
async fn closed_by_client(seen: &Seen) -> bool {
    for _ in 0..200 {
        if seen.closed_by_client.load(Ordering::SeqCst) > 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Item 11: an endless body took 8 GB of memory before the timeout. Reading stops at the cap
/// (1 MiB by default) with a size error, and the connection is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_answer_stops_at_the_cap() {
    let (url, seen) = raw_vendor(Raw::Endless).await;
    let error = tokio::time::timeout(
        Duration::from_secs(20),
        raw_engine(&url, Duration::from_secs(60)).access_token(),
    )
    .await
    .expect("fails before the (60 s) timeout")
    .expect_err("too large");
    assert!(
        matches!(
            error.kind(),
            AuthErrorKind::AnswerTooLarge {
                limit: 1_048_576,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("exceeded 1048576 bytes"),
        "{error}"
    );
    assert!(closed_by_client(&seen).await, "the client hung up");
    // What the vendor managed to write: the cap plus what the kernel's socket buffers took in.
    let written = seen.written.load(Ordering::SeqCst);
    assert!(written < 32 << 20, "{written} bytes written");
    assert_eq!(seen.connections.load(Ordering::SeqCst), 1, "not retried");
}

/// Item 11: a 50 MB answer is refused from its `Content-Length`, before its body is read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_answer_is_refused_from_its_length() {
    let (url, seen) = raw_vendor(Raw::Huge).await;
    let error = tokio::time::timeout(
        Duration::from_secs(20),
        raw_engine(&url, Duration::from_secs(60)).access_token(),
    )
    .await
    .expect("fails at once")
    .expect_err("too large");
    assert!(
        matches!(
            error.kind(),
            AuthErrorKind::AnswerTooLarge { status: 200, .. }
        ),
        "{error:?}"
    );
    assert!(closed_by_client(&seen).await, "the client hung up");
    let written = seen.written.load(Ordering::SeqCst);
    assert!(written < 32 << 20, "{written} of 50000000 bytes written");
}

/// Item 11: the spec's `policy.max_answer_size` sets the cap; an answer within it is read.
#[tokio::test]
async fn the_spec_sets_the_cap() {
    let server = MockServer::start().await;
    let exp = common::epoch(std::time::SystemTime::now()) + 3600;
    let token = common::jwt(serde_json::json!({"exp": exp}));
    let padded = |size: usize| serde_json::json!({"access_token": token, "refresh_token": "r", "pad": "x".repeat(size)});
    Mock::given(path("/v3/auth/login"))
        .respond_with(ResponseTemplate::new(200).set_body_json(padded(100_000)))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/v3/auth/login"))
        .respond_with(ResponseTemplate::new(200).set_body_json(padded(60_000)))
        .mount(&server)
        .await;
    let mut spec = (*common::spec("intergiro")).clone();
    spec.policy.max_answer_bytes = 64 << 10;
    spec.policy.min_login_interval = None;
    let auth = Authenticator::builder(Arc::new(spec), Credentials::new().with("api_key", API_KEY))
        .base_url(server.uri())
        .build()
        .expect("engine");
    let error = auth.access_token().await.expect_err("100 kB > 64 KiB");
    assert!(
        error.to_string().contains("exceeded 65536 bytes"),
        "{error}"
    );
    auth.access_token().await.expect("60 kB < 64 KiB");
}

/// Item 10 (Retry-After): a delay too large for any integer, or a date past the year 9999, is
/// beyond the retry budget: no panic, no wait, no hammering.
#[tokio::test]
async fn an_out_of_range_retry_after_is_beyond_the_budget() {
    for value in [
        "99999999999999999999999999",
        "18446744073709551616",
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "Fri, 31 Dec 99999 23:59:59 GMT",
    ] {
        let server = MockServer::start().await;
        Mock::given(path("/v3/auth/login"))
            .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", value))
            .mount(&server)
            .await;
        let error = tokio::time::timeout(
            Duration::from_secs(5),
            raw_engine(&server.uri(), Duration::from_secs(5)).access_token(),
        )
        .await
        .expect("ends at once")
        .expect_err("throttled");
        assert!(
            error.to_string().contains("exceeds the retry budget"),
            "{value}: {error}"
        );
        assert_eq!(
            server.received_requests().await.map(|r| r.len()),
            Some(1),
            "{value}: not retried"
        );
    }
}
