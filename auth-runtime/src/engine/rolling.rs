//! Values renewed by ordinary API answers (`usage.renewed_by_answers`): a vendor that sends a
//! new token (or another session value) in a response header of normal calls shortly before
//! expiry. The new value replaces the stored one through the store protocol, so that an answer
//! to a request made with an older session never overwrites a newer one, and other processes
//! sharing the store see it.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use auth_spec::model::{ExpirySource, SessionSlot};
use secrecy::{ExposeSecret, SecretString};

use super::Authenticator;
use crate::error::AuthError;
use crate::session::{AccessToken, Current, Session, Shard};

/// Values an API answer renews, for the session of `generation`.
pub(crate) struct Renewed {
    generation: u64,
    changes: Vec<(SessionSlot, SecretString)>,
}

/// What the layers judge an answer against: the generation of the token its request carried,
/// and that token itself only when answers may renew it (`usage.renewed_by_answers`), to
/// compare. Most specs renew nothing: then a request in flight holds no handle to the token
/// (whose clone and drop are two atomic operations per request).
pub(crate) struct Sent {
    /// The generation of the token the request carried.
    pub(crate) generation: u64,
    token: Option<AccessToken>,
}

/// The new expiry of a renewed access token: `Some((wall, monotonic))`, or `None` to keep the
/// previous one.
type RenewedExpiry = Option<(SystemTime, Option<Instant>)>;

impl Authenticator {
    /// Takes the renewed values an API answer carries (the spec's
    /// `usage.renewed_by_answers`): when a declared header holds a value that differs from the
    /// session's, the session is replaced by one with the new value (a new generation), in
    /// memory and in the store. `token` is the token the request was sent with: an answer to a
    /// request made with an older session than the current one is ignored.
    ///
    /// The middleware calls this for every answer; call it yourself when you send requests
    /// prepared with [`Self::apply`] or [`Self::authorize`]. Values that are not valid header
    /// values are ignored (with a warning naming the header, never the value). A failure to
    /// store the new session is logged, and the session is used in memory.
    pub async fn observe_answer(&self, token: &AccessToken, headers: &http::HeaderMap) {
        if let Some(renewed) = self.renewed_in(token, headers) {
            self.take_renewed(renewed).await;
        }
    }

    /// The values an answer renews, read without waiting: `None` (the common case, decided
    /// without a future) when the spec declares none or the answer's equal the session's. The
    /// layers look here first, so that only an answer that renews something goes on to
    /// [`Self::take_renewed`].
    pub(crate) fn renewed_in(
        &self,
        token: &AccessToken,
        headers: &http::HeaderMap,
    ) -> Option<Renewed> {
        let renewals = &self.inner.spec.usage.renewed_by_answers;
        if renewals.is_empty() {
            return None;
        }
        let session = token.session();
        let mut changes: Vec<(SessionSlot, SecretString)> = Vec::new();
        for renewal in renewals {
            let Some(value) = headers.get(renewal.header.as_str()) else {
                continue;
            };
            let Some(text) = value
                .to_str()
                .ok()
                .filter(|t| !t.is_empty())
                .filter(|t| auth_spec::extract::header_value_problem(t).is_none())
            else {
                tracing::warn!(provider = %self.inner.spec.name, header = %renewal.header, "ignoring a renewed value that is not a valid header value");
                continue;
            };
            let stored = match &renewal.value {
                SessionSlot::AccessToken => Some(session.access_token.expose_secret()),
                SessionSlot::Value(name) => session.values.get(name).map(|v| v.expose_secret()),
            };
            if stored != Some(text) {
                changes.push((renewal.value.clone(), SecretString::from(text.to_owned())));
            }
        }
        (!changes.is_empty()).then(|| Renewed {
            generation: token.generation(),
            changes,
        })
    }

    /// What an answer to a request sent with `token` is judged against.
    #[inline]
    pub(crate) fn sent(&self, token: &Arc<Shard>) -> Sent {
        Sent {
            generation: token.session.generation,
            token: (!self.inner.spec.usage.renewed_by_answers.is_empty())
                .then(|| AccessToken(Arc::clone(token))),
        }
    }

    /// [`Self::renewed_in`] for an answer to a request that was `sent`.
    #[inline]
    pub(crate) fn renewed_after(&self, sent: &Sent, headers: &http::HeaderMap) -> Option<Renewed> {
        self.renewed_in(sent.token.as_ref()?, headers)
    }

    /// Installs what [`Self::renewed_in`] found, in memory and in the store; a failure is
    /// logged, not returned (the answer itself was fine). Boxed: the renewal under the store's
    /// lock is a large state that a caller's future would otherwise carry for every answer.
    pub(crate) fn take_renewed(
        &self,
        renewed: Renewed,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            let result = self.renew_values(renewed.generation, renewed.changes).await;
            if let Err(error) = result {
                tracing::warn!(provider = %self.inner.spec.name, %error, "a renewed value could not be taken");
            }
        })
    }

    /// Replaces values of the session of generation `seen`, under this engine's renewal mutex and
    /// the store's lock, with a compare-and-set on the revision read.
    async fn renew_values(
        &self,
        seen: u64,
        changes: Vec<(SessionSlot, SecretString)>,
    ) -> Result<(), AuthError> {
        let _flight = self.flight().await;
        let provider = &self.inner.spec.name;
        let Some(current) = self.inner.current.load_full() else {
            return Ok(());
        };
        if current.session.generation != seen {
            tracing::debug!(%provider, seen, "an answer to a request of an older session; its renewed values are ignored");
            return Ok(());
        }
        self.under_store_lock(self.renew_values_locked(seen, current, changes))
            .await?
    }

    /// [`Self::renew_values`] under the store's lock.
    async fn renew_values_locked(
        &self,
        seen: u64,
        current: Arc<Current>,
        changes: Vec<(SessionSlot, SecretString)>,
    ) -> Result<(), AuthError> {
        let provider = &self.inner.spec.name;
        let loaded = self.load_entry().await?;
        let mut expected = loaded.as_ref().map(|e| e.revision);
        let mut entry = loaded.unwrap_or_default();
        if entry.session.as_ref().is_some_and(|s| s.generation > seen) {
            // Another process renewed the session meanwhile: its session is newer than this
            // answer, and is what this engine uses next.
            tracing::debug!(%provider, seen, "the store holds a newer session; the renewed values are ignored");
            if let Some(stored) = entry.session.clone() {
                self.install(self.current_from(stored, None));
            }
            return Ok(());
        }
        let generation = self.next_generation(&entry, Some(&current))?;
        let mut session = Session::clone(&current.session);
        session.generation = generation;
        let mut renewed_token = false;
        for (slot, value) in changes {
            match slot {
                SessionSlot::AccessToken => {
                    session.access_token = value;
                    renewed_token = true;
                }
                SessionSlot::Value(name) => {
                    session.values.insert(name, value);
                }
            }
        }
        let expiry = if renewed_token {
            self.renewed_expiry(session.access_token.expose_secret())
        } else {
            None
        };
        let next = match expiry {
            Some((wall, monotonic)) => {
                session.issued_at = self.inner.clock.wall();
                session.access_expires_at = Some(wall);
                let mut next = self.current_from(session.clone(), monotonic);
                next.answer = current.answer.clone();
                next
            }
            // The same deadlines: the values changed, not when the token expires.
            None => current.with_session(Arc::new(session.clone()), false),
        };
        entry.session = Some(session);
        if let Err(error) = self.write_entry(&mut entry, &mut expected).await {
            tracing::warn!(%provider, %error, "the renewed session could not be stored; it is used in memory only");
        }
        tracing::info!(%provider, generation, "took values renewed by an API answer");
        self.install(next);
        Ok(())
    }

    /// When a renewed access token expires: the first of the login's expiry sources that needs
    /// no token answer (the new token's `jwt_exp`, a declared `lifetime` from now); `None` keeps
    /// the previous expiry (an answer's `expires_in` belongs to a token answer, not this one).
    fn renewed_expiry(&self, token: &str) -> RenewedExpiry {
        for source in &self.inner.spec.login.response.access_token_expiry {
            match source {
                ExpirySource::JwtExp => {
                    let Some(exp) = auth_spec::jwt::exp_claim(token) else {
                        continue;
                    };
                    // Only a time the clocks can hold; otherwise the previous expiry stays.
                    if exp.is_finite() && (0.0..1e11).contains(&exp) {
                        return Some((UNIX_EPOCH + Duration::from_secs_f64(exp), None));
                    }
                }
                ExpirySource::Lifetime(d) => {
                    let now = self.inner.clock.now();
                    let wall = self.inner.clock.wall();
                    return Some((
                        wall.checked_add(*d)
                            .unwrap_or_else(|| crate::clock::far_wall(wall)),
                        Some(
                            now.checked_add(*d)
                                .unwrap_or_else(|| crate::clock::far_instant(now)),
                        ),
                    ));
                }
                _ => {}
            }
        }
        None
    }
}
