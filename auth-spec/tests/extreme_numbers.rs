//! Vendor numbers at the edges: every expiry source must turn any number into a typed error or a
//! clamped time, never a panic (issue 8, item 10). Absolute times later than
//! 9999-12-30T22:00:00Z (the latest instant jiff writes in every zone) are clamped to that
//! instant; times before 1970 and non-numbers are `BadExpiry`; relative lifetimes above 1e10 s
//! are `BadExpiry`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth_spec::extract::{Answer, Expiry, ExtractError};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// A spec whose login answer is `{"token": ..., "v": ...}` and whose access expiry is `source`.
fn spec(source: &str, example_v: &str) -> auth_spec::ProviderSpec {
    let yaml = format!(
        r#"
title: Extreme
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
    access_token: $.token
    access_token_expiry: [ {source} ]
    examples: [ {{ body: {{ token: {token}, v: {example_v} }} }} ]
policy: {{ refresh: after_expiry }}
usage:
  headers: {{ Authorization: "Bearer ${{session.access_token}}" }}
"#,
        token = jwt("1767225600"),
    );
    auth_spec::parse("extreme.yaml", &yaml).unwrap_or_else(|d| panic!("{d}"))
}

/// A compact JWT whose payload is `{"exp": RAW}`, RAW written into the JSON as is.
fn jwt(raw_exp: &str) -> String {
    format!(
        "{}.{}.sig",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#),
        URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{raw_exp}}}"#))
    )
}

/// What a case must give.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    /// `Expiry::At` this many milliseconds after the epoch.
    AtMs(u64),
    /// `Expiry::At` the latest instant (9999-12-31T23:59:59Z).
    Latest,
    /// `Expiry::In` this many milliseconds.
    InMs(u64),
    /// `ExtractError::BadExpiry`.
    Bad,
    /// No expiry learned (the source did not yield).
    Unknown,
}

/// 9999-12-30T22:00:00Z.
const LATEST_S: u64 = 253_402_207_200;

fn latest_expiry() -> SystemTime {
    let latest = auth_spec::timefmt::latest_expiry();
    assert_eq!(latest, UNIX_EPOCH + Duration::from_secs(LATEST_S));
    latest
}

fn at_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

/// Runs one case; `Err` describes a panic or a wrong outcome. `label` names the value.
fn run(
    kind: &str,
    label: &str,
    spec: &auth_spec::ProviderSpec,
    token: &str,
    raw_v: &str,
    want: Want,
) -> Result<(), String> {
    let answer = Answer {
        status: 200,
        headers: vec![],
        body: format!(r#"{{"token":"{token}","v":{raw_v}}}"#),
    };
    let outcome = catch_unwind(AssertUnwindSafe(|| spec.login.response.extract(&answer)));
    let got = match outcome {
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            return Err(format!("{kind} {label}: panicked: {message}"));
        }
        Ok(got) => got,
    };
    let ok = match (&got, want) {
        (Ok(e), Want::AtMs(ms)) => e.access_expiry == Expiry::At(at_ms(ms)),
        (Ok(e), Want::Latest) => e.access_expiry == Expiry::At(latest_expiry()),
        (Ok(e), Want::InMs(ms)) => e.access_expiry == Expiry::In(Duration::from_millis(ms)),
        (Ok(e), Want::Unknown) => e.access_expiry == Expiry::Unknown,
        (Err(ExtractError::BadExpiry { .. }), Want::Bad) => true,
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{kind} {label}: want {want:?}, got {:?}",
            got.map(|e| e.access_expiry)
        ))
    }
}

const STRANGE: &[(&str, Want)] = &[
    (r#""NaN""#, Want::Bad),
    (r#""inf""#, Want::Bad),
    (r#""-inf""#, Want::Bad),
    (r#""1e400""#, Want::Bad),
    (r#""soon""#, Want::Bad),
    ("true", Want::Bad),
    ("[1]", Want::Bad),
];

#[test]
fn extreme_values_of_every_source_kind_give_a_typed_error_or_a_clamp() {
    let mut failures = Vec::new();
    let mut total = 0;
    let mut check = |kind: &str, spec: &auth_spec::ProviderSpec, cases: &[(&str, Want)]| {
        for (raw, want) in cases {
            total += 1;
            if let Err(e) = run(kind, raw, spec, "opaque", raw, *want) {
                failures.push(e);
            }
        }
    };

    let seconds = spec("{ expires_in: { path: $.v } }", "3600");
    let mut cases = vec![
        ("3600", Want::InMs(3_600_000)),
        ("0", Want::InMs(0)),
        ("1.5", Want::InMs(1500)),
        ("1e10", Want::InMs(10_000_000_000_000)),
        ("1e-300", Want::InMs(0)),
        ("10000000001", Want::Bad),
        ("1e19", Want::Bad),
        ("1e20", Want::Bad),
        ("1e300", Want::Bad),
        ("18446744073709551615", Want::Bad),
        ("-9223372036854775808", Want::Bad),
        ("-1", Want::Bad),
        ("-0.001", Want::Bad),
    ];
    cases.extend_from_slice(STRANGE);
    check("expires_in s", &seconds, &cases);

    let millis = spec(
        "{ expires_in: { path: $.v, unit: milliseconds } }",
        "3600000",
    );
    let mut cases = vec![
        ("3600000", Want::InMs(3_600_000)),
        ("1e13", Want::InMs(10_000_000_000_000)),
        ("10000000001000", Want::Bad),
        ("1e19", Want::Bad),
        ("1e20", Want::Bad),
        ("1e300", Want::Bad),
        ("18446744073709551615", Want::Bad),
        ("-9223372036854775808", Want::Bad),
        ("-1", Want::Bad),
    ];
    cases.extend_from_slice(STRANGE);
    check("expires_in ms", &millis, &cases);

    let epoch_s = spec(
        "{ expires_at: { path: $.v, format: epoch_seconds } }",
        "1767225600",
    );
    let mut cases = vec![
        ("1767225600", Want::AtMs(1_767_225_600_000)),
        (r#""1767225600""#, Want::AtMs(1_767_225_600_000)),
        ("0", Want::AtMs(0)),
        ("1767225600.25", Want::AtMs(1_767_225_600_250)),
        ("253402207199", Want::AtMs((LATEST_S - 1) * 1000)),
        ("253402207200", Want::Latest),
        ("253402300799", Want::Latest),
        ("1e11", Want::AtMs(100_000_000_000_000)),
        ("1e12", Want::Latest),
        ("1e19", Want::Latest),
        ("1e20", Want::Latest),
        ("1e300", Want::Latest),
        ("18446744073709551615", Want::Latest),
        ("9223372036854775807", Want::Latest),
        ("-9223372036854775808", Want::Bad),
        ("-1", Want::Bad),
        ("-1e300", Want::Bad),
    ];
    cases.extend_from_slice(STRANGE);
    check("expires_at epoch s", &epoch_s, &cases);

    let epoch_ms = spec(
        "{ expires_at: { path: $.v, format: epoch_milliseconds } }",
        "1767225600000",
    );
    let mut cases = vec![
        ("1767229201123", Want::AtMs(1_767_229_201_123)),
        ("0", Want::AtMs(0)),
        ("253402207199999", Want::AtMs(LATEST_S * 1000 - 1)),
        ("253402207200000", Want::Latest),
        ("253402300799000", Want::Latest),
        ("1e19", Want::Latest),
        ("1e20", Want::Latest),
        ("1e300", Want::Latest),
        ("18446744073709551615", Want::Latest),
        ("-9223372036854775808", Want::Bad),
        ("-1", Want::Bad),
    ];
    cases.extend_from_slice(STRANGE);
    check("expires_at epoch ms", &epoch_ms, &cases);

    let rfc3339 = spec(
        "{ expires_at: { path: $.v, format: rfc3339 } }",
        "\"2026-01-01T00:00:00Z\"",
    );
    let cases = [
        (r#""2026-01-01T00:00:00Z""#, Want::AtMs(1_767_225_600_000)),
        (r#""1970-01-01T00:00:00Z""#, Want::AtMs(0)),
        (
            r#""9999-12-30T21:59:59Z""#,
            Want::AtMs((LATEST_S - 1) * 1000),
        ),
        (r#""9999-12-30T22:00:00Z""#, Want::Latest),
        (r#""9999-12-31T23:59:59Z""#, Want::Latest),
        (r#""9999-12-31T23:59:59.999999999Z""#, Want::Latest),
        (r#""9999-12-31T23:59:59-23:59""#, Want::Latest),
        (r#""9999-12-31T23:59:59+23:59""#, Want::Latest),
        (r#""+10000-01-01T00:00:00Z""#, Want::Bad),
        (r#""1969-12-31T23:59:59Z""#, Want::Bad),
        (r#""-009999-01-01T00:00:00Z""#, Want::Bad),
        (r#""0000-01-01T00:00:00Z""#, Want::Bad),
        ("1767225600", Want::Bad),
        (r#""NaN""#, Want::Bad),
    ];
    check("expires_at rfc3339", &rfc3339, &cases);

    let http_date = spec(
        "{ expires_at: { path: $.v, format: http_date } }",
        "\"Thu, 01 Jan 2026 00:00:00 GMT\"",
    );
    let cases = [
        (
            r#""Thu, 01 Jan 2026 00:00:00 GMT""#,
            Want::AtMs(1_767_225_600_000),
        ),
        (
            r#""Thu, 30 Dec 9999 21:59:59 GMT""#,
            Want::AtMs((LATEST_S - 1) * 1000),
        ),
        (r#""Fri, 31 Dec 9999 23:59:59 GMT""#, Want::Latest),
        (r#""Wed, 31 Dec 1969 23:59:59 GMT""#, Want::Bad),
    ];
    check("expires_at http_date", &http_date, &cases);

    let pattern = spec(
        r#"{ expires_at: { path: $.v, format: pattern, pattern: "%Y-%m-%d %H:%M:%S", timezone: Europe/Warsaw } }"#,
        "\"2026-01-01 01:00:00\"",
    );
    let cases = [
        (r#""2026-01-01 01:00:00""#, Want::AtMs(1_767_225_600_000)),
        (
            r#""9999-12-30 22:59:59""#,
            Want::AtMs((LATEST_S - 1) * 1000),
        ),
        (r#""9999-12-31 23:59:59""#, Want::Latest),
        (r#""1970-01-01 00:59:59""#, Want::Bad),
        (r#""0000-01-01 00:00:00""#, Want::Bad),
        (r#""9999-13-01 00:00:00""#, Want::Bad),
    ];
    check("expires_at pattern", &pattern, &cases);

    // The JWT's `exp` claim: the number is written into the token's payload as is.
    let jwt_spec = spec("jwt_exp", "0");
    let jwt_cases: &[(&str, Want)] = &[
        ("1767225600", Want::AtMs(1_767_225_600_000)),
        ("1767225600.5", Want::AtMs(1_767_225_600_500)),
        ("0", Want::AtMs(0)),
        ("253402207199", Want::AtMs((LATEST_S - 1) * 1000)),
        ("253402300799", Want::Latest),
        ("1e12", Want::Latest),
        ("1e19", Want::Latest),
        ("1e20", Want::Latest),
        ("1e300", Want::Latest),
        ("18446744073709551615", Want::Latest),
        ("9223372036854775807", Want::Latest),
        ("-9223372036854775808", Want::Bad),
        ("-1", Want::Bad),
        ("-1e300", Want::Bad),
        // Not a number: the claim does not yield, as for a token without `exp`.
        (r#""1e19""#, Want::Unknown),
        ("null", Want::Unknown),
    ];
    for (raw, want) in jwt_cases {
        total += 1;
        if let Err(e) = run("jwt exp", raw, &jwt_spec, &jwt(raw), "0", *want) {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Deterministic pseudo-random numbers (xorshift), so the loop below is the same on every run.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn random_numbers_never_panic_and_stay_in_range() {
    let specs = [
        spec("{ expires_in: { path: $.v } }", "3600"),
        spec(
            "{ expires_in: { path: $.v, unit: milliseconds } }",
            "3600000",
        ),
        spec(
            "{ expires_at: { path: $.v, format: epoch_seconds } }",
            "1767225600",
        ),
        spec(
            "{ expires_at: { path: $.v, format: epoch_milliseconds } }",
            "1767225600000",
        ),
        spec("jwt_exp", "0"),
    ];
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut failures = Vec::new();
    for _ in 0..4000 {
        let bits = next(&mut state);
        // Raw bit patterns cover every exponent; integers cover u64 / i64 edges.
        let float = f64::from_bits(bits);
        let raws = [
            if float.is_finite() {
                format!("{float:e}")
            } else {
                format!("\"{float}\"")
            },
            bits.to_string(),
            (bits as i64).to_string(),
            (bits >> (bits % 64)).to_string(),
        ];
        for raw in &raws {
            for (i, spec) in specs.iter().enumerate() {
                let (token, v) = if i == 4 {
                    (jwt(raw), "0")
                } else {
                    ("opaque".to_owned(), raw.as_str())
                };
                let answer = Answer {
                    status: 200,
                    headers: vec![],
                    body: format!(r#"{{"token":"{token}","v":{v}}}"#),
                };
                match catch_unwind(AssertUnwindSafe(|| spec.login.response.extract(&answer))) {
                    Err(_) => failures.push(format!("source {i}, value {raw}: panicked")),
                    Ok(Ok(e)) => {
                        let in_range = match e.access_expiry {
                            Expiry::At(at) | Expiry::AtEarliest(at) => {
                                at >= UNIX_EPOCH && at <= latest_expiry()
                            }
                            Expiry::In(d) => d <= Duration::from_secs(10_000_000_000),
                            Expiry::Unknown => true,
                            Expiry::SinceLogin(_) => false,
                        };
                        if !in_range {
                            failures.push(format!(
                                "source {i}, value {raw}: out of range {:?}",
                                e.access_expiry
                            ));
                        }
                    }
                    Ok(Err(ExtractError::BadExpiry { .. })) => {}
                    Ok(Err(other)) => failures.push(format!("source {i}, value {raw}: {other}")),
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures, first: {:?}",
        failures.len(),
        &failures[..failures.len().min(10)]
    );
}

#[test]
fn declared_lifetimes_are_at_most_ten_years() {
    // Answers may say up to 1e10 s (a vendor's "never"); a spec declares at most `3650d`.
    for (lifetime, ok) in [
        ("3650d", true),
        ("3651d", false),
        ("3650d 1ms", false),
        ("584942417355d", false),
        ("99999999999999999999999999999999999999999d", false),
    ] {
        let yaml = format!(
            r#"
title: Extreme
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
    access_token: $.token
    access_token_expiry: [ {{ lifetime: {lifetime} }} ]
    examples: [ {{ body: {{ token: abc }} }} ]
policy: {{ refresh: after_expiry }}
usage:
  headers: {{ Authorization: "Bearer ${{session.access_token}}" }}
"#
        );
        let result = auth_spec::parse("extreme.yaml", &yaml);
        assert_eq!(result.is_ok(), ok, "{lifetime}: {result:?}");
        if let Err(d) = result {
            assert!(d.to_string().contains("extreme.yaml:15:"), "{d}");
        }
    }
}
