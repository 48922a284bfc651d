//! What a request must carry: its path, encoding and body, and the tokens it presents.

use auth_spec::model::Encoding;
use auth_spec::template::Reference;

use serde_json::Value;

use crate::answer::segment_matches;
use crate::seen::Seen;
use crate::state::State;

impl State {
    /// Whether `seen` (as sent, percent-encoded) is `path` rendered as the engine renders it:
    /// credentials are the simulated ones; a session or answer value matches any text of its
    /// segment (it changes with every session).
    pub(crate) fn path_matches(&self, path: &auth_spec::template::Template, seen: &str) -> bool {
        // A character the encoding turns into `%01`, which no rendered literal or value holds.
        const ANY: &str = "\u{1}";
        let rendered = auth_spec::render::render_path(path, |r| match r {
            Reference::Credential(name) => self
                .credentials
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| Value::from(v.as_str())),
            _ => Some(Value::from(ANY)),
        });
        let Ok(rendered) = rendered else {
            return false;
        };
        // Through the same URL handling the engine's request goes through.
        let Ok(base) = url::Url::parse("http://simulator") else {
            return false;
        };
        let expected = auth_spec::render::join(&base, &rendered);
        let expected: Vec<&str> = expected.path().split('/').collect();
        let seen: Vec<&str> = seen.split('/').collect();
        expected.len() == seen.len()
            && expected
                .iter()
                .zip(&seen)
                .all(|(want, got)| segment_matches(want, got))
    }

    pub(crate) fn encoding_ok(&self, endpoint: &auth_spec::model::Endpoint, seen: &Seen) -> bool {
        match endpoint.encoding {
            Encoding::Json => seen.content_type.starts_with("application/json"),
            Encoding::Form => seen
                .content_type
                .starts_with("application/x-www-form-urlencoded"),
            Encoding::None => true,
            // The document does not say: the simulated vendor takes either.
            Encoding::Unknown => {
                seen.content_type.starts_with("application/json")
                    || seen
                        .content_type
                        .starts_with("application/x-www-form-urlencoded")
            }
        }
    }

    /// A JSON-encoded body must be JSON, whatever its shape (a mapping, or a bare string such as
    /// a refresh token sent as the whole body): a client sending the bare text is wrong.
    pub(crate) fn body_ok(&self, endpoint: &auth_spec::model::Endpoint, seen: &Seen) -> bool {
        endpoint.encoding != Encoding::Json
            || endpoint.body.is_none()
            || serde_json::from_str::<Value>(&seen.body).is_ok()
    }

    /// The issued refresh token the request carries, if any (longest match).
    pub(crate) fn presented_refresh(&self, seen: &Seen) -> Option<String> {
        self.lock()
            .refresh
            .keys()
            .filter(|t| seen.haystack.contains(t.as_str()))
            .max_by_key(|t| t.len())
            .cloned()
    }

    pub(crate) fn presented_access(&self, seen: &Seen) -> Option<String> {
        self.lock()
            .access
            .keys()
            .filter(|t| seen.haystack.contains(t.as_str()))
            .max_by_key(|t| t.len())
            .cloned()
    }
}
