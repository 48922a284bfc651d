//! The simulator computes every absolute time in its answers from the simulated lifetimes, never
//! copies the example's (a date in the past): without `session_ttl` a refresh token lasts long
//! into the future, so after the access token expires the engine refreshes instead of logging
//! in again (issue 8, item 22).

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use auth_mock::{MockOptions, MockServer};
use auth_runtime::auth_spec::{self, ProviderSpec};

/// How the refresh token's expiry is written, with a past example value (2026-01-02).
const REFRESH_EXPIRY: &[(&str, &str, &str)] = &[
    (
        "epoch_ms",
        "{ expires_at: { path: $.refresh_until, format: epoch_milliseconds } }",
        "refresh_until: 1767315600000",
    ),
    (
        "epoch_s",
        "{ expires_at: { path: $.refresh_until, format: epoch_seconds } }",
        "refresh_until: 1767315600",
    ),
    (
        "rfc3339",
        "{ expires_at: { path: $.refresh_until, format: rfc3339 } }",
        "refresh_until: \"2026-01-02T01:00:00Z\"",
    ),
    (
        "pattern",
        "{ expires_at: { path: $.refresh_until, format: pattern, pattern: \"%Y-%m-%d %H:%M:%S\", timezone: Europe/Berlin } }",
        "refresh_until: \"2026-01-02 01:00:00\"",
    ),
    (
        "http_date",
        "{ expires_at: { path: \"@header:X-Refresh-Until\", format: http_date } }",
        "",
    ),
    (
        "expires_in",
        "{ expires_in: { path: $.refresh_in } }",
        "refresh_in: 1",
    ),
];

/// A vendor whose login and refresh answers carry an absolute access expiry (Java ms, as
/// Apiax's refresh answer) and the refresh expiry as `source` says.
fn spec(source: &str, field: &str) -> Arc<ProviderSpec> {
    let fields = if field.is_empty() {
        String::new()
    } else {
        format!(", {field}")
    };
    let yaml = format!(
        r#"
title: Times
environments:
  production: {{ base_url: https://api.example.com }}
default_environment: production
credentials:
  api_key: {{ description: The API key }}
login:
  method: POST
  path: /login
  encoding: json
  body: {{ api_key: "${{credentials.api_key}}" }}
  response:
    access_token: $.token
    refresh_token: $.refresh
    access_token_expiry: [ {{ expires_at: {{ path: $.expires_at, format: epoch_milliseconds }} }} ]
    refresh_token_expiry: [ {source} ]
    examples:
      - headers: {{ X-Refresh-Until: "Fri, 02 Jan 2026 00:00:00 GMT" }}
        body: {{ token: a, refresh: r, expires_at: 1767227400000{fields} }}
refresh:
  method: POST
  path: /refresh
  encoding: json
  body: {{ refresh: "${{session.refresh_token}}" }}
  response:
    access_token: $.token
    refresh_token: $.refresh
    access_token_expiry: [ {{ expires_at: {{ path: $.expires_at, format: epoch_milliseconds }} }} ]
    refresh_token_expiry: [ {source} ]
    examples:
      - headers: {{ X-Refresh-Until: "Fri, 02 Jan 2026 00:00:00 GMT" }}
        body: {{ token: b, refresh: s, expires_at: 1767227400000{fields} }}
policy: {{ refresh: after_expiry, rotation: rotates }}
usage:
  headers: {{ Authorization: "Bearer ${{session.access_token}}" }}
"#
    );
    Arc::new(auth_spec::parse("times.yaml", &yaml).unwrap_or_else(|d| panic!("{d}")))
}

/// The engine against the simulator: login, access expiry, then one more token.
async fn run(
    kind: &str,
    spec: Arc<ProviderSpec>,
    session_ttl: Option<Duration>,
) -> Result<(), String> {
    let access_ttl = Duration::from_secs(1);
    let options = MockOptions {
        port: 0,
        access_ttl,
        session_ttl,
    };
    let mock = MockServer::start(Arc::clone(&spec), options)
        .await
        .map_err(|e| format!("{kind}: {e}"))?;
    let auth = common::builder(&mock, spec)
        .build()
        .map_err(|e| format!("{kind}: {e}"))?;
    let before = SystemTime::now();
    auth.access_token()
        .await
        .map_err(|e| format!("{kind}: login: {e}"))?;
    let status = auth.status().await.map_err(|e| e.to_string())?;
    let session = status.session.ok_or(format!("{kind}: no session"))?;
    // The refresh expiry is the simulated one: the session's end, or far in the future.
    let mut problems = Vec::new();
    let want = before + session_ttl.unwrap_or(Duration::from_secs(300 * 86_400));
    let slack = Duration::from_secs(2);
    let right = session
        .refresh_expires_at
        .is_some_and(|at| match session_ttl {
            Some(_) => at + slack >= want && at <= want + slack,
            None => at >= want,
        });
    if !right {
        problems.push(format!(
            "{kind}: refresh expiry {:?}, want about {want:?} (session_ttl {session_ttl:?})",
            session.refresh_expires_at
        ));
    }
    let right = session
        .access_expires_at
        .is_some_and(|at| at + slack >= before + access_ttl && at <= before + access_ttl + slack);
    if !right {
        problems.push(format!(
            "{kind}: access expiry {:?}",
            session.access_expires_at
        ));
    }
    tokio::time::sleep(access_ttl + Duration::from_millis(300)).await;
    auth.access_token()
        .await
        .map_err(|e| format!("{kind}: after expiry: {e}"))?;
    let stats = mock.stats();
    if (stats.logins, stats.refreshes) != (1, 1) {
        problems.push(format!(
            "{kind} (session_ttl {session_ttl:?}): after access expiry {} login(s) and {} refresh(es), want 1 and 1",
            stats.logins, stats.refreshes
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_access_expiry_the_engine_refreshes_for_every_refresh_expiry_format() {
    let mut runs = Vec::new();
    for (kind, source, field) in REFRESH_EXPIRY {
        for session_ttl in [None, Some(Duration::from_secs(3600))] {
            let spec = spec(source, field);
            runs.push(tokio::spawn(run(kind, spec, session_ttl)));
        }
    }
    let mut failures = Vec::new();
    for handle in runs {
        if let Err(e) = handle.await.expect("joins") {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_token_read_as_a_jwt_carries_the_simulated_expiry() {
    let spec = spec("jwt_exp", "");
    for session_ttl in [None, Some(Duration::from_secs(3600))] {
        run("jwt_exp", Arc::clone(&spec), session_ttl)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
}
