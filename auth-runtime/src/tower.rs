//! A `tower` [`Layer`](::tower::Layer) / [`Service`](::tower::Service) that authorizes any
//! `http::Request` (feature `tower`): for hyper-util clients, tonic channels, tower-http stacks
//! and proxies, where the reqwest middleware cannot go.
//!
//! Each request gets the token as the spec's `usage` says (header or query), only when it goes
//! to an allowed origin. An answer the spec calls expired (`usage.expired`: status and headers)
//! invalidates the token; when the request's body can be cloned (the layer's [`ReplayBody`]
//! policy: [`CloneBody`] for `Clone` bodies such as `Full<Bytes>` or `String`) the request is
//! sent once more with a renewed token, else the expired answer is returned and the next
//! request renews.
//!
//! ```no_run
//! # async fn run(auth: auth_runtime::Authenticator) {
//! use auth_runtime::tower::AuthLayer;
//! use tower::ServiceBuilder;
//! use http_body_util::Full;
//! use bytes::Bytes;
//! use hyper_util::{client::legacy::Client, rt::TokioExecutor};
//!
//! let http = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
//! let client = ServiceBuilder::new().layer(AuthLayer::new(auth)).service(http);
//! # let _ = client; }
//! ```
//!
//! With tonic: its `Interceptor` is synchronous, so it cannot wait for a login or refresh; wrap
//! the `Channel` in this layer instead, without replay (gRPC bodies are streams). A client made
//! with `new(channel)` sends URIs that name no origin (the channel adds its endpoint's), so say
//! where they go with [`AuthLayer::relative_to`] (or make the client `with_origin`):
//!
//! ```no_run
//! # async fn run(auth: auth_runtime::Authenticator) -> Result<(), Box<dyn std::error::Error>> {
//! use auth_runtime::tower::AuthLayer;
//! # let endpoint = "https://api.example.com";
//! let channel = tonic::transport::Channel::from_static("https://api.example.com").connect().await?;
//! let layer = AuthLayer::new(auth).without_replay().relative_to(endpoint)?;
//! let channel = tower::ServiceBuilder::new().layer(layer).service(channel);
//! // let client = MyServiceClient::new(channel);
//! # Ok(()) }
//! ```
//!
//! An expired token's "unauthenticated" status is read where the server puts it in the
//! headers: an HTTP status (`expired: { status: [401] }`), or a gRPC "trailers-only" answer
//! (`expired: { status: [200], headers: { grpc-status: "16" } }`); a status that comes in the
//! trailers after a message is not read. Answers whose expiry is only in the body
//! (`usage.expired.body`) need the reqwest middleware, which can read the body.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use crate::engine::{Authenticator, Sent};
use crate::per_thread::PerThread;
use crate::stats::Event;

mod replay;

use replay::Replay;
pub use replay::{CloneBody, NoReplay, ReplayBody};

/// Errors of the service: the engine's ([`crate::AuthError`]) or the inner service's.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Puts the engine's token on every request of the service it wraps.
#[derive(Debug, Clone)]
pub struct AuthLayer<R = CloneBody> {
    auth: Authenticator,
    replay: R,
    /// Whether a request whose URI names no origin may get the token: its origin was checked.
    relative: bool,
}

impl AuthLayer {
    /// A layer over `auth` that replays `Clone` bodies once after an expired-token answer.
    pub fn new(auth: Authenticator) -> Self {
        Self {
            auth,
            replay: CloneBody,
            relative: false,
        }
    }
}

impl<R> AuthLayer<R> {
    /// The same layer, never replaying (for bodies that are streams).
    pub fn without_replay(self) -> AuthLayer<NoReplay> {
        AuthLayer {
            auth: self.auth,
            replay: NoReplay,
            relative: self.relative,
        }
    }

    /// The same layer, also putting the token on requests whose URI names no origin
    /// (`/package.Service/Method`): they are taken to go to `origin`, which must be the base
    /// URL's origin or an allowed one ([`AuthErrorKind::TokenOriginRefused`](crate::AuthErrorKind::TokenOriginRefused)
    /// otherwise). For an inner service that adds the origin itself, as a tonic `Channel` does
    /// for the clients made with `new(channel)`: the layer cannot see where such a request
    /// goes, so it is refused unless told. Requests with an origin are checked as always.
    pub fn relative_to(self, origin: &str) -> Result<Self, crate::AuthError> {
        self.auth.check_origin(origin)?;
        Ok(Self {
            relative: true,
            ..self
        })
    }
}

impl<S: Clone, R: Clone> ::tower::Layer<S> for AuthLayer<R> {
    type Service = AuthService<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        let spare = Arc::new(Mutex::new(inner.clone()));
        AuthService {
            handles: PerThread::new(|| Shared {
                auth: self.auth.clone(),
                relative: self.relative,
                spare: Arc::clone(&spare),
            }),
            replay: self.replay.clone(),
            inner,
        }
    }
}

/// The service [`AuthLayer`] makes.
#[derive(Clone)]
pub struct AuthService<S, R = CloneBody> {
    /// Equal handles to what the service's futures need, one per thread slot: each future
    /// counts a reference on its thread's handle, so threads sending requests through clones
    /// of one service do not contend on one count.
    handles: PerThread<Shared<S>>,
    replay: R,
    inner: S,
}

/// What a service, its clones and its requests' futures share: one pointer for a future to
/// carry (and count) rather than one each. Aligned so that two handles' counts never share a
/// cache line.
#[repr(align(128))]
struct Shared<S> {
    auth: Authenticator,
    /// The layer's [`AuthLayer::relative_to`].
    relative: bool,
    /// A clone of the inner service made with the layer, cloned again only to send a replay:
    /// a future carries a pointer to it rather than a clone of the inner service (which for a
    /// hyper-util client is hundreds of bytes, copied with every move). Behind a lock so that
    /// the inner service need not be `Sync`.
    spare: Arc<Mutex<S>>,
}

impl<S, R> std::fmt::Debug for AuthService<S, R>
where
    S: std::fmt::Debug,
    R: std::fmt::Debug,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthService")
            .field("auth", &self.handles.mine().auth)
            .field("replay", &self.replay)
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, R, B, RB> ::tower::Service<http::Request<B>> for AuthService<S, R>
where
    S: ::tower::Service<http::Request<B>, Response = http::Response<RB>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    R: ReplayBody<B>,
    B: Send + 'static,
    RB: Send + 'static,
{
    type Response = http::Response<RB>;
    type Error = BoxError;
    type Future = ResponseFuture<S, B, RB>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // The common case, a cached token, is settled here, and the inner service (polled
        // ready) is called at once: the future is the inner call's, unboxed. The token is only
        // lent to write it on the request; the future keeps its generation (and the token itself
        // only when answers may renew it).
        //
        // The future's `Arc` is counted first: an atomic operation waits for the stores before
        // it to drain, and after the inner call (which writes a whole request) that wait was
        // most of what this layer cost per request.
        let shared = Arc::clone(self.handles.mine());
        // Written in place, where the future is built: each move of it is a copy.
        let mut again = None;
        let applied = shared.auth.with_cached_hit(|token| {
            prepare(&shared, &self.replay, token, &mut request, &mut again)
        });
        match applied {
            Some(Ok(sent)) => {
                return ResponseFuture::called(self.inner.call(request), shared, sent, again);
            }
            // Refused before anything was sent (rare): a ready future, boxed.
            Some(Err(error)) => {
                return ResponseFuture::boxed(std::future::ready(Err(error.into())));
            }
            None => {}
        }
        // Waiting for a token: the clone that was polled ready goes into the future, this one
        // waits for its turn.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let replay = self.replay.clone();
        ResponseFuture::boxed(async move {
            let token = shared.auth.access_token().await?;
            let mut again = None;
            let sent = prepare(&shared, &replay, &token.0, &mut request, &mut again)?;
            // From here on, as with a cached token.
            ResponseFuture::called(inner.call(request), shared, sent, again).await
        })
    }
}

pin_project_lite::pin_project! {
    /// The future of [`AuthService`]'s calls. With a cached token it is the inner service's
    /// call and the answer's check, and allocates nothing; waiting for a token, a replay after
    /// an expired answer, renewed values taken from an answer and a refusal are boxed.
    #[must_use = "futures do nothing unless polled"]
    pub struct ResponseFuture<S, B, RB>
    where
        S: ::tower::Service<http::Request<B>, Response = http::Response<RB>>,
    {
        #[pin]
        step: Step<S, B, RB>,
    }
}

/// The rarer steps' future.
type Boxed<RB> = Pin<Box<dyn Future<Output = Result<http::Response<RB>, BoxError>> + Send>>;

pin_project_lite::pin_project! {
    #[project = StepProj]
    enum Step<S, B, RB>
    where
        S: ::tower::Service<http::Request<B>, Response = http::Response<RB>>,
    {
        /// The inner call with a cached token on the request.
        Called {
            #[pin]
            call: S::Future,
            shared: Arc<Shared<S>>,
            sent: Sent,
            // The copy to send again after an expired answer.
            again: Option<Replay<B>>,
        },
        Boxed { future: Boxed<RB> },
    }
}

impl<S, B, RB> ResponseFuture<S, B, RB>
where
    S: ::tower::Service<http::Request<B>, Response = http::Response<RB>>,
{
    /// The inner `call` of a request sent with a token (`sent`), whose answer is then judged.
    #[inline(always)]
    fn called(
        call: S::Future,
        shared: Arc<Shared<S>>,
        sent: Sent,
        again: Option<Replay<B>>,
    ) -> Self {
        Self {
            step: Step::Called {
                call,
                shared,
                sent,
                again,
            },
        }
    }

    fn boxed(
        future: impl Future<Output = Result<http::Response<RB>, BoxError>> + Send + 'static,
    ) -> Self {
        Self {
            step: Step::Boxed {
                future: Box::pin(future),
            },
        }
    }
}

impl<S, B, RB> Future for ResponseFuture<S, B, RB>
where
    S: ::tower::Service<http::Request<B>, Response = http::Response<RB>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    B: Send + 'static,
    RB: Send + 'static,
{
    type Output = Result<http::Response<RB>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut step = self.project().step;
        let mut next = match step.as_mut().project() {
            StepProj::Boxed { future } => return future.as_mut().poll(cx),
            StepProj::Called {
                call,
                shared,
                sent,
                again,
            } => {
                let answer = match std::task::ready!(call.poll(cx)) {
                    Ok(answer) => answer,
                    Err(error) => return Poll::Ready(Err(error.into())),
                };
                match judge(shared, sent, again, answer) {
                    Judged::Done(answer) => return Poll::Ready(Ok(answer)),
                    Judged::Later(rest) => rest,
                }
            }
        };
        let polled = next.as_mut().poll(cx);
        if polled.is_pending() {
            step.set(Step::Boxed { future: next });
        }
        polled
    }
}

impl<S, B, RB> std::fmt::Debug for ResponseFuture<S, B, RB>
where
    S: ::tower::Service<http::Request<B>, Response = http::Response<RB>>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let step = match &self.step {
            Step::Called { .. } => "called",
            Step::Boxed { .. } => "boxed",
        };
        f.debug_struct("ResponseFuture")
            .field("step", &step)
            .finish()
    }
}

/// Puts `token` on `request`, after writing a copy of it without into `again`, to send again if
/// an answer can call for that (the spec declares `usage.expired`) and `replay` can copy its
/// body; returns what its answer is judged against. In place: neither the
/// request nor the copy is moved in and out (each move is a copy of it).
fn prepare<S, B, R: ReplayBody<B>>(
    shared: &Shared<S>,
    replay: &R,
    token: &Arc<crate::session::Shard>,
    request: &mut http::Request<B>,
    again: &mut Option<Replay<B>>,
) -> Result<Sent, crate::AuthError> {
    if shared.auth.answers_may_replay(false) {
        *again = Replay::of(replay, request);
    }
    shared
        .auth
        .apply_http_from(token, request, shared.relative)?;
    Ok(shared.auth.sent(token))
}

/// What an answer calls for.
enum Judged<RB> {
    /// Nothing more: it goes to the caller. Most answers, decided without a future.
    Done(http::Response<RB>),
    /// The rest, boxed: renewed values to take, or an expired token to renew and the copy to
    /// send once more.
    Later(Boxed<RB>),
}

/// Judges an answer to a request sent with a token (`sent`): an expired one invalidates the
/// token and, when there is a copy (`again`), is replayed once with a renewed token through a
/// clone of the layer's spare service; any other is checked for renewed values
/// (`usage.renewed_by_answers`).
fn judge<S, B, RB>(
    shared: &Arc<Shared<S>>,
    sent: &Sent,
    again: &mut Option<Replay<B>>,
    answer: http::Response<RB>,
) -> Judged<RB>
where
    S: ::tower::Service<http::Request<B>, Response = http::Response<RB>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    B: Send + 'static,
    RB: Send + 'static,
{
    let auth = &shared.auth;
    if !auth.is_expired_answer(answer.status().as_u16(), answer.headers()) {
        let Some(renewed) = auth.renewed_after(sent, answer.headers()) else {
            return Judged::Done(answer);
        };
        let auth = auth.clone();
        return Judged::Later(Box::pin(async move {
            auth.take_renewed(renewed).await;
            Ok(answer)
        }));
    }
    let generation = sent.generation;
    tracing::debug!(generation, "expired-token answer");
    auth.invalidate(generation);
    let Some(request) = again.take() else {
        return Judged::Done(answer);
    };
    let shared = Arc::clone(shared);
    Judged::Later(Box::pin(async move {
        // A poisoned lock still holds a service as good as any clone.
        let mut inner = shared
            .spare
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        replay_once(&shared, &mut inner, generation, request.into_request()?).await
    }))
}

/// Sends `request` (whose first copy went with the stale token of `generation`) once more with
/// a renewed token, under an `auth.replay` span.
async fn replay_once<S, B, RB>(
    shared: &Shared<S>,
    inner: &mut S,
    generation: u64,
    mut request: http::Request<B>,
) -> Result<http::Response<RB>, BoxError>
where
    S: ::tower::Service<http::Request<B>, Response = http::Response<RB>>,
    S::Error: Into<BoxError>,
{
    use tracing::Instrument as _;
    let auth = &shared.auth;
    let span = crate::stats::replay_span(&auth.spec().name, generation);
    async {
        let span = tracing::Span::current();
        let fresh = auth.access_token().await.inspect_err(|e| {
            span.record("outcome", e.label());
        })?;
        span.record("generation", fresh.generation());
        auth.apply_http_from(&fresh.0, &mut request, shared.relative)?;
        std::future::poll_fn(|cx| inner.poll_ready(cx))
            .await
            .map_err(Into::into)?;
        auth.record(Event::Replay);
        let answer = inner.call(request).await.map_err(Into::into)?;
        span.record("outcome", answer.status().as_u16());
        auth.observe_answer(&fresh, answer.headers()).await;
        Ok(answer)
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    #[test]
    fn each_thread_slot_counts_on_a_handle_of_its_own() {
        let auth = crate::testing::engine(&crate::testing::fixture("alternative_paths"));
        let service = ::tower::Layer::layer(&super::AuthLayer::new(auth), ());
        let handles = service.handles.each();
        assert_eq!(handles.len(), crate::per_thread::SLOTS);
        for (i, handle) in handles.iter().enumerate() {
            // Its own allocation, on cache lines no other handle's count is on.
            assert_eq!(Arc::as_ptr(handle) as usize % 128, 0, "handle {i}");
            for other in &handles[..i] {
                assert!(!Arc::ptr_eq(handle, other), "handle {i}");
            }
            // One spare service for all.
            assert!(Arc::ptr_eq(&handle.spare, &handles[0].spare));
        }
        // Clones of the service share the handles.
        let clone = service.clone();
        assert!(clone.handles.ptr_eq(&service.handles));
    }
}
