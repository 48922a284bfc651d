//! The tower layer on a real hyper-util client against a local vendor (the spec-driven
//! simulator, which answers an expired token on its API with the spec's expired-token signal):
//! the token goes on every request, an expired answer is refreshed and the request (with a
//! `Clone` body) replayed once, without replay the expired answer is returned and the next
//! request renews, and a foreign origin gets no token.

mod common;

use auth_mock::{MockOptions, MockServer, PROTECTED_PATH};
use auth_runtime::tower::{AuthLayer, BoxError};
use auth_runtime::{AuthError, AuthErrorKind};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower::{Service, ServiceBuilder};

async fn send<S>(client: &mut S, request: http::Request<Full<Bytes>>) -> Result<u16, BoxError>
where
    S: Service<
            http::Request<Full<Bytes>>,
            Response = http::Response<hyper::body::Incoming>,
            Error = BoxError,
        >,
{
    std::future::poll_fn(|cx| client.poll_ready(cx)).await?;
    let answer = client.call(request).await?;
    let status = answer.status().as_u16();
    answer.into_body().collect().await?;
    Ok(status)
}

#[tokio::test]
async fn hyper_client_gets_the_token_and_an_expired_answer_is_refreshed_and_replayed() {
    let mock = MockServer::start(common::spec("intergiro"), MockOptions::default())
        .await
        .expect("simulator");
    let auth = common::engine(&mock, common::spec("intergiro"));
    let http = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut client = ServiceBuilder::new()
        .layer(AuthLayer::new(auth.clone()))
        .service(http);
    let url = format!("{}{PROTECTED_PATH}", mock.base_url());
    let post = |body: &'static str| {
        http::Request::post(&url)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .expect("request")
    };

    for _ in 0..3 {
        assert_eq!(
            send(&mut client, post("{\"n\":1}")).await.expect("sent"),
            200
        );
    }
    assert_eq!(mock.stats().logins, 1, "one login for three calls");
    assert_eq!(mock.stats().api_calls, 3);

    mock.expire_tokens();
    assert_eq!(
        send(&mut client, post("{\"n\":2}")).await.expect("sent"),
        200,
        "refreshed and replayed"
    );
    let stats = mock.stats();
    assert_eq!(stats.expired_answers, 1, "{stats:?}");
    assert_eq!(
        stats.api_calls, 5,
        "the expired call and its replay: {stats:?}"
    );
    assert_eq!(stats.logins + stats.refreshes, 2, "one renewal: {stats:?}");
    assert_eq!(auth.stats().replays, 1);
}

#[tokio::test]
async fn without_replay_the_expired_answer_is_returned_and_the_next_request_renews() {
    let mock = MockServer::start(common::spec("intergiro"), MockOptions::default())
        .await
        .expect("simulator");
    let auth = common::engine(&mock, common::spec("intergiro"));
    let http = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut client = ServiceBuilder::new()
        .layer(AuthLayer::new(auth.clone()).without_replay())
        .service(http);
    let get = || {
        http::Request::get(format!("{}{PROTECTED_PATH}", mock.base_url()))
            .body(Full::new(Bytes::new()))
            .expect("request")
    };
    assert_eq!(send(&mut client, get()).await.expect("sent"), 200);
    mock.expire_tokens();
    let expired = send(&mut client, get()).await.expect("sent");
    assert_ne!(expired, 200, "the expired answer goes back as it is");
    assert_eq!(auth.stats().replays, 0);
    assert_eq!(
        send(&mut client, get()).await.expect("sent"),
        200,
        "renewed"
    );
    assert_eq!(mock.stats().logins + mock.stats().refreshes, 2);
}

#[tokio::test]
async fn a_foreign_origin_is_refused_before_anything_carries_the_token() {
    let mock = MockServer::start(common::spec("intergiro"), MockOptions::default())
        .await
        .expect("simulator");
    let auth = common::engine(&mock, common::spec("intergiro"));
    let http = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut client = ServiceBuilder::new()
        .layer(AuthLayer::new(auth))
        .service(http);
    let foreign = http::Request::get("http://127.0.0.1:9/elsewhere")
        .body(Full::new(Bytes::new()))
        .expect("request");
    let error = send(&mut client, foreign).await.expect_err("refused");
    let error = error.downcast::<AuthError>().expect("an engine error");
    assert!(
        matches!(*error.kind(), AuthErrorKind::TokenOriginRefused { .. }),
        "{error}"
    );
}

/// `apply_http` decides most requests on the URI as written, without parsing a URL: however the
/// base URL's origin is spelt (default port, upper-case scheme, a query) it gets the token, and
/// a neighbour (another port, scheme or host name for the same address) or a relative URI does
/// not.
#[tokio::test]
async fn the_token_goes_to_the_base_urls_origin_however_it_is_written_and_nowhere_else() {
    let mock = MockServer::start(common::spec("intergiro"), MockOptions::default())
        .await
        .expect("simulator");
    let auth = common::engine(&mock, common::spec("intergiro"));
    let token = auth.access_token().await.expect("token");
    let base = mock.base_url();
    let port: u16 = base
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    let request = |uri: &str| http::Request::get(uri).body(()).expect("request");
    for uri in [
        format!("{base}/v1/x"),
        format!("{base}/v1/x?page=2"),
        format!("HTTP://127.0.0.1:{port}/v1/x"),
    ] {
        let mut r = request(&uri);
        auth.apply_http(&token, &mut r)
            .unwrap_or_else(|e| panic!("{uri}: {e}"));
        assert!(!r.headers().is_empty(), "{uri} gets the token");
    }
    for uri in [
        format!("http://127.0.0.1:{}/v1/x", port.wrapping_add(1)),
        format!("https://127.0.0.1:{port}/v1/x"),
        format!("http://localhost:{port}/v1/x"),
        "/v1/x".to_owned(),
    ] {
        let mut r = request(&uri);
        assert!(auth.apply_http(&token, &mut r).is_err(), "{uri} is refused");
        assert!(r.headers().is_empty(), "{uri} gets no token");
    }
}

#[tokio::test]
async fn a_value_renewed_in_an_answer_is_taken_and_sent_from_then_on() {
    let spec = common::fixture("session_values");
    let mock = MockServer::start(spec.clone(), MockOptions::default())
        .await
        .expect("simulator");
    let auth = common::engine(&mock, spec);
    let http = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut client = ServiceBuilder::new()
        .layer(AuthLayer::new(auth.clone()))
        .service(http);
    let url = format!("{}{PROTECTED_PATH}", mock.base_url());
    let get = || {
        http::Request::get(&url)
            .body(Full::new(Bytes::new()))
            .expect("request")
    };
    assert_eq!(send(&mut client, get()).await.expect("sent"), 200);
    let first = auth.access_token().await.expect("token");
    let account = |token: &auth_runtime::AccessToken| {
        use secrecy::ExposeSecret as _;
        token.session().values["account_token"]
            .expose_secret()
            .to_owned()
    };

    // The vendor's next answer carries a new account token, and only the new one works after.
    mock.roll_values();
    assert_eq!(send(&mut client, get()).await.expect("sent"), 200);
    assert_eq!(mock.stats().renewals_sent, 1);
    let renewed = auth.access_token().await.expect("token");
    assert_ne!(
        account(&renewed),
        account(&first),
        "the renewed value is taken"
    );
    assert_eq!(
        send(&mut client, get()).await.expect("sent"),
        200,
        "and sent: the old one is refused now"
    );
    assert_eq!(mock.stats().logins, 1);
    assert_eq!(mock.stats().expired_answers, 0);
}

/// A request body that counts its copies.
struct Counted(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Clone for Counted {
    fn clone(&self) -> Self {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Self(self.0.clone())
    }
}

/// An inner service that answers every request with `status`, sending nothing.
#[derive(Clone)]
struct Answers(u16);

impl Service<http::Request<Counted>> for Answers {
    type Response = http::Response<()>;
    type Error = BoxError;
    type Future = std::future::Ready<Result<http::Response<()>, BoxError>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), BoxError>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Request<Counted>) -> Self::Future {
        let mut answer = http::Response::new(());
        *answer.status_mut() = http::StatusCode::from_u16(self.0).expect("status");
        std::future::ready(Ok(answer))
    }
}

#[tokio::test]
async fn a_request_is_copied_for_a_replay_only_when_an_answer_can_call_for_one() {
    // `alternative_paths` says how an expired token is answered (401), `bare_body` says nothing:
    // there, no answer can call for a replay, and a 401 is only a 401.
    for (fixture, expired) in [("alternative_paths", true), ("bare_body", false)] {
        let spec = common::fixture(fixture);
        let mock = MockServer::start(spec.clone(), MockOptions::default())
            .await
            .expect("simulator");
        let auth = common::engine(&mock, spec);
        let copies = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let request = || {
            http::Request::post(format!("{}/things", mock.base_url()))
                .body(Counted(copies.clone()))
                .expect("request")
        };
        let mut ok = ServiceBuilder::new()
            .layer(AuthLayer::new(auth.clone()))
            .service(Answers(200));
        for _ in 0..3 {
            std::future::poll_fn(|cx| ok.poll_ready(cx))
                .await
                .expect("ready");
            let answer = ok.call(request()).await.expect("answered");
            assert_eq!(answer.status(), 200);
        }
        let copied = copies.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(copied, if expired { 3 } else { 0 }, "{fixture}");

        let generation = auth.access_token().await.expect("token").generation();
        let mut refused = ServiceBuilder::new()
            .layer(AuthLayer::new(auth.clone()))
            .service(Answers(401));
        let answer = refused.call(request()).await.expect("answered");
        assert_eq!(answer.status(), 401, "{fixture}: the answer goes back");
        let after = auth.cached().map(|t| t.generation());
        let renewals = mock.stats().logins + mock.stats().refreshes;
        if expired {
            // Renewed and replayed once; the replay's 401 goes back as it is.
            assert_eq!(after, Some(generation + 1), "{fixture}: renewed");
            assert_eq!(auth.stats().replays, 1, "{fixture}: replayed once");
            assert_eq!(renewals, 2, "{fixture}");
        } else {
            assert_eq!(after, Some(generation), "{fixture}: the token stays");
            assert_eq!(auth.stats().replays, 0, "{fixture}");
            assert_eq!(renewals, 1, "{fixture}");
        }
    }
}
