//! Rendering the spec's endpoints with this engine's credentials and session, and sending them: retries, counted login requests, errors that never carry a secret.

use auth_spec::model::Endpoint;

use crate::error::{AuthError, AuthErrorKind};
use crate::redact::excerpt;
use crate::request::{self, RetryScope, SendFailure, TemplateContext};
use crate::session::Session;

use super::{Authenticator, unknown};

impl Authenticator {
    pub(super) fn template_context<'a>(
        &'a self,
        session: Option<&'a Session>,
    ) -> TemplateContext<'a> {
        TemplateContext {
            credentials: &self.inner.credentials,
            session,
            leave_out_session: false,
            now: self.inner.clock.wall(),
            optional: &self.inner.optional,
        }
    }

    /// A short excerpt of an answer's body for an error, with every secret this engine knows
    /// (credentials, and the tokens of `session`) removed, in every form a request carried it.
    pub(super) fn excerpt(&self, body: &str, session: Option<&Session>) -> String {
        let spec = &self.inner.spec;
        let endpoints = std::iter::once(&spec.login.request)
            .chain(spec.refresh.as_ref().map(|r| &r.request))
            .chain(spec.logout.as_ref());
        let secrets = self.template_context(session).secrets(endpoints);
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        excerpt(body, &secrets)
    }

    pub(super) fn prepare(
        &self,
        endpoint: &Endpoint,
        name: &str,
        session: Option<&Session>,
    ) -> Result<request::Prepared, AuthError> {
        self.prepare_with(endpoint, name, self.template_context(session))
    }

    /// The login, carrying the `previous` session's values where its templates name them, and
    /// leaving those entries out when there is none.
    pub(super) fn prepare_login(
        &self,
        name: &str,
        previous: Option<&Session>,
    ) -> Result<request::Prepared, AuthError> {
        let ctx = TemplateContext {
            leave_out_session: true,
            ..self.template_context(previous)
        };
        self.prepare_with(&self.inner.spec.login.request, name, ctx)
    }

    pub(super) fn prepare_with(
        &self,
        endpoint: &Endpoint,
        name: &str,
        ctx: TemplateContext<'_>,
    ) -> Result<request::Prepared, AuthError> {
        if endpoint.encoding == auth_spec::model::Encoding::Unknown {
            let which = name.split_whitespace().next().unwrap_or(name);
            return Err(unknown::encoding_unknown(&self.inner.spec, which));
        }
        // Computed credentials are signed afresh for each request that sends them.
        let signed = crate::credentials::signed::for_endpoint(
            &self.inner.spec,
            endpoint,
            ctx.credentials,
            ctx.now,
        )?;
        let ctx = match &signed {
            Some(credentials) => TemplateContext { credentials, ..ctx },
            None => ctx,
        };
        request::prepare(&self.inner.base_url, endpoint, &ctx).map_err(|unfilled| match unfilled {
            auth_spec::render::Unfilled::Missing(reference) => AuthErrorKind::MissingValue {
                provider: self.inner.spec.name.clone(),
                endpoint: name.to_owned(),
                reference: reference.to_string(),
            }
            .into(),
            auth_spec::render::Unfilled::NotASegment(reference) => {
                AuthErrorKind::PathValueRefused {
                    provider: self.inner.spec.name.clone(),
                    endpoint: name.to_owned(),
                    reference: reference.to_string(),
                }
                .into()
            }
        })
    }

    pub(super) async fn send(
        &self,
        prepared: &request::Prepared,
        endpoint: &str,
        scope: RetryScope,
    ) -> Result<auth_spec::extract::Answer, AuthError> {
        self.send_raw(prepared, scope)
            .await
            .map_err(|failure| self.send_error(endpoint, failure))
    }

    /// Sends with this engine's client, retries and answer cap.
    pub(super) async fn send_raw(
        &self,
        prepared: &request::Prepared,
        scope: RetryScope,
    ) -> Result<auth_spec::extract::Answer, SendFailure> {
        let mut sent = 0;
        self.send_counted(prepared, scope, self.inner.retry.max_attempts, &mut sent)
            .await
    }

    /// Sends with at most `max_attempts` attempts (a login budget may allow fewer than the
    /// retry policy); `sent` says how many were made.
    pub(super) async fn send_counted(
        &self,
        prepared: &request::Prepared,
        scope: RetryScope,
        max_attempts: u32,
        sent: &mut u32,
    ) -> Result<auth_spec::extract::Answer, SendFailure> {
        let retry = auth_spec::model::Retry {
            max_attempts: max_attempts.clamp(1, self.inner.retry.max_attempts.max(1)),
            ..self.inner.retry
        };
        request::send(
            &self.inner.http,
            prepared,
            &retry,
            scope,
            &*self.inner.clock,
            self.inner.spec.policy.max_answer_bytes,
            sent,
        )
        .await
    }

    /// The error a failed send means for the caller.
    pub(super) fn send_error(&self, endpoint: &str, failure: SendFailure) -> AuthError {
        let provider = self.inner.spec.name.clone();
        let endpoint = endpoint.to_owned();
        match failure {
            SendFailure::GaveUp { attempts, last, .. } => AuthErrorKind::Unreachable {
                provider,
                endpoint,
                attempts,
                last,
            }
            .into(),
            SendFailure::RedirectRefused { status, to } => AuthErrorKind::RedirectRefused {
                provider,
                endpoint,
                status,
                to,
            }
            .into(),
            SendFailure::RedirectFollowed { to } => AuthErrorKind::RedirectFollowed {
                provider,
                endpoint,
                to,
            }
            .into(),
            SendFailure::TooLarge { status, limit } => AuthErrorKind::AnswerTooLarge {
                provider,
                endpoint,
                status,
                limit,
            }
            .into(),
            SendFailure::Incomplete { status, reason } => AuthErrorKind::AnswerIncomplete {
                provider,
                endpoint,
                status,
                reason,
            }
            .into(),
        }
    }
}
