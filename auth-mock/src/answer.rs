//! Building the simulator's answers: JSON bodies, headers, fields set at a path, JWTs.

use std::time::{SystemTime, UNIX_EPOCH};

use auth_spec::path::{FieldPath, Segment};
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use serde_json::Value;

pub(crate) fn json_response(status: u16, body: &Value) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// Adds a header, skipping names or values HTTP cannot carry (spec values are validated).
pub(crate) fn insert_header(response: &mut Response<Full<Bytes>>, name: &str, value: &str) {
    if let (Ok(name), Ok(value)) = (
        hyper::header::HeaderName::from_bytes(name.as_bytes()),
        hyper::header::HeaderValue::from_str(value),
    ) {
        response.headers_mut().insert(name, value);
    }
}

pub(crate) fn error(status: u16, message: &str) -> Response<Full<Bytes>> {
    json_response(status, &serde_json::json!({ "error": message }))
}

/// Sets `value` at `path` in `doc`, creating objects on the way.
pub(crate) fn set_path(doc: &mut Value, path: &FieldPath, value: Value) {
    let mut here = doc;
    for segment in path.segments() {
        here = match segment {
            Segment::Key(key) => {
                if !here.is_object() {
                    *here = Value::Object(serde_json::Map::new());
                }
                match here.as_object_mut() {
                    Some(map) => map.entry(key.clone()).or_insert(Value::Null),
                    None => return,
                }
            }
            Segment::Index(index) => match here.as_array_mut().and_then(|a| a.get_mut(*index)) {
                Some(item) => item,
                None => return,
            },
        };
    }
    *here = value;
}

/// Removes what `path` names from `doc`, if it is there.
pub(crate) fn remove_path(doc: &mut Value, path: &FieldPath) {
    let Some((last, parents)) = path.segments().split_last() else {
        return;
    };
    let mut here = doc;
    for segment in parents {
        let next = match segment {
            Segment::Key(key) => here.get_mut(key.as_str()),
            Segment::Index(index) => here.get_mut(*index),
        };
        let Some(next) = next else {
            return;
        };
        here = next;
    }
    match (last, here) {
        (Segment::Key(key), Value::Object(map)) => {
            map.shift_remove(key.as_str());
        }
        (Segment::Index(index), Value::Array(items)) if *index < items.len() => {
            items.remove(*index);
        }
        _ => {}
    }
}

/// Whether a path segment matches one where each `%01` stands for any non-empty text.
pub(crate) fn segment_matches(want: &str, got: &str) -> bool {
    let mut pieces = want.split("%01");
    let first = pieces.next().unwrap_or_default();
    let Some(mut rest) = got.strip_prefix(first) else {
        return false;
    };
    for piece in pieces {
        // At least one character for the value, then the next literal piece (the last one
        // must end the segment).
        let Some(skip) = rest.chars().next().map(char::len_utf8) else {
            return false;
        };
        let after = &rest[skip..];
        let found = if piece.is_empty() {
            Some(after.len())
        } else {
            after.find(piece)
        };
        let Some(at) = found else {
            return false;
        };
        rest = &after[at + piece.len()..];
    }
    rest.is_empty()
}

pub(crate) fn jwt(exp: u64, serial: u64) -> String {
    jwt_with(exp, serial, serde_json::Map::new())
}

/// A JWT carrying `extra` claims besides `sub`, `exp` and a unique `jti`.
pub(crate) fn jwt_with(exp: u64, serial: u64, extra: serde_json::Map<String, Value>) -> String {
    let enc = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut claims = extra;
    claims.insert("sub".into(), Value::from("mock"));
    claims.insert("exp".into(), Value::from(exp));
    claims.insert(
        "jti".into(),
        Value::from(format!("mock-{serial}-{}", fastrand::u64(..))),
    );
    let claims = Value::Object(claims);
    format!(
        "{}.{}.{}",
        enc.encode(r#"{"alg":"none","typ":"JWT"}"#),
        enc.encode(claims.to_string()),
        enc.encode("mock-signature")
    )
}

pub(crate) fn epoch_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
