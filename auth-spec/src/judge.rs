//! Answers judged by their body: conditions on a body value or on the whole text, and what a
//! matching answer means.
//!
//! Some vendors answer HTTP 200 with an envelope whose field says the call failed
//! (`{"result": {"code": 7, "text": "..."}}`, success only when `code` is 0), or answer a failed
//! login with the plain body `false`; some say "token expired" in a 200 envelope. The validator
//! checks these conditions against the examples and the runtime evaluates them on live answers:
//! this module is the one implementation of both.

use serde_json::Value;

use crate::answer::Answer;
use crate::path::FieldPath;

/// A test on an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct BodyCondition {
    /// What is tested.
    pub test: BodyTest,
    /// Only answers with one of these statuses can match (empty: any status).
    pub status: Vec<u16>,
}

/// What a [`BodyCondition`] looks at.
#[derive(Debug, Clone, PartialEq)]
pub enum BodyTest {
    /// The JSON value at `path` compared with `comparison`. An answer that is not JSON, or has
    /// nothing at `path`, does not match (a missing field proves nothing).
    Path {
        /// Where the value is.
        path: FieldPath,
        /// How it is compared.
        comparison: Comparison,
    },
    /// The whole body, without surrounding whitespace, is exactly this text (`false`).
    WholeBody(String),
}

/// A comparison of a JSON value with declared scalars (numbers compare by value: `0` = `0.0`).
#[derive(Debug, Clone, PartialEq)]
pub enum Comparison {
    /// Equal to this value.
    Equals(Value),
    /// Present and not equal to this value.
    NotEquals(Value),
    /// Equal to one of these values.
    OneOf(Vec<Value>),
    /// Present and equal to none of these values.
    NotOneOf(Vec<Value>),
}

/// What an answer matching a [`FailureRule`] means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureMeaning {
    /// The credentials were rejected (login): not retried.
    CredentialsRejected,
    /// The session is over (refresh): log in again.
    SessionOver,
    /// A passing fault: retried with backoff, like a 503. The vendor said it did nothing, so
    /// even a rotating refresh token may be sent again.
    Transient,
    /// The call failed for another reason: an error naming the vendor's code and message.
    Error,
}

impl FailureMeaning {
    /// The YAML word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureMeaning::CredentialsRejected => "credentials_rejected",
            FailureMeaning::SessionOver => "session_over",
            FailureMeaning::Transient => "transient",
            FailureMeaning::Error => "error",
        }
    }
}

/// "An answer like this means the call failed", whatever its status.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureRule {
    /// Which answers.
    pub when: BodyCondition,
    /// What they mean.
    pub means: FailureMeaning,
    /// Where the vendor's (non-secret) error code is, shown in errors.
    pub code: Option<FieldPath>,
    /// Where the vendor's (non-secret) error message is, shown in errors.
    pub message: Option<FieldPath>,
}

impl BodyCondition {
    /// Whether `answer` matches. `json` is its body parsed as JSON, if it is JSON.
    pub fn matches(&self, answer: &Answer, json: Option<&Value>) -> bool {
        if !self.status.is_empty() && !self.status.contains(&answer.status) {
            return false;
        }
        match &self.test {
            BodyTest::WholeBody(text) => answer.body.trim() == text,
            BodyTest::Path { path, comparison } => {
                let Some(value) = json.and_then(|j| path.resolve(j)) else {
                    return false;
                };
                match comparison {
                    Comparison::Equals(v) => same(value, v),
                    Comparison::NotEquals(v) => !same(value, v),
                    Comparison::OneOf(vs) => vs.iter().any(|v| same(value, v)),
                    Comparison::NotOneOf(vs) => !vs.iter().any(|v| same(value, v)),
                }
            }
        }
    }
}

/// Scalar equality where numbers compare by value.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y,
            _ => x == y,
        },
        _ => a == b,
    }
}

/// What a failure rule found in an answer, for an error message: the vendor's code and message,
/// which the spec declares non-secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// What the answer means.
    pub means: FailureMeaning,
    /// `code 7: Invalid API key`, or what of it the answer has.
    pub detail: String,
}

/// The first rule that `answer` matches, with the vendor's code and message.
pub fn judge(rules: &[FailureRule], answer: &Answer) -> Option<Verdict> {
    if rules.is_empty() {
        return None;
    }
    let json: Option<Value> = serde_json::from_str(&answer.body).ok();
    let rule = rules
        .iter()
        .find(|rule| rule.when.matches(answer, json.as_ref()))?;
    let shown = |path: &Option<FieldPath>| {
        path.as_ref()
            .and_then(|p| json.as_ref().and_then(|j| p.resolve(j)))
            .map(|v| match v {
                Value::String(s) => s.chars().take(200).collect::<String>(),
                other => other.to_string().chars().take(200).collect(),
            })
    };
    let detail = match (shown(&rule.code), shown(&rule.message)) {
        (Some(code), Some(message)) => format!("the vendor says code {code}: {message}"),
        (Some(code), None) => format!("the vendor says code {code}"),
        (None, Some(message)) => format!("the vendor says: {message}"),
        (None, None) => match &rule.when.test {
            BodyTest::WholeBody(text) => format!("the answer is `{text}`"),
            BodyTest::Path { path, .. } => format!("the answer's `{path}` says the call failed"),
        },
    };
    Some(Verdict {
        means: rule.means,
        detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: body.to_owned(),
        }
    }

    fn rule(test: BodyTest, means: FailureMeaning) -> FailureRule {
        FailureRule {
            when: BodyCondition {
                test,
                status: Vec::new(),
            },
            means,
            code: FieldPath::parse("$.result.code").ok(),
            message: FieldPath::parse("$.result.text").ok(),
        }
    }

    #[test]
    fn an_envelope_code_other_than_zero_is_a_failure_with_the_vendors_words() {
        let rules = [rule(
            BodyTest::Path {
                path: FieldPath::parse("$.result.code").expect("path"),
                comparison: Comparison::NotEquals(json!(0)),
            },
            FailureMeaning::CredentialsRejected,
        )];
        let failed = judge(
            &rules,
            &answer(200, r#"{"result":{"code":7,"text":"Invalid API key"}}"#),
        )
        .expect("a failure");
        assert_eq!(failed.means, FailureMeaning::CredentialsRejected);
        assert_eq!(failed.detail, "the vendor says code 7: Invalid API key");
        assert!(judge(&rules, &answer(200, r#"{"result":{"code":0.0}}"#)).is_none());
        assert!(
            judge(&rules, &answer(200, r#"{"token":"t"}"#)).is_none(),
            "a missing field proves nothing"
        );
        assert!(judge(&rules, &answer(200, "not json")).is_none());
    }

    #[test]
    fn a_plain_false_body_and_one_of_and_status_filters() {
        let plain = [rule(
            BodyTest::WholeBody("false".into()),
            FailureMeaning::CredentialsRejected,
        )];
        assert!(judge(&plain, &answer(200, " false\n")).is_some());
        assert!(judge(&plain, &answer(200, "falsehood")).is_none());
        let mut one_of = rule(
            BodyTest::Path {
                path: FieldPath::parse("$.status").expect("path"),
                comparison: Comparison::OneOf(vec![json!("EXPIRED"), json!("REVOKED")]),
            },
            FailureMeaning::SessionOver,
        );
        one_of.when.status = vec![200];
        let rules = [one_of];
        assert!(judge(&rules, &answer(200, r#"{"status":"REVOKED"}"#)).is_some());
        assert!(judge(&rules, &answer(400, r#"{"status":"REVOKED"}"#)).is_none());
        assert!(judge(&rules, &answer(200, r#"{"status":"OK"}"#)).is_none());
        let not_one_of = BodyCondition {
            test: BodyTest::Path {
                path: FieldPath::parse("$.ok").expect("path"),
                comparison: Comparison::NotOneOf(vec![json!(true)]),
            },
            status: Vec::new(),
        };
        let false_ok = answer(200, r#"{"ok":false}"#);
        let json = serde_json::from_str::<Value>(&false_ok.body).ok();
        assert!(not_one_of.matches(&false_ok, json.as_ref()));
    }
}
