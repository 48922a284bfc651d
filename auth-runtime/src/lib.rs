//! The one engine that runs any provider spec's token lifecycle.
//!
//! Give it a validated [`auth_spec::ProviderSpec`] and the user's [`Credentials`]; it logs in,
//! refreshes as the spec's policy allows, keeps the session in a [`store::TokenStore`], and puts
//! the token on requests (directly with [`Authenticator::authorize`], or as a
//! `reqwest_middleware` layer that also refreshes and replays on an expired-token answer).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use auth_runtime::{Authenticator, Credentials};
//!
//! let spec = Arc::new(auth_spec::parse_file("providers/apiax.yaml")?);
//! // Apiax's tokens come from auth.apiax.io; its API is on another origin, which must be allowed.
//! let auth = Authenticator::builder(Arc::clone(&spec), Credentials::from_env(&spec)?)
//!     .allow_origin("https://api.apiax.io")
//!     .build()?;
//! let client = auth.client(reqwest::Client::new());
//! let answer = client.get("https://api.apiax.io/v1/things").send().await?;
//! # let _ = answer; Ok(()) }
//! ```
//!
//! Modules: [`policy`] (when to refresh), [`engine`] (single flight, generations, flows),
//! [`store`] (memory and file stores), [`middleware`], [`clock`], [`retry`], [`http`] (the
//! client preset for token requests: no redirect to another origin).

pub mod blocking;
pub mod clock;
pub mod credentials;
pub mod engine;
pub mod error;
pub mod http;
pub(crate) mod kept;
pub mod limits;
pub mod middleware;
mod origin;
mod per_thread;
pub mod policy;
mod redact;
mod request;
pub mod retry;
pub mod session;
pub mod stats;
pub mod store;
#[cfg(test)]
mod testing;
#[cfg(feature = "tower")]
pub mod tower;
pub mod typed;

pub use auth_spec;
pub use clock::{Clock, ManualClock, SystemClock};
pub use credentials::Credentials;
pub use engine::{
    AccessTokenFuture, Authenticator, AuthenticatorBuilder, LogoutOutcome, SessionStatus, Status,
};
pub use error::{AuthError, AuthErrorKind, StoreError};
pub use middleware::AuthMiddleware;
pub use reqwest;
pub use reqwest_middleware;
pub use secrecy;
pub use serde;
pub use serde_json;
pub use session::{AccessToken, Flow, Session};
pub use stats::Stats;
pub use store::{Entry, FileStore, MemoryStore, Pending, TokenStore};
#[cfg(feature = "redis")]
pub use store::{RedisStore, RedisTls};
