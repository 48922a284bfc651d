//! What of a token answer is kept in the session: only the values later requests name.
//!
//! A session keeps the last token answer for `${response.PATH}` templates (ID Issuer's refresh
//! sends the whole `access_token` object back). Keeping the whole answer would store, and read
//! back on every call, whatever a vendor chose to send (megabytes, or nesting deep enough to make
//! the store unreadable). So the session keeps the named values at their paths and nothing else;
//! the whole answer stays in the memory of the process that received it, for typed access.

use auth_spec::ProviderSpec;
use auth_spec::path::{FieldPath, Segment};
use auth_spec::template::Reference;
use serde_json::Value;

/// The answer paths that the spec's login (carrying the previous session), refresh, logout and
/// usage templates name.
pub(crate) fn needed_paths(spec: &ProviderSpec) -> Vec<FieldPath> {
    let mut templates = spec.login.request.templates();
    if let Some(refresh) = &spec.refresh {
        templates.extend(refresh.request.templates());
    }
    if let Some(logout) = &spec.logout {
        templates.extend(logout.templates());
    }
    templates.extend(spec.usage.headers.iter().map(|(_, t)| t));
    templates.extend(spec.usage.query.iter().map(|(_, t)| t));
    let mut paths: Vec<FieldPath> = Vec::new();
    for template in templates {
        for reference in template.references() {
            if let Reference::Response(path) = reference
                && !paths.contains(path)
            {
                paths.push(path.clone());
            }
        }
    }
    paths
}

/// The values of `answer` at `paths`, at the same paths; `None` when no path is needed.
pub(crate) fn prune(answer: &Value, paths: &[FieldPath]) -> Option<Value> {
    if paths.is_empty() {
        return None;
    }
    let mut kept = Value::Null;
    for path in paths {
        if let Some(value) = path.resolve(answer) {
            place(&mut kept, path.segments(), value.clone());
        }
    }
    Some(kept)
}

/// Puts `value` at `segments` inside `into`, creating objects and arrays on the way (arrays
/// padded with nulls up to an index, which exists in the answer it came from).
fn place(into: &mut Value, segments: &[Segment], value: Value) {
    let Some((first, rest)) = segments.split_first() else {
        *into = value;
        return;
    };
    match first {
        Segment::Key(key) => {
            if !into.is_object() {
                *into = Value::Object(serde_json::Map::new());
            }
            if let Value::Object(map) = into {
                place(map.entry(key.clone()).or_insert(Value::Null), rest, value);
            }
        }
        Segment::Index(index) => {
            if !into.is_array() {
                *into = Value::Array(Vec::new());
            }
            if let Value::Array(items) = into {
                if items.len() <= *index {
                    items.resize(index + 1, Value::Null);
                }
                place(&mut items[*index], rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(list: &[&str]) -> Vec<FieldPath> {
        list.iter()
            .map(|p| FieldPath::parse(p).expect("path"))
            .collect()
    }

    #[test]
    fn keeps_only_the_named_values_at_their_paths() {
        let answer = json!({
            "access_token": {"token": "t", "expires_in": 60},
            "sessions": [{"id": 1}, {"id": 2, "token": "s"}],
            "noise": "x".repeat(1000),
        });
        let kept = prune(&answer, &paths(&["$.access_token", "$.sessions[1].token"]));
        assert_eq!(
            kept,
            Some(json!({
                "access_token": {"token": "t", "expires_in": 60},
                "sessions": [null, {"token": "s"}],
            }))
        );
        assert_eq!(prune(&answer, &[]), None, "nothing needed, nothing kept");
        assert_eq!(prune(&answer, &paths(&["$"])), Some(answer.clone()));
        assert_eq!(prune(&answer, &paths(&["$.missing"])), Some(Value::Null));
    }
}
