//! The reqwest-middleware layer: adds the token, and on an expired-token answer refreshes and
//! replays the request once (when its body can be cloned); on an answer the spec's
//! `usage.failures` call "session over", logs in again and replays once the same way.

use http::Extensions;
use reqwest_middleware::{Middleware, Next};

use tracing::Instrument as _;

use crate::engine::{Authenticator, Sent};
use crate::stats::Event;

/// Authenticates requests made through a `reqwest_middleware::ClientWithMiddleware`.
///
/// Token requests themselves never go through it: the engine sends them with its own plain
/// client.
#[derive(Clone, Debug)]
pub struct AuthMiddleware {
    auth: Authenticator,
}

impl AuthMiddleware {
    /// A layer over `auth`.
    pub fn new(auth: Authenticator) -> Self {
        Self { auth }
    }
}

type HandleFuture<'a> = std::pin::Pin<
    Box<
        dyn std::future::Future<Output = reqwest_middleware::Result<reqwest::Response>> + Send + 'a,
    >,
>;

// Written out rather than with `async_trait`, whose future would hold the request twice and
// the wait for a token besides: with a cached token (the common case) the token is applied
// before the future is made, and the future, allocated per request, holds only what the
// answer needs. Small enough for the allocator's per-thread cache, which a future of 1.5 KB
// was not.
impl Middleware for AuthMiddleware {
    fn handle<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        request: reqwest::Request,
        extensions: &'life1 mut Extensions,
        next: Next<'life2>,
    ) -> HandleFuture<'async_trait>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        let mut request = request;
        // The token is only lent to write it on the request: the future keeps its generation
        // (and the token itself only when answers may renew it).
        let mut replay = None;
        let hit = self
            .auth
            .with_cached_hit(|token| self.prepare(token, &mut request, &mut replay));
        match hit {
            Some(Ok(sent)) => Box::pin(self.send(sent, request, replay, extensions, next)),
            Some(Err(error)) => Box::pin(std::future::ready(Err(error))),
            None => Box::pin(async move {
                let token = self
                    .auth
                    .access_token()
                    .await
                    .map_err(reqwest_middleware::Error::middleware)?;
                let mut replay = None;
                let sent = self.prepare(&token.0, &mut request, &mut replay)?;
                self.send(sent, request, replay, extensions, next).await
            }),
        }
    }
}

impl AuthMiddleware {
    /// Puts `token` on `request`, after writing into `replay` a copy of it without, to send
    /// again, when an answer can call for that and its body can be copied (a streaming body
    /// cannot be replayed: then an expired answer is returned as is); returns what the answer
    /// is judged against. In place: the request is not moved in and out (each move is a copy
    /// of it).
    fn prepare(
        &self,
        token: &std::sync::Arc<crate::session::Shard>,
        request: &mut reqwest::Request,
        replay: &mut Option<reqwest::Request>,
    ) -> reqwest_middleware::Result<Sent> {
        if self.auth.answers_may_replay(true) {
            *replay = replay_copy(request);
        }
        self.auth
            .apply_from(token, request)
            .map_err(reqwest_middleware::Error::middleware)?;
        Ok(self.auth.sent(token))
    }

    /// Sends `request` (with a token on it, as `sent` says) down the stack, and on an answer
    /// that says the token expired or the session is over, renews and sends `replay` once.
    ///
    /// A block rather than an `async fn`, which would keep a second copy of each argument in
    /// its state.
    #[allow(
        clippy::manual_async_fn,
        reason = "an async fn keeps each argument twice"
    )]
    fn send<'a>(
        &'a self,
        sent: Sent,
        request: reqwest::Request,
        replay: Option<reqwest::Request>,
        extensions: &'a mut Extensions,
        next: Next<'a>,
    ) -> impl std::future::Future<Output = reqwest_middleware::Result<reqwest::Response>> + Send + 'a
    {
        async move {
            let response = next.clone().run(request, extensions).await?;
            let status = response.status().as_u16();
            let (response, ended) = if self.auth.is_expired_answer(status, response.headers()) {
                (response, Ended::Expired)
            } else if self.auth.expired_answer_needs_body(status)
                || self.auth.api_answer_needs_body(status)
            {
                // Boxed, as the replay below: rare steps whose state would otherwise make every
                // request's future (allocated and moved per request) several times larger.
                Box::pin(judge_body(&self.auth, response)).await?
            } else {
                (response, Ended::No)
            };
            match ended {
                Ended::No => {
                    // Only an answer that renews something waits to take it.
                    if let Some(renewed) = self.auth.renewed_after(&sent, response.headers()) {
                        self.auth.take_renewed(renewed).await;
                    }
                    return Ok(response);
                }
                Ended::Expired => {
                    tracing::debug!(generation = sent.generation, "expired-token answer");
                    self.auth.invalidate(sent.generation);
                }
                Ended::SessionOver => {
                    tracing::debug!(generation = sent.generation, "session-over answer");
                    self.auth.end_session(sent.generation);
                }
            }
            let Some(replay) = replay else {
                return Ok(response);
            };
            Box::pin(replay_once(
                &self.auth,
                sent.generation,
                replay,
                extensions,
                next,
            ))
            .await
        }
    }
}

/// Sends `replay` (whose first copy went with the stale token of `generation`) once more with
/// a renewed token, under an `auth.replay` span.
async fn replay_once(
    auth: &Authenticator,
    generation: u64,
    mut replay: reqwest::Request,
    extensions: &mut Extensions,
    next: Next<'_>,
) -> reqwest_middleware::Result<reqwest::Response> {
    let span = crate::stats::replay_span(&auth.spec().name, generation);
    async {
        let fresh = auth.access_token().await.map_err(|e| {
            tracing::Span::current().record("outcome", e.label());
            reqwest_middleware::Error::middleware(e)
        })?;
        let span = tracing::Span::current();
        span.record("generation", fresh.generation());
        auth.apply(&fresh, &mut replay)
            .map_err(reqwest_middleware::Error::middleware)?;
        auth.record(Event::Replay);
        let response = next.run(replay, extensions).await?;
        span.record("outcome", response.status().as_u16());
        auth.observe_answer(&fresh, response.headers()).await;
        Ok(response)
    }
    .instrument(span)
    .await
}

/// What an API answer says about the token it was sent with.
enum Ended {
    /// Nothing: the answer goes to the caller.
    No,
    /// It expired (`usage.expired`): refresh, replay once.
    Expired,
    /// The session is over (`usage.failures`, `session_over`): log in, replay once.
    SessionOver,
}

/// Reads the start of an answer's body to see whether it says "token expired" (a vendor that
/// answers 200 with an envelope), and gives back an answer with the same status, headers and
/// whole body. At most the spec's answer cap is held; a longer body is not an expired envelope
/// and streams on untouched.
async fn judge_body(
    auth: &Authenticator,
    mut response: reqwest::Response,
) -> reqwest_middleware::Result<(reqwest::Response, Ended)> {
    let limit = auth.spec().policy.max_answer_bytes;
    let status = response.status();
    let version = response.version();
    let headers = response.headers().clone();
    let url = response.url().clone();
    let mut head: Vec<u8> = Vec::new();
    let mut complete = false;
    while (head.len() as u64) <= limit {
        match response
            .chunk()
            .await
            .map_err(reqwest_middleware::Error::Reqwest)?
        {
            Some(chunk) => head.extend_from_slice(&chunk),
            None => {
                complete = true;
                break;
            }
        }
    }
    let ended = if !complete {
        Ended::No
    } else {
        let text = String::from_utf8_lossy(&head);
        if auth.is_expired_body(status.as_u16(), &headers, &text) {
            Ended::Expired
        } else if auth
            .api_failure(status.as_u16(), &headers, &text)
            .is_some_and(|v| v.means == auth_spec::judge::FailureMeaning::SessionOver)
        {
            Ended::SessionOver
        } else {
            Ended::No
        }
    };
    let body = if complete {
        reqwest::Body::from(head)
    } else {
        let first = futures_util::stream::iter([Ok::<_, reqwest::Error>(bytes_of(head))]);
        reqwest::Body::wrap_stream(futures_util::StreamExt::chain(
            first,
            response.bytes_stream(),
        ))
    };
    let mut builder = http::Response::builder().status(status).version(version);
    // The caller sees the URL the answer came from, as before.
    builder = reqwest::ResponseBuilderExt::url(builder, url);
    let mut rebuilt = builder
        .body(body)
        .map_err(|e| reqwest_middleware::Error::middleware(std::io::Error::other(e)))?;
    *rebuilt.headers_mut() = headers;
    let rebuilt = reqwest::Response::from(rebuilt);
    Ok((rebuilt, ended))
}

/// A copy of `request` to send again, or `None` when its body is a stream. With a body, that is
/// `reqwest::Request::try_clone`; without one (most API calls), the same copy without the
/// allocation `try_clone` makes for a timeout that is not set (it writes an empty timeout into
/// a new extensions map, then replaces the map). The timeout is the only extension of a reqwest
/// request that a caller can set.
fn replay_copy(request: &reqwest::Request) -> Option<reqwest::Request> {
    if request.body().is_some() {
        return request.try_clone();
    }
    let mut copy = reqwest::Request::new(request.method().clone(), request.url().clone());
    if let Some(timeout) = request.timeout() {
        *copy.timeout_mut() = Some(*timeout);
    }
    // A new request's map is empty already.
    if !request.headers().is_empty() {
        *copy.headers_mut() = request.headers().clone();
    }
    *copy.version_mut() = request.version();
    Some(copy)
}

fn bytes_of(data: Vec<u8>) -> bytes::Bytes {
    bytes::Bytes::from(data)
}

impl Authenticator {
    /// A `reqwest_middleware` layer adding the token and refreshing on expired-token answers.
    pub fn middleware(&self) -> AuthMiddleware {
        AuthMiddleware::new(self.clone())
    }

    /// A client with [`Self::middleware`] over `client`.
    pub fn client(&self, client: reqwest::Client) -> reqwest_middleware::ClientWithMiddleware {
        reqwest_middleware::ClientBuilder::new(client)
            .with(self.middleware())
            .build()
    }
}

#[cfg(test)]
mod tests {
    use super::replay_copy;
    use std::time::Duration;

    fn request(timeout: Option<Duration>, body: Option<reqwest::Body>) -> reqwest::Request {
        let mut request = reqwest::Request::new(
            reqwest::Method::POST,
            "https://api.example.com/v1/things?page=2"
                .parse()
                .expect("url"),
        );
        // With a header when there is a body; without one, the map stays empty.
        if body.is_some() {
            request.headers_mut().insert(
                "content-type",
                http::HeaderValue::from_static("application/json"),
            );
        }
        *request.version_mut() = http::Version::HTTP_2;
        *request.timeout_mut() = timeout;
        *request.body_mut() = body;
        request
    }

    #[test]
    fn the_copy_carries_everything_try_clone_does() {
        for (timeout, body) in [
            (None, None),
            (Some(Duration::from_millis(1500)), None),
            (None, Some("{\"n\":1}")),
            (Some(Duration::from_millis(1500)), Some("{\"n\":2}")),
        ] {
            let original = request(timeout, body.map(reqwest::Body::from));
            let copy = replay_copy(&original).expect("copied");
            let expected = original.try_clone().expect("try_clone");
            assert_eq!(copy.method(), expected.method());
            assert_eq!(copy.url(), expected.url());
            assert_eq!(copy.headers(), expected.headers());
            assert_eq!(copy.version(), expected.version());
            assert_eq!(copy.timeout(), expected.timeout());
            assert_eq!(
                copy.body().and_then(|b| b.as_bytes()),
                expected.body().and_then(|b| b.as_bytes())
            );
        }
    }

    /// `api_failures` (it answers an expired token with 401, and ends a session with code 12
    /// in the body), with or without those two rules.
    fn engine(
        expired: bool,
        session_over: bool,
    ) -> (crate::Authenticator, std::sync::Arc<crate::session::Shard>) {
        let mut source = crate::testing::fixture("api_failures");
        if !expired {
            // A known lifetime instead, as the language asks of a spec without the signal.
            source = source
                .replace("  expired: { status: [401] }\n", "")
                .replace(
                    "access_token_expiry: []",
                    "access_token_expiry: [ { lifetime: 1800s } ]",
                );
        }
        if !session_over {
            source = source.replace("means: session_over", "means: error");
        }
        let auth = crate::testing::engine(&source);
        assert_eq!(auth.spec().usage.expired.is_some(), expired);
        let token = std::sync::Arc::clone(crate::testing::current("s-1").shard());
        (auth, token)
    }

    #[test]
    fn a_request_is_copied_only_when_an_answer_can_call_for_a_replay() {
        for (expired, session_over) in [(true, true), (false, true), (true, false), (false, false)]
        {
            let (auth, token) = engine(expired, session_over);
            let middleware = super::AuthMiddleware::new(auth);
            let mut original = request(None, None);
            let mut replay = None;
            let sent = middleware
                .prepare(&token, &mut original, &mut replay)
                .expect("prepared");
            let what = format!("expired: {expired}, session_over: {session_over}");
            assert_eq!(sent.generation, 1, "{what}");
            assert_eq!(replay.is_some(), expired || session_over, "{what}");
            assert_eq!(original.headers()["x-session"], "s-1", "{what}");
        }
    }

    #[test]
    fn a_streaming_body_is_not_copied() {
        let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from("x"))]);
        let original = request(None, Some(reqwest::Body::wrap_stream(stream)));
        assert!(replay_copy(&original).is_none());
        assert!(original.try_clone().is_none());
    }
}
