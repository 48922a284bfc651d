//! The HTTP client settings token requests need, for callers who bring their own client.
//!
//! Token requests carry credentials, so the client that sends them must never follow a redirect
//! to another origin: a 307 or 308 resends the body (an API key, a password) to wherever the
//! `Location` points. [`client_builder`] is the preset the engine itself uses; start from it to
//! add a proxy, TLS roots or other settings, and pass the result to
//! [`crate::AuthenticatorBuilder::http_client`] (or a typed client's `http_client`):
//!
//! ```no_run
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = auth_runtime::http::client_builder()
//!     .proxy(auth_runtime::reqwest::Proxy::https("http://proxy.internal:3128")?)
//!     .build()?;
//! # let _ = client; Ok(()) }
//! ```
//!
//! With any other client the engine still checks every answer: one that arrived from another
//! origin than the request's is refused with [`crate::AuthErrorKind::RedirectFollowed`], since the
//! credentials may have been sent there.

use std::time::Duration;

use reqwest::redirect::{Attempt, Policy};

use crate::origin::same_origin;

/// Timeout of a whole token request in [`client_builder`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Redirects followed within one origin at most.
const MAX_REDIRECTS: usize = 10;

/// A redirect policy that follows redirects within the request's origin (scheme, host and
/// port) and stops at the first one to another origin: that answer is returned as it is, and the
/// engine reports it as [`crate::AuthErrorKind::RedirectRefused`].
pub fn redirect_policy() -> Policy {
    Policy::custom(|attempt: Attempt<'_>| {
        let Some(first) = attempt.previous().first() else {
            return attempt.stop();
        };
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error("too many redirects");
        }
        if same_origin(first, attempt.url()) {
            attempt.follow()
        } else {
            attempt.stop()
        }
    })
}

/// A `reqwest::ClientBuilder` preset for token requests: [`redirect_policy`], a 30 s timeout
/// per request and a 10 s connect timeout. Add proxies, TLS settings or default headers to it.
pub fn client_builder() -> reqwest::ClientBuilder {
    client_builder_with_timeout(DEFAULT_TIMEOUT)
}

/// [`client_builder`] with another request timeout (the connect timeout is the smaller of it
/// and 10 s).
pub fn client_builder_with_timeout(timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(redirect_policy())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
}
