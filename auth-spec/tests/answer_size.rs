//! `policy.max_answer_size`: the cap on token answers (issue 8, item 11). Its default, its
//! syntax and its range; positions of bad values are checked by the `tests/invalid` fixtures.

fn spec_with(
    policy_line: &str,
) -> Result<auth_spec::ProviderSpec, auth_spec::diagnostic::Diagnostics> {
    let source = format!(
        r#"title: Example
environments:
  production: {{ base_url: https://api.example.com }}
default_environment: production
credentials:
  api_key: {{}}
login:
  method: POST
  path: /login
  encoding: json
  body: {{ api_key: "${{credentials.api_key}}" }}
  response:
    access_token: $.access_token
    access_token_expiry: [ {{ expires_in: {{ path: $.expires_in }} }} ]
    examples: [ {{ body: {{ access_token: abc, expires_in: 3600 }} }} ]
policy:
  refresh: after_expiry
{policy_line}
usage:
  headers: {{ Authorization: "Bearer ${{session.access_token}}" }}
"#
    );
    auth_spec::parse("example.yaml", &source)
}

#[test]
fn the_default_cap_is_one_mebibyte() {
    let spec = spec_with("").expect("valid");
    assert_eq!(spec.policy.max_answer_bytes, 1 << 20);
}

#[test]
fn sizes_are_bytes_or_a_number_with_a_unit() {
    for (text, bytes) in [
        ("65536", 65_536),
        ("64KiB", 64 << 10),
        ("64 KiB", 64 << 10),
        ("2MiB", 2 << 20),
        ("1mib", 1 << 20),
        ("100kB", 100_000),
        ("5MB", 5_000_000),
        ("4096B", 4096),
        ("64MiB", 64 << 20),
        ("1KiB", 1024),
    ] {
        let spec = spec_with(&format!("  max_answer_size: {text}"))
            .unwrap_or_else(|d| panic!("{text}: {d}"));
        assert_eq!(spec.policy.max_answer_bytes, bytes, "{text}");
    }
    for text in [
        "0",
        "1023",
        "65MiB",
        "18446744073709551616",
        "99999999999999999999GiB",
        "-1",
        "1.5MiB",
        "MiB",
        "12 parsecs",
        "\"\"",
    ] {
        let error = spec_with(&format!("  max_answer_size: {text}")).expect_err(text);
        assert!(
            error
                .iter()
                .any(|d| d.message.contains("max_answer_size") || d.message.contains("size")),
            "{text}: {error}"
        );
    }
}
