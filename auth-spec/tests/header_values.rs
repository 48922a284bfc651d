//! Values that go into request headers must be valid header values (RFC 9110 field-value,
//! visible ASCII): a token with CR/LF would inject headers into every API call and into what
//! `auth-cli header` prints (issue 8, item 13). Such an answer is unexpected; the error names
//! the path, never the value.

use auth_spec::extract::{Answer, ExtractError};
use secrecy::ExposeSecret;

/// A spec with a refresh token, a `${response.session_id}` header on API calls and an
/// `${response.note}` value sent only in a query (not a header).
fn spec(access_token: &str) -> auth_spec::ProviderSpec {
    let yaml = format!(
        r#"
title: Headers
environments:
  production: {{ base_url: https://api.example.com }}
default_environment: production
credentials:
  api_key: {{ description: The API key }}
login:
  method: POST
  path: /auth/login
  encoding: json
  body: {{ api_key: "${{credentials.api_key}}" }}
  response:
    access_token: {access_token}
    refresh_token: $.refresh
    refresh_token_expiry: []
    access_token_expiry: [ {{ expires_in: {{ path: $.expires_in }} }} ]
    examples:
      - headers: {{ X-Token: abc }}
        body: {{ token: abc, refresh: def, expires_in: 60, session_id: s1, note: n }}
refresh:
  method: POST
  path: /auth/refresh
  encoding: json
  body: {{ refresh: "${{session.refresh_token}}" }}
  response:
    access_token: {access_token}
    refresh_token: $.refresh
    refresh_token_expiry: []
    access_token_expiry: []
    examples:
      - headers: {{ X-Token: abc }}
        body: {{ token: abc, refresh: def, session_id: s1, note: n }}
policy: {{ refresh: after_expiry, rotation: rotates }}
usage:
  headers:
    Authorization: "Bearer ${{session.access_token}}"
    X-Session: "${{response.session_id}}"
  query: {{ note: "${{response.note}}" }}
"#
    );
    auth_spec::parse("headers.yaml", &yaml).unwrap_or_else(|d| panic!("{d}"))
}

fn answer(fields: &[(&str, &str)], header: Option<&str>) -> Answer {
    let mut body = serde_json::json!({
        "token": "abc", "refresh": "def", "expires_in": 60, "session_id": "s1", "note": "n"
    });
    for (key, value) in fields {
        body[*key] = serde_json::Value::from(*value);
    }
    Answer {
        status: 200,
        headers: header
            .map(|h| vec![("X-Token".to_owned(), h.to_owned())])
            .unwrap_or_default(),
        body: body.to_string(),
    }
}

const HOSTILE: &[&str] = &[
    "abc\r\nX-Injected: 1",
    "abc\nX-Injected: 1",
    "abc\rdef",
    "abc\0def",
    "abc\u{1b}[31mdef",
    "abc\u{7f}",
    "abcé",
    "abc\u{2028}def",
    " abc",
    "abc\t",
];

const FINE: &[&str] = &[
    "abc",
    "a b\tc",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln",
    "!#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
];

fn expect_rejected(
    result: Result<auth_spec::extract::Extracted, ExtractError>,
    path: &str,
    case: &str,
) {
    match result {
        Err(e @ ExtractError::NotAHeaderValue { .. }) => {
            let message = e.to_string();
            assert!(message.contains(path), "{case:?}: {message}");
            assert!(
                !message.contains("abc") && !message.contains("def"),
                "{case:?}: value in {message}"
            );
        }
        other => panic!("{case:?} at {path}: expected NotAHeaderValue, got {other:?}"),
    }
}

#[test]
fn tokens_and_header_values_must_be_valid_header_values() {
    let body_token = spec("$.token");
    let header_token = spec("\"@header:X-Token\"");
    for hostile in HOSTILE {
        for response in [
            &body_token.login.response,
            &body_token.refresh.as_ref().expect("refresh").response,
        ] {
            expect_rejected(
                response.extract(&answer(&[("token", hostile)], None)),
                "$.token",
                hostile,
            );
            expect_rejected(
                response.extract(&answer(&[("refresh", hostile)], None)),
                "$.refresh",
                hostile,
            );
            expect_rejected(
                response.extract(&answer(&[("session_id", hostile)], None)),
                "$.session_id",
                hostile,
            );
        }
        expect_rejected(
            header_token
                .login
                .response
                .extract(&answer(&[], Some(hostile))),
            "@header:X-Token",
            hostile,
        );
        // Sent in a query only (URL-encoded there): not a header value, so not checked.
        body_token
            .login
            .response
            .extract(&answer(&[("note", hostile)], None))
            .unwrap_or_else(|e| panic!("{hostile:?} in a query value: {e}"));
    }
    for fine in FINE {
        let got = body_token
            .login
            .response
            .extract(&answer(
                &[("token", fine), ("refresh", fine), ("session_id", fine)],
                None,
            ))
            .unwrap_or_else(|e| panic!("{fine:?}: {e}"));
        assert_eq!(got.access_token.expose_secret(), *fine);
    }
}

#[test]
fn a_plain_text_token_with_a_line_break_inside_is_rejected() {
    let yaml = r#"
title: Plain
environments:
  production: { base_url: https://api.example.com }
default_environment: production
credentials:
  api_key: { description: The API key }
login:
  method: POST
  path: /auth/login
  encoding: json
  body: { api_key: "${credentials.api_key}" }
  response:
    access_token: "@body"
    access_token_expiry: [ { lifetime: 60s } ]
    examples: [ { body: abc } ]
policy: { refresh: after_expiry }
usage:
  headers: { Authorization: "Bearer ${session.access_token}" }
"#;
    let spec = auth_spec::parse("plain.yaml", yaml).unwrap_or_else(|d| panic!("{d}"));
    let mut answer = answer(&[], None);
    answer.body = "abc\r\nX-Injected: 1\n".into();
    expect_rejected(spec.login.response.extract(&answer), "@body", "plain text");
    // Surrounding white space of a plain-text body is not part of the token.
    answer.body = "  abc\r\n".into();
    let got = spec.login.response.extract(&answer).expect("trimmed");
    assert_eq!(got.access_token.expose_secret(), "abc");
}
