//! Field paths into JSON answers: `$.access_token`, `$.access_token.token`, the bare dotted form
//! `access_token.token`, array indices `$.sessions[0].token`, and bracketed keys for names with
//! dots or spaces (`$['a.b']`). Keys may contain dashes (`$.not-before-policy`).
//!
//! This is deliberately a small subset of JSONPath (RFC 9535): one path names one value, so there
//! are no wildcards or filters.

use std::fmt;

use serde_json::Value;

/// One step of a [`FieldPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// An object member.
    Key(String),
    /// An array element.
    Index(usize),
}

/// A parsed path naming one value inside a JSON document. The default is the root, `$`: the
/// whole document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FieldPath {
    segments: Vec<Segment>,
}

/// Why a path string is not a valid path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at character {offset} of `{input}`)")]
pub struct PathError {
    /// The path as written.
    pub input: String,
    /// 0-based character offset of the problem.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl FieldPath {
    /// Parses `$.a.b`, `$['a'][0]`, or the bare form `a.b[0]`.
    pub fn parse(input: &str) -> Result<Self, PathError> {
        let err = |offset: usize, message: &str| PathError {
            input: input.to_owned(),
            offset,
            message: message.to_owned(),
        };
        let chars: Vec<char> = input.chars().collect();
        if chars.is_empty() {
            return Err(err(0, "a path must not be empty"));
        }
        let mut i = 0;
        let mut segments = Vec::new();
        // `$` alone names the whole document; `$` must be followed by `.` or `[`.
        let rooted = chars[0] == '$';
        if rooted {
            i = 1;
        } else if chars[0] == '.' {
            return Err(err(0, "a bare path starts with a key, not `.`"));
        }
        let mut expect_key = !rooted;
        while i < chars.len() || expect_key {
            if expect_key {
                let start = i;
                while i < chars.len() && !matches!(chars[i], '.' | '[' | ']') {
                    if chars[i].is_whitespace() {
                        return Err(err(
                            i,
                            "whitespace in a key: write it as ['key with spaces']",
                        ));
                    }
                    i += 1;
                }
                if i == start {
                    return Err(err(i, "expected a key name"));
                }
                segments.push(Segment::Key(chars[start..i].iter().collect()));
                expect_key = false;
                continue;
            }
            match chars[i] {
                '.' => {
                    i += 1;
                    expect_key = true;
                }
                '[' => {
                    i += 1;
                    match chars.get(i) {
                        Some(q @ ('\'' | '"')) => {
                            let quote = *q;
                            i += 1;
                            let start = i;
                            while i < chars.len() && chars[i] != quote {
                                i += 1;
                            }
                            if i >= chars.len() {
                                return Err(err(start - 1, "unterminated quoted key"));
                            }
                            segments.push(Segment::Key(chars[start..i].iter().collect()));
                            i += 1;
                        }
                        Some(c) if c.is_ascii_digit() => {
                            let start = i;
                            while i < chars.len() && chars[i].is_ascii_digit() {
                                i += 1;
                            }
                            let digits: String = chars[start..i].iter().collect();
                            let index = digits
                                .parse::<usize>()
                                .map_err(|_| err(start, "array index is too large"))?;
                            segments.push(Segment::Index(index));
                        }
                        _ => {
                            return Err(err(
                                i,
                                "expected an array index like [0] or a quoted key like ['name']",
                            ));
                        }
                    }
                    if chars.get(i) != Some(&']') {
                        return Err(err(i, "expected `]`"));
                    }
                    i += 1;
                }
                _ => return Err(err(i, "expected `.` or `[`")),
            }
        }
        Ok(Self { segments })
    }

    /// The steps of this path; empty for `$` (the whole document).
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The value this path names in `doc`, if present.
    pub fn resolve<'a>(&self, doc: &'a Value) -> Option<&'a Value> {
        self.segments
            .iter()
            .try_fold(doc, |value, segment| match segment {
                Segment::Key(key) => value.as_object()?.get(key),
                Segment::Index(index) => value.as_array()?.get(*index),
            })
    }

    /// The path one step further: `$.a` joined with the key `b` is `$.a.b`.
    pub fn join(&self, segment: Segment) -> FieldPath {
        let mut segments = self.segments.clone();
        segments.push(segment);
        FieldPath { segments }
    }

    /// How far the path resolves in `doc`: the longest prefix that exists, as a path.
    /// Used to say "`$.access_token` exists but has no `token`".
    pub fn resolved_prefix(&self, doc: &Value) -> FieldPath {
        let mut value = doc;
        let mut segments = Vec::new();
        for segment in &self.segments {
            let next = match segment {
                Segment::Key(key) => value.as_object().and_then(|o| o.get(key)),
                Segment::Index(index) => value.as_array().and_then(|a| a.get(*index)),
            };
            match next {
                Some(next) => {
                    value = next;
                    segments.push(segment.clone());
                }
                None => break,
            }
        }
        FieldPath { segments }
    }
}

impl fmt::Display for FieldPath {
    /// Canonical form: `$.a.b[0]`, bracketed quotes for keys that need them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("$")?;
        for segment in &self.segments {
            match segment {
                Segment::Key(key)
                    if !key.is_empty()
                        && !key
                            .chars()
                            .any(|c| matches!(c, '.' | '[' | ']' | '\'') || c.is_whitespace()) =>
                {
                    write!(f, ".{key}")?
                }
                Segment::Key(key) => write!(f, "['{key}']")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(path: &str) -> Vec<Segment> {
        FieldPath::parse(path)
            .expect("valid path")
            .segments()
            .to_vec()
    }

    #[test]
    fn joining_steps_onto_the_root_gives_the_parsed_path() {
        let joined = FieldPath::default()
            .join(Segment::Key("not-before-policy".into()))
            .join(Segment::Index(0));
        assert_eq!(
            joined,
            FieldPath::parse("$.not-before-policy[0]").expect("valid")
        );
        assert_eq!(joined.to_string(), "$.not-before-policy[0]");
        assert_eq!(FieldPath::default().to_string(), "$");
    }

    #[test]
    fn rooted_bare_and_nested_forms_agree() {
        let expected = vec![
            Segment::Key("access_token".into()),
            Segment::Key("token".into()),
        ];
        assert_eq!(keys("$.access_token.token"), expected);
        assert_eq!(keys("access_token.token"), expected);
        assert_eq!(keys("$['access_token']['token']"), expected);
    }

    #[test]
    fn dashes_indices_and_quoted_keys() {
        assert_eq!(
            keys("$.not-before-policy"),
            vec![Segment::Key("not-before-policy".into())]
        );
        assert_eq!(
            keys("$.sessions[0].token"),
            vec![
                Segment::Key("sessions".into()),
                Segment::Index(0),
                Segment::Key("token".into())
            ]
        );
        assert_eq!(keys("$['a.b']"), vec![Segment::Key("a.b".into())]);
        assert_eq!(keys("$"), vec![]);
    }

    #[test]
    fn malformed_paths_say_where() {
        for (bad, offset) in [
            ("", 0),
            ("$.", 2),
            ("$..a", 2),
            ("$.a[", 4),
            ("$.a[x]", 4),
            ("$.a[0", 5),
            ("$a", 1),
            (".a", 0),
            ("$['a", 2),
            ("a b", 1),
        ] {
            let e = FieldPath::parse(bad).expect_err(bad);
            assert_eq!(e.offset, offset, "{bad}: {e}");
        }
    }

    #[test]
    fn resolves_and_reports_prefix() {
        let doc = json!({"access_token": {"token": "t", "expires_in": 3600}, "s": [{"x": 1}]});
        let p = FieldPath::parse("access_token.token").expect("valid");
        assert_eq!(p.resolve(&doc), Some(&json!("t")));
        let p = FieldPath::parse("$.s[0].x").expect("valid");
        assert_eq!(p.resolve(&doc), Some(&json!(1)));
        let p = FieldPath::parse("$.access_token.missing.deeper").expect("valid");
        assert_eq!(p.resolve(&doc), None);
        assert_eq!(p.resolved_prefix(&doc).to_string(), "$.access_token");
        assert_eq!(
            FieldPath::parse("$['a.b'].c").expect("valid").to_string(),
            "$['a.b'].c"
        );
    }
}
