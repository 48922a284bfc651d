//! Answers in the shapes a spec's body conditions describe (failure envelopes, "expired"
//! envelopes), so a spec that judges answers by their body can be tried against the simulator.

use auth_spec::judge::{BodyCondition, BodyTest, Comparison, FailureMeaning};
use auth_spec::path::FieldPath;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use serde_json::Value;

use crate::answer::{json_response, set_path};

/// An answer that the condition matches: its first allowed status, and a body holding a value
/// the comparison accepts (or the whole-body text).
pub(super) fn satisfying(
    condition: &BodyCondition,
    message: Option<&FieldPath>,
) -> Response<Full<Bytes>> {
    let status = condition.status.first().copied().unwrap_or(200);
    match &condition.test {
        BodyTest::WholeBody(text) => {
            let mut response = Response::new(Full::new(Bytes::from(text.clone())));
            *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            response
        }
        BodyTest::Path { path, comparison } => {
            // A string differs from every declared number and from any other string.
            let different = |not: &[Value]| {
                let mut text = "simulated-failure".to_owned();
                while not.iter().any(|v| v.as_str() == Some(text.as_str())) {
                    text.push('-');
                }
                Value::String(text)
            };
            let value = match comparison {
                Comparison::Equals(v) => v.clone(),
                Comparison::OneOf(vs) => vs.first().cloned().unwrap_or(Value::Null),
                Comparison::NotEquals(v) => different(std::slice::from_ref(v)),
                Comparison::NotOneOf(vs) => different(vs),
            };
            let mut body = Value::Object(serde_json::Map::new());
            set_path(&mut body, path, value);
            if let Some(message) = message {
                set_path(
                    &mut body,
                    message,
                    Value::from("simulated by auth-cli mock"),
                );
            }
            json_response(status, &body)
        }
    }
}

/// The spec's own way of saying `means` for this endpoint, if it declares one.
pub(super) fn failure_answer(
    endpoint: &auth_spec::model::Endpoint,
    means: FailureMeaning,
) -> Option<Response<Full<Bytes>>> {
    endpoint
        .failures
        .iter()
        .find(|rule| rule.means == means)
        .map(|rule| satisfying(&rule.when, rule.message.as_ref()))
}
