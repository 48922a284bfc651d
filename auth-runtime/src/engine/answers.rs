//! Ordinary API answers judged by the spec's `usage.failures` (an envelope that says the call
//! failed, or that the session is over, whatever the HTTP status).

use auth_spec::extract::Answer;
use auth_spec::judge::{Verdict, judge};

use super::Authenticator;

impl Authenticator {
    /// What the spec's `usage.failures` say about an API answer: `None` when no rule matches
    /// (the answer is what its status says). A verdict's detail carries the vendor's code and
    /// message, never a secret of this engine.
    pub fn api_failure(
        &self,
        status: u16,
        headers: &http::HeaderMap,
        body: &str,
    ) -> Option<Verdict> {
        let rules = &self.inner.spec.usage.failures;
        if rules.is_empty() {
            return None;
        }
        let answer = Answer {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: body.to_owned(),
        };
        judge(rules, &answer).map(|mut verdict| {
            verdict.detail = self.excerpt(&verdict.detail, None);
            verdict
        })
    }

    /// Whether an API answer with this status must have its body read to be judged by
    /// `usage.failures` (a rule without a status applies to every answer).
    pub fn api_answer_needs_body(&self, status: u16) -> bool {
        self.inner
            .spec
            .usage
            .failures
            .iter()
            .any(|rule| rule.when.status.is_empty() || rule.when.status.contains(&status))
    }

    /// Ends the session of `generation` after an API answer said it is over (`usage.failures`
    /// with `means: session_over`): its tokens are not used again, the refresh token included,
    /// so the next call logs in. A later generation is left alone.
    pub fn end_session(&self, generation: u64) {
        if let Some(current) = self.inner.current.load_full()
            && current.session.generation == generation
        {
            tracing::info!(provider = %self.inner.spec.name, generation, "the vendor says the session is over");
            self.forget_refresh_token(&current);
        }
    }
}
