//! A blocking face over the same engine, for scripts and programs without an async runtime.
//!
//! As `reqwest::blocking` does, it keeps a Tokio runtime of its own (one worker thread) for the
//! engine's background work (proactive refreshes, the clock task, pooled connections) and blocks
//! the calling thread on each call. Everything else is the async [`crate::Authenticator`]: the
//! same single flight, store protocol and policy; a blocking and an async engine sharing a store
//! cooperate as two async engines would.
//!
//! ```no_run
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use auth_runtime::{Authenticator, Credentials};
//!
//! let spec = Arc::new(auth_spec::parse_file("providers/apiax.yaml")?);
//! let builder = Authenticator::builder(Arc::clone(&spec), Credentials::from_env(&spec)?);
//! let auth = auth_runtime::blocking::Authenticator::new(builder)?;
//! let token = auth.access_token()?; // logs in once; later calls use the cached token
//! # let _ = token; Ok(()) }
//! ```
//!
//! It works from any thread, including a `spawn_blocking` one. Called from an async task it
//! blocks that task's thread until the engine answers, as any blocking call would: use the
//! async engine there ([`Authenticator::engine`]).

use std::sync::Arc;

use bytes::Bytes;

use crate::engine::{AuthenticatorBuilder, LogoutOutcome, Status};
use crate::error::AuthError;
use crate::session::AccessToken;

/// The engine behind a blocking face, with the runtime it runs on. Cheap to clone; clones share
/// the session and the runtime, which stops when the last clone is dropped.
#[derive(Clone)]
pub struct Authenticator {
    shared: Arc<Shared>,
}

struct Shared {
    engine: crate::Authenticator,
    /// `Option` only so that `Drop` can take it out and shut it down the right way.
    runtime: Option<tokio::runtime::Runtime>,
}

/// An answer read to its end: what a blocking caller can hold without a runtime.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: http::StatusCode,
    /// Headers as received.
    pub headers: http::HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl Authenticator {
    /// Starts the runtime and builds the engine on it.
    pub fn new(builder: AuthenticatorBuilder) -> Result<Self, AuthError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("auth-runtime-blocking")
            .enable_all()
            .build()
            .map_err(|e| AuthError::config(format!("cannot start the engine's runtime: {e}")))?;
        // Built inside the runtime: the engine starts its clock task there.
        let engine = {
            let _entered = runtime.enter();
            builder.build()?
        };
        Ok(Self {
            shared: Arc::new(Shared {
                engine,
                runtime: Some(runtime),
            }),
        })
    }

    /// Runs `future` on the engine's runtime and blocks this thread until it is done. Waiting
    /// on a channel rather than in `Runtime::block_on` works from any thread, including one of
    /// another runtime (there it blocks that thread, as any blocking call would).
    fn run<F>(&self, future: F) -> Result<F::Output, AuthError>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let stopped = || AuthError::config("the engine's runtime has stopped".to_owned());
        let runtime = self.shared.runtime.as_ref().ok_or_else(stopped)?;
        let (done, outcome) = std::sync::mpsc::sync_channel(1);
        runtime.spawn(async move {
            let _ = done.send(future.await);
        });
        outcome.recv().map_err(|_| stopped())
    }

    fn engine_owned(&self) -> crate::Authenticator {
        self.shared.engine.clone()
    }

    /// A valid access token: cached, or after the one renewal every caller shares.
    pub fn access_token(&self) -> Result<AccessToken, AuthError> {
        let engine = self.engine_owned();
        self.run(async move { engine.access_token().await })?
    }

    /// The cached token if it is valid; never sends anything, never blocks.
    pub fn cached(&self) -> Option<AccessToken> {
        self.shared.engine.cached()
    }

    /// Renews now if the policy says the token is due (for a program about to exit).
    pub fn renew_if_due(&self) -> Result<AccessToken, AuthError> {
        let engine = self.engine_owned();
        self.run(async move { engine.renew_if_due().await })?
    }

    /// Session state and times, never secrets.
    pub fn status(&self) -> Result<Status, AuthError> {
        let engine = self.engine_owned();
        self.run(async move { engine.status().await })?
    }

    /// Ends the session at the vendor (when the spec has a logout) and forgets it.
    pub fn logout(&self) -> Result<LogoutOutcome, AuthError> {
        let engine = self.engine_owned();
        self.run(async move { engine.logout().await })?
    }

    /// Sends `request` with the token on it through the engine's middleware: an expired-token
    /// answer is refreshed and the request replayed once, as for async callers. The body is read
    /// to its end.
    pub fn execute(
        &self,
        client: &reqwest::Client,
        request: reqwest::Request,
    ) -> Result<Response, reqwest_middleware::Error> {
        let client = self.shared.engine.client(client.clone());
        let sent = async move {
            let answer = client.execute(request).await?;
            let status = answer.status();
            let headers = answer.headers().clone();
            let body = answer.bytes().await?;
            Ok(Response {
                status,
                headers,
                body,
            })
        };
        self.run(sent)
            .map_err(|e| reqwest_middleware::Error::Middleware(e.into()))?
    }

    /// The async engine underneath, for what this face does not wrap (`apply`, `is_expired_*`).
    /// Its futures must run on a runtime; the blocking face's own is not exposed.
    pub fn engine(&self) -> &crate::Authenticator {
        &self.shared.engine
    }
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("blocking::Authenticator")
            .field("engine", &self.shared.engine)
            .finish()
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            // Dropped inside another runtime: a blocking shutdown would panic there.
            runtime.shutdown_background();
        } else {
            runtime.block_on(self.engine.shutdown());
            drop(runtime);
        }
    }
}
