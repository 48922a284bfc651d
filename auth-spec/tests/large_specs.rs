//! Validation is linear in the file's size (issue 8, item 20: 10k credentials took 3.4 s, 40k
//! 41.2 s). Wall-clock time is not asserted (machines are noisy); instead these check, on large
//! generated specs, that every problem is still found at its place, and that what is reported
//! stays proportional to the file (a hint listing every declared name in each of N diagnostics
//! is N² bytes, and took N² time to build).

use std::fmt::Write as _;

const HEAD: &str = "title: Big
environments:
  production: { base_url: https://api.example.com }
default_environment: production
credentials:
";

/// Lines before the first credential.
const HEAD_LINES: usize = 5;

const TAIL: &str = "  response:
    access_token: $.token
    access_token_expiry: [ { expires_in: { path: $.expires_in } } ]
    examples: [ { body: { token: abc, expires_in: 3600 } } ]
policy: { refresh: after_expiry }
usage:
  headers: { Authorization: \"Bearer ${session.access_token}\" }
";

/// A spec with `declared` credentials and a login body sending `${credentials.NAME}` for each
/// name of `sent`.
fn spec(declared: usize, sent: &[String]) -> String {
    let mut out = String::from(HEAD);
    for i in 0..declared {
        writeln!(out, "  cred_{i:05}: {{ description: credential {i} }}").expect("write");
    }
    out.push_str("login:\n  method: POST\n  path: /login\n  encoding: json\n  body:\n");
    for (i, name) in sent.iter().enumerate() {
        writeln!(out, "    f{i:05}: \"${{credentials.{name}}}\"").expect("write");
    }
    out.push_str(TAIL);
    out
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("cred_{i:05}")).collect()
}

#[test]
fn forty_thousand_credentials_all_used_validate() {
    let n = 40_000;
    let text = spec(n, &names(n));
    let parsed = auth_spec::parse("big.yaml", &text).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(parsed.credentials.len(), n);
    assert_eq!(parsed.credentials[n - 1].env, "BIG_CRED_39999");
    let body = parsed.login.request.body.expect("body");
    assert_eq!(body.templates().len(), n);
}

#[test]
fn forty_thousand_unused_credentials_are_each_reported_at_their_line() {
    let n = 40_000;
    let text = spec(n, &names(1));
    let diags = auth_spec::parse("big.yaml", &text).expect_err("unused credentials");
    assert_eq!(diags.len(), n - 1);
    for (i, d) in diags.iter().enumerate() {
        let credential = i + 1;
        assert_eq!(
            (d.line, d.column),
            ((HEAD_LINES + credential + 1) as u64, 3),
            "{d}"
        );
        assert!(
            d.message.contains(&format!("`cred_{credential:05}`")),
            "{d}"
        );
    }
    let report = diags.to_string();
    assert!(
        report.len() < 200 * diags.len(),
        "{} bytes for {} problems",
        report.len(),
        diags.len()
    );
}

#[test]
fn many_unknown_credentials_are_each_reported_with_a_bounded_hint() {
    // Names unlike any declared one: no "did you mean", so the hint lists declared names.
    let (declared, unknown) = (10_000, 10_000);
    let sent: Vec<String> = (0..unknown).map(|i| format!("zq{i}")).collect();
    let text = spec(declared, &sent);
    let diags = auth_spec::parse("big.yaml", &text).expect_err("unknown credentials");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(diags.len(), unknown);
    for (i, d) in diags.iter().enumerate() {
        let line = HEAD_LINES + declared + 5 + i + 1;
        let column = lines[line - 1].find("${").expect("placeholder") + 1;
        assert_eq!((d.line, d.column), (line as u64, column as u64), "{d}");
        assert!(
            d.message.contains(&format!("`${{credentials.zq{i}}}`")),
            "{d}"
        );
        let hint = d.hint.as_deref().unwrap_or_default();
        assert!(
            hint.starts_with("declared credentials: cred_00000, cred_00001"),
            "{hint}"
        );
        assert!(hint.contains("and 9990 more"), "{hint}");
    }
    let report = diags.to_string();
    assert!(
        report.len() < 400 * diags.len(),
        "{} bytes for {} problems: each hint lists every declared name",
        report.len(),
        diags.len()
    );
    // A close misspelling still gets its suggestion.
    let mut sent = names(declared);
    sent[7] = "cred_0007".into();
    let text = spec(declared, &sent);
    let diags = auth_spec::parse("big.yaml", &text).expect_err("one misspelt");
    let suggested: Vec<&str> = diags.iter().filter_map(|d| d.hint.as_deref()).collect();
    assert!(
        suggested
            .iter()
            .any(|h| h.starts_with("did you mean `cred_")),
        "{suggested:?}"
    );
}

#[test]
fn many_shared_environment_variables_are_each_reported_naming_the_first_user() {
    let n = 20_000;
    let mut text = String::from(HEAD);
    for i in 0..n {
        // Pairs of credentials share one variable.
        writeln!(text, "  cred_{i:05}: {{ env: SHARED_{:05} }}", i / 2).expect("write");
    }
    text.push_str("login:\n  method: POST\n  path: /login\n  encoding: json\n  body:\n");
    for (i, name) in names(n).iter().enumerate() {
        writeln!(text, "    f{i:05}: \"${{credentials.{name}}}\"").expect("write");
    }
    text.push_str(TAIL);
    let diags = auth_spec::parse("big.yaml", &text).expect_err("shared variables");
    assert_eq!(diags.len(), n / 2);
    for (k, d) in diags.iter().enumerate() {
        let second = 2 * k + 1;
        assert_eq!(d.line, (HEAD_LINES + second + 1) as u64, "{d}");
        assert!(
            d.message.contains(&format!(
                "`SHARED_{k:05}` is already used by credential `cred_{:05}` (line {}",
                second - 1,
                HEAD_LINES + second
            )),
            "{d}"
        );
    }
}

#[test]
fn many_headers_are_checked_for_case_insensitive_repeats() {
    let n = 20_000;
    let mut text = spec(1, &names(1)).replace(
        "  headers: { Authorization: \"Bearer ${session.access_token}\" }\n",
        "  headers:\n    Authorization: \"Bearer ${session.access_token}\"\n",
    );
    for i in 0..n {
        writeln!(text, "    X-Header-{i}: v{i}").expect("write");
    }
    writeln!(text, "    x-header-{}: again", n / 2).expect("write");
    let diags = auth_spec::parse("big.yaml", &text).expect_err("a repeated header");
    assert_eq!(diags.len(), 1, "{diags}");
    assert!(
        diags.0[0]
            .message
            .contains(&format!("header `x-header-{}` is given twice", n / 2)),
        "{diags}"
    );
}
