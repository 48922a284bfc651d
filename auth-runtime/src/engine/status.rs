//! What [`Authenticator::status`] reports (times and state, never secrets) and the last token answer.

use std::time::SystemTime;

use crate::error::{AuthError, StoreError};
use crate::session::{Flow, Session};
use crate::store::Pending;

use super::Authenticator;

/// What [`Authenticator::status`] reports: times and state, never secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Provider name.
    pub provider: String,
    /// Environment name.
    pub environment: String,
    /// Base URL in use.
    pub base_url: String,
    /// Whether the base URL was given ([`AuthenticatorBuilder::base_url`](super::AuthenticatorBuilder::base_url)) instead of taken
    /// from the environment: then `environment` only names the spec's environment whose
    /// settings apply, not where requests go.
    pub custom_base_url: bool,
    /// The stored session, if any.
    pub session: Option<SessionStatus>,
    /// A renewal recorded in the store whose outcome is not (yet) recorded: one in flight in
    /// another process, or one whose process died (then a login may have left a session open
    /// at the vendor, and a refresh's token counts as spent).
    pub pending: Option<Pending>,
    /// A login whose process died before recording its outcome: the vendor may hold a session
    /// from it.
    pub abandoned_login: Option<Pending>,
    /// Why the stored entry cannot be read, if it cannot (it is replaced at the next renewal).
    pub unreadable: Option<String>,
}

/// Times of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionStatus {
    /// Generation (logins + refreshes so far in this session's lineage).
    pub generation: u64,
    /// When the session's login was sent.
    pub login_at: SystemTime,
    /// When the current access token was requested.
    pub issued_at: SystemTime,
    /// When the access token expires, if known.
    pub access_expires_at: Option<SystemTime>,
    /// When the refresh token / session expires, if known.
    pub refresh_expires_at: Option<SystemTime>,
    /// Whether a refresh token is held.
    pub has_refresh_token: bool,
    /// Whether the access token is still valid by its known expiry.
    pub access_valid: bool,
}

impl Authenticator {
    /// Session state and times (from memory, else from the store). Never secrets.
    pub async fn status(&self) -> Result<Status, AuthError> {
        let (entry, unreadable) = match self.inner.store.load(&self.inner.key).await {
            Ok(entry) => (entry, None),
            Err(e @ StoreError::Corrupt { .. }) => (None, Some(e.to_string())),
            Err(e) => return Err(e.into()),
        };
        let entry = entry.unwrap_or_default();
        let session = match self.inner.current.load_full() {
            Some(c) => Some(Session::clone(&c.session)),
            None => entry.session,
        };
        let wall = self.inner.clock.wall();
        Ok(Status {
            provider: self.inner.spec.name.clone(),
            environment: self.inner.environment.clone(),
            base_url: self
                .inner
                .base_url
                .as_str()
                .trim_end_matches('/')
                .to_owned(),
            custom_base_url: self.inner.custom_base_url,
            session: session.map(|s| SessionStatus {
                generation: s.generation,
                login_at: s.login_at,
                issued_at: s.issued_at,
                access_expires_at: s.access_expires_at,
                refresh_expires_at: s.refresh_expires_at,
                has_refresh_token: s.refresh_token.is_some(),
                access_valid: s.access_expires_at.is_none_or(|t| wall < t),
            }),
            pending: entry.pending,
            abandoned_login: entry.abandoned_login,
            unreadable,
        })
    }

    /// The last token answer's JSON body and which call produced it, for typed access by
    /// generated clients. Holds secrets: do not log it.
    ///
    /// The whole answer is known only to the process that received it; a session read from the
    /// store keeps only the values later requests need (see [`Session::last_response`]).
    pub fn last_response(&self) -> Option<(Flow, auth_spec::extract::SecretJson)> {
        self.inner.current.load().as_ref().and_then(|c| {
            c.answer
                .clone()
                .or_else(|| c.session.last_response.clone())
                .map(|r| (c.session.last_flow, r))
        })
    }
}

impl Authenticator {
    /// What this engine has done since it was built: logins, refreshes, failed renewals,
    /// replays, and callers that waited for another's renewal.
    pub fn stats(&self) -> crate::stats::Stats {
        self.inner.counters.snapshot()
    }

    /// Counts `event` (and reports it to `metrics` with that feature).
    pub(crate) fn record(&self, event: crate::stats::Event) {
        self.inner.counters.record(&self.inner.spec.name, event);
    }
}
