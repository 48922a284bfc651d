//! Ending a session (the vendor's logout endpoint, then the store), and the store-lock scope
//! the engine's writers share.

use super::Authenticator;
use crate::error::{AuthError, AuthErrorKind, StoreError};
use crate::request::RetryScope;
use crate::session::Session;

/// What [`Authenticator::logout`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogoutOutcome {
    /// The vendor's logout endpoint was called and accepted it; the session is forgotten.
    VendorCalled,
    /// The vendor's logout endpoint answered 401: the session had already ended there. It is
    /// forgotten here too.
    AlreadyEnded,
    /// The spec has no logout endpoint: the session is forgotten here, and stays open at the
    /// vendor until it expires.
    LocalOnly,
    /// There was no session to end; nothing was sent.
    NoSession,
}

impl LogoutOutcome {
    /// A short description, for messages and logs.
    pub fn describe(self) -> &'static str {
        match self {
            Self::VendorCalled => {
                "the vendor's logout endpoint was called, and the session is forgotten here"
            }
            Self::AlreadyEnded => {
                "the vendor's logout endpoint answered that the session had already ended; it is forgotten here"
            }
            Self::LocalOnly => {
                "no logout endpoint in the spec: the session is forgotten here and stays open at the vendor until it expires"
            }
            Self::NoSession => "no session to end; nothing was sent",
        }
    }
}

impl Authenticator {
    /// Ends the session: calls the vendor's logout endpoint if the spec has one (and there is a
    /// session), then forgets the session locally and in the store. Says which of these it did.
    pub async fn logout(&self) -> Result<LogoutOutcome, AuthError> {
        // Letting go of the lock wakes the callers who waited: they find no session and log in.
        let _flight = self.flight().await;
        self.under_store_lock(self.logout_locked()).await?
    }

    /// Runs `body` holding the store's lock for this session, then releases the lock and waits
    /// for that (a process that exits next leaves no lock behind).
    pub(crate) async fn under_store_lock<T>(
        &self,
        body: impl std::future::Future<Output = T>,
    ) -> Result<T, StoreError> {
        let lock = self
            .inner
            .store
            .lock(&self.inner.key, self.inner.lock_wait)
            .await?;
        let out = body.await;
        lock.release().await;
        Ok(out)
    }

    async fn logout_locked(&self) -> Result<LogoutOutcome, AuthError> {
        let session = match self.inner.current.load_full() {
            Some(c) => Some(Session::clone(&c.session)),
            // An unreadable entry has no session to end at the vendor; it is removed below.
            None => match self.inner.store.load(&self.inner.key).await {
                Ok(entry) => entry.and_then(|e| e.session),
                Err(StoreError::Corrupt { .. }) => None,
                Err(e) => return Err(e.into()),
            },
        };
        let mut result = Ok(match (&self.inner.spec.logout, &session) {
            (_, None) => LogoutOutcome::NoSession,
            (None, Some(_)) => LogoutOutcome::LocalOnly,
            (Some(_), Some(_)) => LogoutOutcome::VendorCalled,
        });
        if let (Some(endpoint), Some(session)) = (&self.inner.spec.logout, &session) {
            let name = format!("logout {}", endpoint.path);
            let prepared = self.prepare(endpoint, &name, Some(session))?;
            match self.send(&prepared, &name, RetryScope::Transient).await {
                Ok(answer) if endpoint.is_success(answer.status) => {}
                Ok(answer) if answer.status == 401 => result = Ok(LogoutOutcome::AlreadyEnded),
                Ok(answer) => {
                    result = Err(AuthErrorKind::UnexpectedResponse {
                        provider: self.inner.spec.name.clone(),
                        endpoint: name,
                        status: answer.status,
                        detail: "logout was not accepted".into(),
                        excerpt: self.excerpt(&answer.body, Some(session)),
                    }
                    .into())
                }
                Err(e) => result = Err(e),
            }
        }
        self.forget_session().await?;
        self.inner.current.store(None);
        match &result {
            Ok(outcome) => {
                tracing::info!(provider = %self.inner.spec.name, outcome = outcome.describe(), "logged out")
            }
            Err(error) => {
                tracing::warn!(provider = %self.inner.spec.name, %error, "logout failed at the vendor; the session is forgotten here")
            }
        }
        result
    }
}
