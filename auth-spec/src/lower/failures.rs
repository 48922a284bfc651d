//! Lowering of `failures` and body conditions (answers judged by their body).

use serde_json::Value;
use serde_saphyr::Spanned;

use super::{Context, Lowerer};
use crate::judge::{BodyCondition, BodyTest, Comparison, FailureMeaning, FailureRule};
use crate::node::Node;
use crate::path::FieldPath;
use crate::raw::{RawCondition, RawEndpoint, RawFailure, RawMeaning, SpannedString};

impl Lowerer<'_> {
    /// The endpoint's `failures`.
    pub(super) fn failures(&mut self, raw: &RawEndpoint, context: Context) -> Vec<FailureRule> {
        self.failure_rules(&raw.failures, context)
    }

    /// `failures` of an endpoint, or of `usage` (ordinary API answers).
    pub(super) fn failure_rules(
        &mut self,
        raw: &[Spanned<RawFailure>],
        context: Context,
    ) -> Vec<FailureRule> {
        let mut rules = Vec::new();
        for spanned in raw {
            let failure = &spanned.value;
            let means = match failure.means.value {
                RawMeaning::CredentialsRejected => FailureMeaning::CredentialsRejected,
                RawMeaning::SessionOver => FailureMeaning::SessionOver,
                RawMeaning::Transient => FailureMeaning::Transient,
                RawMeaning::Error => FailureMeaning::Error,
            };
            let allowed: &[FailureMeaning] = match context {
                Context::Login => &[
                    FailureMeaning::CredentialsRejected,
                    FailureMeaning::Transient,
                    FailureMeaning::Error,
                ],
                Context::Refresh => &[
                    FailureMeaning::SessionOver,
                    FailureMeaning::Transient,
                    FailureMeaning::Error,
                ],
                // An API answer: the session ended (log in again, replay once), or the call
                // failed (the answer goes back to the caller, `request` exits 5).
                Context::Usage => &[FailureMeaning::SessionOver, FailureMeaning::Error],
                _ => &[FailureMeaning::Transient, FailureMeaning::Error],
            };
            let mut ok = true;
            if !allowed.contains(&means) {
                ok = false;
                let words: Vec<&str> = allowed.iter().map(|m| m.as_str()).collect();
                self.error(
                    failure.means.referenced,
                    match context {
                        Context::Usage => format!(
                            "`means: {}` is not possible for API answers (`usage.failures`)",
                            means.as_str()
                        ),
                        _ => format!(
                            "`means: {}` is not possible for the {} endpoint",
                            means.as_str(),
                            context.name()
                        ),
                    },
                    Some(format!("use one of: {}", words.join(", "))),
                );
            }
            let code = failure.code.as_ref().and_then(|p| self.answer_path(p));
            let message = failure.message.as_ref().and_then(|p| self.answer_path(p));
            ok &= failure.code.is_some() == code.is_some()
                && failure.message.is_some() == message.is_some();
            let Some(when) = self.condition(&failure.when) else {
                continue;
            };
            if !ok {
                continue;
            }
            rules.push(FailureRule {
                when,
                means,
                code,
                message,
            });
        }
        rules
    }

    /// A path into an answer.
    fn answer_path(&mut self, path: &SpannedString) -> Option<FieldPath> {
        match FieldPath::parse(&path.value) {
            Ok(p) => Some(p),
            Err(e) => {
                self.error(
                    path.referenced,
                    format!("`{}` is not a field path: {e}", path.value),
                    Some("write a path such as `$.result.code`".into()),
                );
                None
            }
        }
    }

    /// A condition on an answer's body.
    pub(super) fn condition(&mut self, spanned: &Spanned<RawCondition>) -> Option<BodyCondition> {
        let raw = &spanned.value;
        let at = spanned.referenced;
        let status = self.statuses(&raw.status, &[], "`status` of a condition");
        let comparisons: Vec<(&str, &Spanned<Node>)> = [
            ("equals", &raw.equals),
            ("not_equals", &raw.not_equals),
            ("one_of", &raw.one_of),
            ("not_one_of", &raw.not_one_of),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_ref().map(|v| (name, v)))
        .collect();
        let test = match (&raw.path, &raw.body) {
            (Some(_), Some(_)) | (None, None) => {
                self.error(
                    at,
                    "a condition names either a body `path` or the whole `body`",
                    Some(
                        "e.g. `{ path: $.result.code, not_equals: 0 }` or `{ body: \"false\" }`"
                            .into(),
                    ),
                );
                return None;
            }
            (None, Some(body)) => {
                if let Some((name, value)) = comparisons.first() {
                    self.error(
                        value.referenced,
                        format!("`{name}` compares a `path`'s value; a `body` condition is the whole text"),
                        Some("remove it, or test a `path` instead of the whole `body`".into()),
                    );
                    return None;
                }
                BodyTest::WholeBody(body.value.trim().to_owned())
            }
            (Some(path), None) => {
                let path = self.answer_path(path)?;
                let [(name, value)] = comparisons.as_slice() else {
                    self.error(
                        at,
                        "a `path` condition needs exactly one of `equals`, `not_equals`, `one_of`, `not_one_of`",
                        Some("e.g. `not_equals: 0` for \"success only when the code is 0\"".into()),
                    );
                    return None;
                };
                let list = |node: &Spanned<Node>, this: &mut Self| -> Option<Vec<Value>> {
                    let Node::Seq(items) = &node.value else {
                        this.error(
                            node.referenced,
                            format!("`{name}` takes a list of values"),
                            Some("e.g. `[\"EXPIRED\", \"REVOKED\"]`".into()),
                        );
                        return None;
                    };
                    if items.is_empty() {
                        this.error(node.referenced, format!("`{name}` is empty"), None);
                        return None;
                    }
                    items.iter().map(|i| this.scalar(i)).collect()
                };
                let comparison = match *name {
                    "equals" => Comparison::Equals(self.scalar(value)?),
                    "not_equals" => Comparison::NotEquals(self.scalar(value)?),
                    "one_of" => Comparison::OneOf(list(value, self)?),
                    _ => Comparison::NotOneOf(list(value, self)?),
                };
                BodyTest::Path { path, comparison }
            }
        };
        Some(BodyCondition { test, status })
    }

    /// A number, string, boolean or null to compare with.
    fn scalar(&mut self, node: &Spanned<Node>) -> Option<Value> {
        match &node.value {
            Node::Null => Some(Value::Null),
            Node::Bool(b) => Some(Value::Bool(*b)),
            Node::Number(n) => Some(Value::Number(n.clone())),
            Node::String(s) => Some(Value::String(s.clone())),
            other => {
                self.error(
                    node.referenced,
                    format!(
                        "a condition compares with a number, string, boolean or null, not {}",
                        other.kind()
                    ),
                    None,
                );
                None
            }
        }
    }
}
