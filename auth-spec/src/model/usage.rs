//! API calls: how the token is sent, how an answer says it expired, rolling values.

use serde_json::Value;

use crate::template::Template;

/// How an API call says its token expired.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpiredSignal {
    /// Statuses that may mean "expired".
    pub status: Vec<u16>,
    /// Header (name, value) pairs that mean "expired" (any of them, with `www_authenticate_error`).
    pub headers: Vec<(String, String)>,
    /// `WWW-Authenticate` `error` value that means "expired".
    pub www_authenticate_error: Option<String>,
    /// Body conditions, any of which means "expired" (with a listed status).
    pub body: Vec<crate::judge::BodyCondition>,
}

impl ExpiredSignal {
    /// Whether an answer with this status and these headers says the token expired.
    pub fn matches<'a, I>(&self, status: u16, headers: I) -> bool
    where
        I: IntoIterator<Item = (&'a str, &'a str)> + Clone,
    {
        if !self.status.contains(&status) {
            return false;
        }
        if self.headers.is_empty() && self.www_authenticate_error.is_none() {
            // With body conditions only the body can tell (see `matches_body`).
            return self.body.is_empty();
        }
        let header_hit = self.headers.iter().any(|(name, value)| {
            headers
                .clone()
                .into_iter()
                .any(|(n, v)| n.eq_ignore_ascii_case(name) && v.trim().eq_ignore_ascii_case(value))
        });
        let challenge_hit = self.www_authenticate_error.as_deref().is_some_and(|error| {
            headers.into_iter().any(|(n, v)| {
                n.eq_ignore_ascii_case("www-authenticate") && challenge_error(v) == Some(error)
            })
        });
        header_hit || challenge_hit
    }

    /// Whether the body of an answer with a listed status says the token expired (one of the
    /// `body` conditions matches). Only needed when [`Self::matches`] said no.
    pub fn matches_body(&self, answer: &crate::answer::Answer) -> bool {
        if self.body.is_empty() || !self.status.contains(&answer.status) {
            return false;
        }
        let json: Option<Value> = serde_json::from_str(&answer.body).ok();
        self.body.iter().any(|c| c.matches(answer, json.as_ref()))
    }
}

/// The `error` parameter of a `WWW-Authenticate` challenge
/// (`Bearer error="invalid_token", error_description="..."`).
pub fn challenge_error(header: &str) -> Option<&str> {
    let start = header.find("error=")?;
    // Skip `error_description=` and friends: `error=` must start a parameter.
    let before = header[..start].trim_end();
    if !(before.is_empty() || before.ends_with(',') || before.split_whitespace().count() == 1) {
        return None;
    }
    let rest = &header[start + "error=".len()..];
    let value = match rest.strip_prefix('"') {
        Some(quoted) => &quoted[..quoted.find('"')?],
        None => rest.split([',', ' ']).next()?,
    };
    Some(value)
}

/// How the token is sent on API calls.
#[derive(Debug, Clone, PartialEq)]
pub struct Usage {
    /// Headers (name, template).
    pub headers: Vec<(String, Template)>,
    /// Query parameters (name, template).
    pub query: Vec<(String, Template)>,
    /// How an API call says the token expired; `None` when the vendor does not say.
    pub expired: Option<ExpiredSignal>,
    /// `usage: unknown`: the vendor's document does not say how the token is sent (`headers`
    /// and `query` are empty). A token can still be had; putting it on a request needs the
    /// caller to say how (`AuthenticatorBuilder::token_header`, `auth-cli --token-header`).
    pub unknown: bool,
    /// Session values that ordinary API answers renew (rolling tokens), in file order.
    pub renewed_by_answers: Vec<RenewedByAnswer>,
    /// Ordinary API answers that mean failure whatever their status (the first match wins):
    /// `SessionOver` or `Error`.
    pub failures: Vec<crate::judge::FailureRule>,
}

/// A session value an ordinary API answer replaces when it carries a header.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RenewedByAnswer {
    /// Which value.
    pub value: SessionSlot,
    /// The response header that carries the new value (compared case-insensitively).
    pub header: String,
}

/// A value held by the session that a request can send.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SessionSlot {
    /// The access token.
    AccessToken,
    /// A named value (`values:` of the token answers).
    Value(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expired_signal_needs_status_and_any_marker() {
        let signal = ExpiredSignal {
            status: vec![401],
            headers: vec![("Token-Expired".into(), "true".into())],
            www_authenticate_error: Some("invalid_token".into()),
            body: Vec::new(),
        };
        assert!(signal.matches(401, [("token-expired", "true")]));
        assert!(signal.matches(
            401,
            [(
                "WWW-Authenticate",
                r#"Bearer error="invalid_token", error_description="The token is expired""#
            )]
        ));
        assert!(!signal.matches(401, [("content-length", "0")]));
        assert!(!signal.matches(403, [("token-expired", "true")]));
        let plain = ExpiredSignal {
            status: vec![401],
            headers: vec![],
            www_authenticate_error: None,
            body: Vec::new(),
        };
        assert!(plain.matches(401, []));
    }

    #[test]
    fn challenge_error_skips_description() {
        assert_eq!(
            challenge_error(r#"Bearer error_description="x", error="invalid_token""#),
            Some("invalid_token")
        );
        assert_eq!(challenge_error(r#"Bearer realm="a""#), None);
        assert_eq!(
            challenge_error("Bearer error=invalid_token"),
            Some("invalid_token")
        );
    }
}
