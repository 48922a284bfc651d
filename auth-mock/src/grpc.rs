//! API calls from gRPC clients (tonic channels): a request whose content type is
//! `application/grpc` gets its answer in gRPC's framing, so that a gRPC client can read it.
//!
//! The simulator's judgement is the same as for any API call; only the wrapping differs. An
//! accepted call's JSON answer becomes one length-prefixed message, followed by trailers with
//! `grpc-status: 0`. Any other answer goes back as it is: an HTTP error status (which gRPC
//! clients map to a status: 401 to `UNAUTHENTICATED`), or an answer that already carries a
//! `grpc-status` header, as a spec's expired-token signal for a gRPC vendor would
//! (`expired: { status: [200], headers: { grpc-status: "16" } }`, a "trailers-only" answer).

use std::convert::Infallible;

use bytes::{BufMut as _, Bytes, BytesMut};
use http_body_util::{Either, Full, StreamBody};
use hyper::body::Frame;
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::{Request, Response, StatusCode};

/// The frames of a gRPC answer: its message, then its trailers.
type Frames = futures_util::stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Infallible>>>;

/// What the simulator answers with: a plain body, or a gRPC answer's frames.
pub(crate) type Body = Either<Full<Bytes>, StreamBody<Frames>>;

/// Whether `request` is a gRPC call.
pub(crate) fn wants<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

/// A plain answer, as it is.
pub(crate) fn plain(answer: Response<Full<Bytes>>) -> Response<Body> {
    answer.map(Either::Left)
}

/// `answer` as a gRPC client reads it (see the module's doc).
pub(crate) async fn framed(answer: Response<Full<Bytes>>) -> Response<Body> {
    use http_body_util::BodyExt as _;
    if answer.status() != StatusCode::OK || answer.headers().contains_key("grpc-status") {
        return plain(answer);
    }
    let (mut parts, body) = answer.into_parts();
    let message = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(never) => match never {},
    };
    let mut frame = BytesMut::with_capacity(5 + message.len());
    // Not compressed, then the length: gRPC's five-byte prefix.
    frame.put_u8(0);
    frame.put_u32(u32::try_from(message.len()).unwrap_or(u32::MAX));
    frame.put_slice(&message);
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from_static("0"));
    parts
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    let frames = vec![
        Ok(Frame::data(frame.freeze())),
        Ok(Frame::trailers(trailers)),
    ];
    Response::from_parts(
        parts,
        Either::Right(StreamBody::new(futures_util::stream::iter(frames))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;

    #[tokio::test]
    async fn an_accepted_call_is_one_message_and_an_ok_status() {
        let answer = Response::new(Full::new(Bytes::from_static(b"{\"ok\":true}")));
        let framed = framed(answer).await;
        assert_eq!(framed.headers()[CONTENT_TYPE], "application/grpc");
        let collected = framed.into_body().collect().await.expect("body");
        let trailers = collected.trailers().cloned().expect("trailers");
        assert_eq!(trailers["grpc-status"], "0");
        let bytes = collected.to_bytes();
        assert_eq!(&bytes[..5], &[0, 0, 0, 0, 11]);
        assert_eq!(&bytes[5..], b"{\"ok\":true}");
    }

    #[tokio::test]
    async fn a_refusal_goes_back_as_it_is() {
        let mut refused = Response::new(Full::new(Bytes::new()));
        *refused.status_mut() = StatusCode::UNAUTHORIZED;
        let framed = framed(refused).await;
        assert_eq!(framed.status(), StatusCode::UNAUTHORIZED);
        assert!(framed.headers().get(CONTENT_TYPE).is_none());

        let mut trailers_only = Response::new(Full::new(Bytes::new()));
        trailers_only
            .headers_mut()
            .insert("grpc-status", HeaderValue::from_static("16"));
        let framed = framed_status(trailers_only).await;
        assert_eq!(framed, ("16".to_owned(), 0));
    }

    async fn framed_status(answer: Response<Full<Bytes>>) -> (String, usize) {
        let framed = framed(answer).await;
        let status = framed.headers()["grpc-status"]
            .to_str()
            .expect("text")
            .to_owned();
        let body = framed.into_body().collect().await.expect("body").to_bytes();
        (status, body.len())
    }
}
