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
                // A vendor's error `code` that is a number or a boolean (`"code": 7`) is not a
                // secret and tells the user what went wrong; an OAuth authorization `code` is a
                // string.
                let plain_code = k.to_ascii_lowercase().contains("code")
                    && !k.to_ascii_lowercase().contains("token")
                    && matches!(v, Value::Number(_) | Value::Bool(_));
                if is_sensitive_key(k) && !v.is_null() && !plain_code {
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

/// Every form a secret may take in a vendor's echo of the request that carried it: as is,
/// JSON-escaped (also `\uXXXX` for non-ASCII and `\/` for slashes, as PHP and Python write
/// it), form- and URL-encoded (`+` or `%20` for a space, either case of hex digits), and in
/// base64. Longest first, so that a form containing a shorter one is replaced whole.
fn secret_forms(secrets: &[&str]) -> Vec<String> {
    use base64::Engine as _;
    let mut forms = Vec::new();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        let json = serde_json::to_string(secret).unwrap_or_default();
        let json = json
            .strip_prefix('"')
            .and_then(|j| j.strip_suffix('"'))
            .unwrap_or(&json)
            .to_owned();
        let ascii_lower = ascii_escaped(&json, false);
        let ascii_upper = ascii_escaped(&json, true);
        let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        let component = uri_component(secret);
        let b64 = base64::engine::general_purpose::STANDARD.encode(secret);
        let mut mine = vec![
            (*secret).to_owned(),
            json.replace('/', "\\/"),
            ascii_lower.replace('/', "\\/"),
            ascii_upper.replace('/', "\\/"),
            json,
            ascii_lower,
            ascii_upper,
            form.replace('+', "%20"),
            form,
            component,
            b64.trim_end_matches('=').to_owned(),
            b64,
        ];
        // Percent-encodings with lower-case hex digits too.
        let lower: Vec<String> = mine[7..10].iter().map(|f| lower_hex(f)).collect();
        mine.extend(lower);
        forms.extend(mine);
    }
    forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    forms.dedup();
    forms
}

/// JSON text with every non-ASCII character as `\uXXXX` (UTF-16 units).
fn ascii_escaped(json: &str, upper: bool) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&if upper {
                    format!("\\u{unit:04X}")
                } else {
                    format!("\\u{unit:04x}")
                });
            }
        }
    }
    out
}

/// Percent-encoding as JavaScript's `encodeURIComponent` writes it.
fn uri_component(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `%C3%BC` -> `%c3%bc`.
fn lower_hex(encoded: &str) -> String {
    let mut out = String::with_capacity(encoded.len());
    let mut rest = encoded;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let code = rest.get(at..at + 3).unwrap_or(&rest[at..]);
        out.push_str(&code.to_ascii_lowercase());
        rest = &rest[at + code.len()..];
    }
    out.push_str(rest);
    out
}

fn scrub(text: &str, forms: &[String]) -> String {
    let mut text = text.to_owned();
    for form in forms {
        if text.contains(form.as_str()) {
            text = text.replace(form.as_str(), "[redacted]");
        }
    }
    text
}

/// Scrubs every key and string of a JSON value: an echo may hold the request as text inside
/// a string, where the secret is one escaping level deeper than in the serialized answer.
fn scrub_json(value: &mut Value, forms: &[String]) {
    match value {
        Value::String(s) => *s = scrub(s, forms),
        Value::Array(items) => items.iter_mut().for_each(|v| scrub_json(v, forms)),
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (key, mut v) in entries {
                scrub_json(&mut v, forms);
                map.insert(scrub(&key, forms), v);
            }
        }
        _ => {}
    }
}

/// A short, single-line excerpt of a body: JSON with sensitive members replaced, anything else
/// with whitespace collapsed; every string in `secrets` removed in every form a request may
/// have carried it in (see [`secret_forms`]); at most 200 characters.
pub fn excerpt(body: &str, secrets: &[&str]) -> String {
    let forms = secret_forms(secrets);
    let text = match serde_json::from_str::<Value>(body) {
        Ok(mut json) => {
            redact_value(&mut json);
            scrub_json(&mut json, &forms);
            scrub(&json.to_string(), &forms)
        }
        // Scrubbed before the whitespace is collapsed (a secret may hold spaces or tabs) and
        // before token-like runs are cut (which could leave part of a secret behind).
        Err(_) => {
            let collapsed = scrub(body, &forms)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            redact_token_like(&scrub(&collapsed, &forms))
        }
    };
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
    fn a_numeric_vendor_code_is_shown_and_a_string_code_is_not() {
        let out = excerpt(
            r#"{"result":{"code":7,"text":"Invalid API key"},"auth":{"code":"SplxlOBeZQQYbYS6WxSbIA"}}"#,
            &[],
        );
        assert!(out.contains(r#""code":7"#), "{out}");
        assert!(out.contains("Invalid API key"), "{out}");
        assert!(!out.contains("SplxlOBeZQQYbYS6WxSbIA"), "{out}");
    }

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

    #[test]
    fn every_encoded_form_of_a_secret_is_removed() {
        let secret = "p@ss wörd/\"&=%";
        for echo in [
            r#"got {"password":"p@ss wörd/\"&=%"} here"#,
            r#"{"echo": "{\"password\":\"p@ss w\\u00f6rd\\/\\\"&=%\"}"}"#,
            r#"{"echo": "{\"password\":\"p@ss w\u00F6rd/\\\"&=%\"}"}"#,
            "body=user=a&password=p%40ss+w%C3%B6rd%2F%22%26%3D%25",
            "query: password=p%40ss%20w%c3%b6rd%2f%22%26%3d%25",
            "auth: Basic cEBzcyB3w7ZyZC8iJj0l",
        ] {
            let out = excerpt(echo, &[secret]);
            assert!(out.contains("[redacted]"), "{echo} -> {out}");
            for piece in ["p@ss", "ss w", "p%40", "cEBzcy", "w%C3", "w%c3", "\\u00f6"] {
                assert!(!out.contains(piece), "{echo} -> {out}");
            }
        }
    }
}
