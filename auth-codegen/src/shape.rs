//! The shape of a token answer, inferred from the example answers the spec carries: which
//! fields, nested how, of which JSON type, and which hold secrets.

use auth_spec::path::{FieldPath, Segment};
use serde_json::Value;

/// The type of one JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A string; `secret` ones become `SecretString`.
    String {
        /// Whether the value is a credential (a token, secret, password).
        secret: bool,
    },
    /// A whole number.
    Integer,
    /// A number with a fraction.
    Float,
    /// `true` / `false`.
    Bool,
    /// An array of one shape.
    Array(Box<Shape>),
    /// An object with known fields.
    Object(Vec<Field>),
    /// Anything else (mixed types, only `null` seen).
    Any,
}

/// A member of an object shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The JSON key.
    pub key: String,
    /// Its type.
    pub shape: Shape,
    /// Present in every example and on the path to a token the spec reads: a missing value
    /// would be an answer the spec does not describe, so it is not optional.
    pub required: bool,
}

/// Whether a key names a credential.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.ends_with("token")
        || ["secret", "password", "assertion"]
            .iter()
            .any(|s| k.contains(s))
}

/// Infers the shape of `values` (all examples of one answer). `required_paths` are the token
/// paths the spec reads from the body: their fields are required and their strings secret.
pub fn infer(values: &[&Value], required_paths: &[FieldPath]) -> Shape {
    infer_at(values, &[], required_paths, None)
}

fn infer_at(
    values: &[&Value],
    here: &[Segment],
    required: &[FieldPath],
    key: Option<&str>,
) -> Shape {
    let present: Vec<&Value> = values.iter().copied().filter(|v| !v.is_null()).collect();
    if present.is_empty() {
        return Shape::Any;
    }
    let on_token_path = required.iter().any(|p| p.segments() == here);
    if present.iter().all(|v| v.is_string()) {
        return Shape::String {
            secret: on_token_path || key.is_some_and(is_secret_key),
        };
    }
    if present.iter().all(|v| v.is_boolean()) {
        return Shape::Bool;
    }
    if present.iter().all(|v| v.is_number()) {
        return if present.iter().all(|v| v.is_i64()) {
            Shape::Integer
        } else {
            Shape::Float
        };
    }
    if present.iter().all(|v| v.is_array()) {
        let items: Vec<&Value> = present
            .iter()
            .filter_map(|v| v.as_array())
            .flatten()
            .collect();
        let mut path = here.to_vec();
        path.push(Segment::Index(0));
        return Shape::Array(Box::new(infer_at(&items, &path, required, key)));
    }
    if present.iter().all(|v| v.is_object()) {
        let mut keys: Vec<&String> = Vec::new();
        for object in present.iter().filter_map(|v| v.as_object()) {
            for k in object.keys() {
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
        let fields = keys
            .into_iter()
            .map(|k| {
                let members: Vec<&Value> =
                    present.iter().filter_map(|v| v.get(k.as_str())).collect();
                let mut path = here.to_vec();
                path.push(Segment::Key(k.clone()));
                let in_all = members.len() == present.len() && members.iter().all(|v| !v.is_null());
                let leads_to_token = required.iter().any(|p| p.segments().starts_with(&path));
                Field {
                    key: k.clone(),
                    shape: infer_at(&members, &path, required, Some(k)),
                    required: in_all && leads_to_token,
                }
            })
            .collect();
        return Shape::Object(fields);
    }
    Shape::Any
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_token_paths_are_required_and_secret() {
        let example = json!({
            "access_token": {"token_type": "bearer", "token": "t", "expires_in": 3600},
            "refresh_token": "r",
            "not-before-policy": 0,
            "ratio": 0.5,
            "scopes": ["a"],
        });
        let path = FieldPath::parse("$.access_token.token").expect("path");
        let Shape::Object(fields) = infer(&[&example], &[path]) else {
            panic!("object")
        };
        assert!(fields[0].required, "access_token leads to the token");
        let Shape::Object(inner) = &fields[0].shape else {
            panic!("object")
        };
        assert_eq!(
            inner[0].shape,
            Shape::String { secret: false },
            "token_type is not secret"
        );
        assert_eq!(inner[1].shape, Shape::String { secret: true });
        assert!(inner[1].required);
        assert_eq!(inner[2].shape, Shape::Integer);
        assert!(!inner[2].required);
        assert_eq!(
            fields[1].shape,
            Shape::String { secret: true },
            "refresh_token by its name"
        );
        assert_eq!(fields[3].shape, Shape::Float);
        assert_eq!(
            fields[4].shape,
            Shape::Array(Box::new(Shape::String { secret: false }))
        );
    }
}
