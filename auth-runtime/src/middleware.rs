//! The reqwest-middleware layer: adds the token, and on an expired-token answer refreshes and
//! replays the request once (when its body can be cloned).

use async_trait::async_trait;
use http::Extensions;
use reqwest_middleware::{Middleware, Next};

use crate::engine::Authenticator;

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

#[async_trait]
impl Middleware for AuthMiddleware {
    async fn handle(
        &self,
        request: reqwest::Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let token = self
            .auth
            .access_token()
            .await
            .map_err(reqwest_middleware::Error::middleware)?;
        // Cloned before sending: a streaming body cannot be replayed, and then the expired
        // answer is returned as is.
        let replay = request.try_clone();
        let mut request = request;
        self.auth
            .apply(&token, &mut request)
            .map_err(reqwest_middleware::Error::middleware)?;
        let response = next.clone().run(request, extensions).await?;
        if !self
            .auth
            .is_expired_answer(response.status().as_u16(), response.headers())
        {
            return Ok(response);
        }
        tracing::debug!(generation = token.generation(), "expired-token answer");
        self.auth.invalidate(token.generation());
        let Some(mut replay) = replay else {
            return Ok(response);
        };
        let fresh = self
            .auth
            .access_token()
            .await
            .map_err(reqwest_middleware::Error::middleware)?;
        self.auth
            .apply(&fresh, &mut replay)
            .map_err(reqwest_middleware::Error::middleware)?;
        next.run(replay, extensions).await
    }
}
