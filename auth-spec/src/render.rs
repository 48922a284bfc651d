//! Rendering an endpoint's path template into a URL: the one implementation the runtime sends
//! and the simulator (`auth-mock`) matches against, so the two cannot disagree on encoding.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;
use url::Url;

use crate::template::{Part, Reference, Template};

/// Why a request could not be rendered.
#[derive(Debug)]
pub enum Unfilled {
    /// A placeholder whose value is not available.
    Missing(Reference),
    /// A placeholder of the path whose value would make its segment empty, `.` or `..`, which
    /// would change which resource the path names.
    NotASegment(Reference),
}

impl From<Reference> for Unfilled {
    fn from(reference: Reference) -> Self {
        Unfilled::Missing(reference)
    }
}

/// What a path value keeps unencoded: only RFC 3986's unreserved characters, so that a value
/// holding `/`, `?`, `#`, `%`, spaces or non-ASCII text stays inside its one segment.
const SEGMENT_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Renders an endpoint path: literal text as written, each placeholder's value (from `lookup`)
/// percent-encoded into its segment. A segment with a placeholder that renders empty, `.` or
/// `..` is refused: it would drop a segment or climb out of one.
pub fn render_path<F>(path: &Template, mut lookup: F) -> Result<String, Unfilled>
where
    F: FnMut(&Reference) -> Option<Value>,
{
    fn check(segment: &str, placeholder: Option<&Reference>) -> Result<(), Unfilled> {
        match placeholder {
            Some(r) if matches!(segment, "" | "." | "..") => Err(Unfilled::NotASegment(r.clone())),
            _ => Ok(()),
        }
    }
    let mut out = String::new();
    // Where the current segment starts in `out`, and its first placeholder.
    let mut start = 0;
    let mut placeholder: Option<&Reference> = None;
    for part in path.parts() {
        match part {
            Part::Literal(text) => {
                let mut pieces = text.split('/');
                out.push_str(pieces.next().unwrap_or_default());
                for piece in pieces {
                    check(&out[start..], placeholder)?;
                    out.push('/');
                    start = out.len();
                    placeholder = None;
                    out.push_str(piece);
                }
            }
            Part::Ref(reference) => {
                let value = match lookup(reference) {
                    Some(Value::String(s)) => s,
                    Some(other) => other.to_string(),
                    None => return Err(Unfilled::Missing(reference.clone())),
                };
                out.extend(utf8_percent_encode(&value, SEGMENT_VALUE));
                placeholder.get_or_insert(reference);
            }
        }
    }
    check(&out[start..], placeholder)?;
    Ok(out)
}

/// `base` + `path`, keeping any path prefix of the base (a gateway's `https://host/gateway`
/// given as the base URL at run time: spec files declare origins only).
pub fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let prefix = base.path().trim_end_matches('/');
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    url.set_path(&format!("{prefix}{path}"));
    url.set_query(query);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_values_stay_inside_their_segment() {
        let path = Template::parse("/t/${credentials.t}/x?v=1").expect("template");
        let render = |value: &str| render_path(&path, |_| Some(Value::from(value)));
        let base = Url::parse("https://api.example.com/gw").expect("url");
        let url = join(
            &base,
            &render("a/b?c#d %é").map_err(|_| ()).expect("renders"),
        );
        assert_eq!(url.path(), "/gw/t/a%2Fb%3Fc%23d%20%25%C3%A9/x");
        assert_eq!(url.query(), Some("v=1"));
        assert_eq!(url.fragment(), None);
        for refused in ["", ".", ".."] {
            assert!(matches!(render(refused), Err(Unfilled::NotASegment(_))));
        }
        // Inside a longer segment, dots are ordinary text.
        let path = Template::parse("/v${credentials.t}").expect("template");
        let got = render_path(&path, |_| Some(Value::from(".."))).map_err(|_| ());
        assert_eq!(got.expect("renders"), "/v..");
    }

    #[test]
    fn join_keeps_prefix_and_query() {
        let base = Url::parse("https://api.example.com").expect("url");
        assert_eq!(
            join(&base, "/v3/auth/login").as_str(),
            "https://api.example.com/v3/auth/login"
        );
        let prefixed = Url::parse("http://127.0.0.1:9/mock/").expect("url");
        assert_eq!(
            join(&prefixed, "/token?x=1").as_str(),
            "http://127.0.0.1:9/mock/token?x=1"
        );
    }
}
