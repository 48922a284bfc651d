//! The tower layer under a real tonic client: a `tonic::transport::Channel` (HTTP/2) to the
//! spec-driven simulator, which answers gRPC calls in gRPC's framing. A client made with
//! `Grpc::new(channel)` sends URIs that name no origin (the channel adds its endpoint's): with
//! `relative_to` they get the token, without it they are refused before anything is sent. gRPC
//! bodies are streams, so the layer runs without replay: an expired answer goes back to the
//! caller as `UNAUTHENTICATED`, and the next call renews.

mod common;

use auth_mock::{MockOptions, MockServer, PROTECTED_PATH};
use std::sync::Arc;

use auth_runtime::Authenticator;
use auth_runtime::auth_spec::ProviderSpec;
use auth_runtime::tower::{AuthLayer, AuthService, NoReplay};
use bytes::{Buf as _, BufMut as _, Bytes};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::{Code, Status};

/// Messages as raw bytes: the simulator's answer is JSON inside gRPC's framing.
#[derive(Debug, Default)]
struct Raw;

impl Codec for Raw {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = Raw;
    type Decoder = Raw;

    fn encoder(&mut self) -> Raw {
        Raw
    }

    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl Encoder for Raw {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// A simulator of `spec`, an engine for it, and a tonic channel (HTTP/2) to it.
async fn vendor(spec: Arc<ProviderSpec>) -> (MockServer, Authenticator, tonic::transport::Channel) {
    let mock = MockServer::start(spec.clone(), MockOptions::default())
        .await
        .expect("simulator");
    let auth = common::engine(&mock, spec);
    let channel = tonic::transport::Channel::from_shared(mock.base_url())
        .expect("endpoint")
        .connect()
        .await
        .expect("HTTP/2 connection to the simulator");
    (mock, auth, channel)
}

/// A tonic client made with `new(channel)` (its URIs name no origin), through the layer told
/// that such requests go to the simulator.
fn client(mock: &MockServer, auth: &Authenticator, channel: tonic::transport::Channel) -> Client {
    let layer = AuthLayer::new(auth.clone())
        .without_replay()
        .relative_to(&mock.base_url())
        .expect("the base URL's origin is allowed");
    tonic::client::Grpc::new(tower::ServiceBuilder::new().layer(layer).service(channel))
}

/// A tonic client over the layered channel.
type Client = tonic::client::Grpc<AuthService<tonic::transport::Channel, NoReplay>>;

/// One unary call to the simulator's protected API: the answer's message, or the status.
async fn call(client: &mut Client) -> Result<serde_json::Value, Status> {
    client
        .ready()
        .await
        .map_err(|e| Status::unknown(e.to_string()))?;
    let answer = client
        .unary(
            tonic::Request::new(Bytes::from_static(b"{}")),
            http::uri::PathAndQuery::from_static(PROTECTED_PATH),
            Raw,
        )
        .await?;
    serde_json::from_slice(answer.get_ref()).map_err(|e| Status::internal(format!("not JSON: {e}")))
}

#[tokio::test]
async fn a_tonic_channel_gets_the_token_and_an_expired_answer_renews_the_next_call() {
    let (mock, auth, channel) = vendor(common::spec("intergiro")).await;
    let mut client = client(&mock, &auth, channel);

    for _ in 0..3 {
        let answer = call(&mut client).await.expect("accepted");
        assert_eq!(answer["ok"], true, "{answer}");
    }
    let stats = mock.stats();
    assert_eq!(stats.logins, 1, "one login for three calls: {stats:?}");
    assert_eq!(stats.api_calls, 3, "{stats:?}");

    mock.expire_tokens();
    let expired = call(&mut client).await.expect_err("expired");
    assert_eq!(expired.code(), Code::Unauthenticated, "{expired:?}");
    assert_eq!(auth.stats().replays, 0, "a stream body is not replayed");
    let answer = call(&mut client).await.expect("renewed");
    assert_eq!(answer["ok"], true, "{answer}");
    let stats = mock.stats();
    assert_eq!(stats.logins + stats.refreshes, 2, "one renewal: {stats:?}");
    assert_eq!(stats.expired_answers, 1, "{stats:?}");
}

#[tokio::test]
async fn without_relative_to_a_uri_with_no_origin_is_refused_before_it_is_sent() {
    let (mock, auth, channel) = vendor(common::spec("intergiro")).await;
    let mut client = tonic::client::Grpc::new(
        tower::ServiceBuilder::new()
            .layer(AuthLayer::new(auth).without_replay())
            .service(channel),
    );
    let refused = call(&mut client).await.expect_err("refused");
    assert!(
        refused.message().contains("relative_to"),
        "the error says what to do: {refused:?}"
    );
    assert_eq!(mock.stats().api_calls, 0, "nothing reached the API");
}

#[tokio::test]
async fn relative_to_a_foreign_origin_is_refused_when_the_layer_is_made() {
    let (_mock, auth, _channel) = vendor(common::spec("intergiro")).await;
    let error = AuthLayer::new(auth)
        .without_replay()
        .relative_to("http://127.0.0.1:9")
        .expect_err("not an allowed origin");
    assert!(
        matches!(
            error.kind(),
            auth_runtime::AuthErrorKind::TokenOriginRefused { .. }
        ),
        "{error}"
    );
}

/// A spec that sends the token in the query too: the entries are appended to the relative URI,
/// which stays relative (the channel adds its origin), and the simulator accepts the call only
/// with every entry as `usage` sends it.
#[tokio::test]
async fn query_entries_go_on_a_relative_uri() {
    let spec = common::fixture("plain_text_token");
    assert!(!spec.usage.query.is_empty(), "the fixture sends a query");
    let (mock, auth, channel) = vendor(spec).await;
    let mut client = client(&mock, &auth, channel);
    let answer = call(&mut client).await.expect("accepted");
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(mock.stats().api_calls, 1);
}

/// A gRPC vendor says "unauthenticated" in a trailers-only answer: HTTP 200 with
/// `grpc-status: 16` in its headers (the fixture declares it so; the simulator answers an
/// expired token with it). The layer invalidates the token on that answer, and the next call
/// renews; the 200s with a message are successes.
#[tokio::test]
async fn a_trailers_only_unauthenticated_answer_renews_the_next_call() {
    let (mock, auth, channel) = vendor(common::fixture("grpc_unauthenticated")).await;
    let mut client = client(&mock, &auth, channel);
    assert_eq!(call(&mut client).await.expect("accepted")["ok"], true);
    mock.expire_tokens();
    let expired = call(&mut client).await.expect_err("expired");
    assert_eq!(expired.code(), Code::Unauthenticated, "{expired:?}");
    assert_eq!(call(&mut client).await.expect("renewed")["ok"], true);
    let stats = mock.stats();
    assert_eq!(stats.logins + stats.refreshes, 2, "one renewal: {stats:?}");
}
