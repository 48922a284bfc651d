//! A vendor's answer as the spec language judges it: status, headers and body text. Its own
//! module because both the model (body conditions) and extraction read it.

use std::fmt;

/// A vendor's answer: status, headers and body text.
#[derive(Clone, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// Headers as received.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

impl fmt::Debug for Answer {
    /// Redacted: an answer carries tokens.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Answer")
            .field("status", &self.status)
            .field("headers", &self.headers.len())
            .field(
                "body",
                &format_args!("[{} bytes, redacted]", self.body.len()),
            )
            .finish()
    }
}

impl Answer {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
