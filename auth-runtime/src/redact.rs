//! Body excerpts for error messages, with secrets removed.

use serde_json::Value;

const MAX_EXCERPT: usize = 200;

/// Keys whose values are never shown.
fn is_sensitive_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "token",
        "secret",
        "password",
        "assertion",
        "api_key",
        "apikey",
        "session",
        "code",
    ]
    .iter()
    .any(|s| k.contains(s))
}

fn redact_value(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_sensitive_key(k) && !v.is_null() {
                    *v = Value::String("[redacted]".into());
                } else {
                    redact_value(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        _ => {}
    }
}

/// Replaces runs that look like tokens (16+ characters of base64/JWT alphabet mixing letters
/// and digits) in text that is not JSON, such as a cut-off token answer or an HTML page.
fn redact_token_like(text: &str) -> String {
    let is_token_char =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+' | '/' | '=');
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        let looks_secret = run.len() >= 16
            && run.chars().any(|c| c.is_ascii_digit())
            && run.chars().any(|c| c.is_ascii_alphabetic());
        out.push_str(if looks_secret { "[redacted]" } else { run });
        run.clear();
    };
    for c in text.chars() {
        if is_token_char(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// A short, single-line excerpt of a body: JSON with sensitive members replaced, anything else
/// with whitespace collapsed; every string in `secrets` removed; at most 200 characters.
pub fn excerpt(body: &str, secrets: &[&str]) -> String {
    let mut text = match serde_json::from_str::<Value>(body) {
        Ok(mut json) => {
            redact_value(&mut json);
            json.to_string()
        }
        Err(_) => redact_token_like(&body.split_whitespace().collect::<Vec<_>>().join(" ")),
    };
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        text = text.replace(secret, "[redacted]");
    }
    if text.is_empty() {
        return "(empty)".into();
    }
    match text.char_indices().nth(MAX_EXCERPT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_tokens_and_known_secrets() {
        let body = r#"{"access_token":"abc123","error":"invalid_grant","detail":"key k-9999 bad"}"#;
        let out = excerpt(body, &["k-9999"]);
        assert!(!out.contains("abc123"), "{out}");
        assert!(!out.contains("k-9999"), "{out}");
        assert!(out.contains("invalid_grant"), "{out}");
        let html = "<html>\n  <body>Bad   Gateway</body>\n</html>";
        assert_eq!(
            excerpt(html, &[]),
            "<html> <body>Bad Gateway</body> </html>"
        );
        assert_eq!(excerpt("", &[]), "(empty)");
        let cut = r#"{"access_token": {"token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln", "expires_in": 36"#;
        let out = excerpt(cut, &[]);
        assert!(!out.contains("eyJhbGciOiJIUzI1NiJ9"), "{out}");
        assert!(out.contains("expires_in"), "{out}");
        assert!(excerpt(&"x".repeat(500), &[]).chars().count() <= 201);
    }
}
