//! `auth-cli demo`: every provider's whole lifecycle, through the real engine, against a
//! simulator built from its spec, with short lifetimes so it finishes in seconds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_mock::PROTECTED_PATH;
use auth_mock::{MockOptions, MockServer, MockStats};
use auth_runtime::Authenticator;
use auth_spec::ProviderSpec;

use crate::output::outln;

/// Lifetime of the simulated access tokens.
const ACCESS_TTL: Duration = Duration::from_secs(2);
/// Extra wait past an expiry.
const PAST: Duration = Duration::from_millis(300);

struct Step {
    name: &'static str,
    ok: bool,
    detail: String,
    requests: u64,
    elapsed: Duration,
}

fn sent(stats: &MockStats) -> u64 {
    stats.logins
        + stats.refreshes
        + stats.api_calls
        + stats.rejected_credentials
        + stats.session_over
        + stats.premature_refreshes
}

/// Runs the demo, printing tables (or one JSON document with `json`); true when every step of
/// every provider passed.
pub async fn run(specs: &[Arc<ProviderSpec>], json: bool) -> bool {
    let started = Instant::now();
    let mut all_ok = true;
    // Providers run side by side (each has its own simulator); tables print in order.
    let runs: Vec<_> = specs
        .iter()
        .map(|spec| {
            let spec = Arc::clone(spec);
            tokio::spawn(async move { provider(&spec).await })
        })
        .collect();
    let mut reports = Vec::new();
    for (spec, run) in specs.iter().zip(runs) {
        let outcome = run
            .await
            .unwrap_or_else(|e| Err(format!("the demo task failed: {e}")));
        all_ok &= outcome
            .as_ref()
            .is_ok_and(|steps| steps.iter().all(|s| s.ok));
        if json {
            reports.push(report(spec, &outcome));
            continue;
        }
        match outcome {
            Ok(steps) => print_table(spec, &steps),
            Err(message) => outln!("{}: could not run: {message}\n", spec.name),
        }
    }
    if json {
        let document = serde_json::json!({
            "passed": all_ok,
            "elapsed_ms": started.elapsed().as_millis() as u64,
            "providers": reports,
        });
        outln!(
            "{}",
            serde_json::to_string_pretty(&document).unwrap_or_default()
        );
        return all_ok;
    }
    outln!(
        "{} in {:.1} s",
        if all_ok {
            "all steps passed"
        } else {
            "SOME STEPS FAILED"
        },
        started.elapsed().as_secs_f64()
    );
    all_ok
}

/// One provider's run as JSON.
fn report(spec: &ProviderSpec, outcome: &Result<Vec<Step>, String>) -> serde_json::Value {
    let (steps, error) = match outcome {
        Ok(steps) => (steps.as_slice(), None),
        Err(message) => (&[][..], Some(message)),
    };
    serde_json::json!({
        "name": spec.name,
        "title": spec.title,
        "passed": error.is_none() && steps.iter().all(|s| s.ok),
        "error": error,
        "steps": steps.iter().map(|s| serde_json::json!({
            "name": s.name,
            "ok": s.ok,
            "requests": s.requests,
            "elapsed_ms": s.elapsed.as_millis() as u64,
            "detail": s.detail,
        })).collect::<Vec<_>>(),
    })
}

fn print_table(spec: &ProviderSpec, steps: &[Step]) {
    outln!("{} ({})", spec.title, spec.name);
    outln!(
        "  {:<44} {:<3} {:>8} {:>9}  detail",
        "step",
        "",
        "requests",
        "time"
    );
    for step in steps {
        outln!(
            "  {:<44} {:<3} {:>8} {:>7}ms  {}",
            step.name,
            if step.ok { "✓" } else { "✗" },
            step.requests,
            step.elapsed.as_millis(),
            step.detail
        );
    }
    outln!();
}

async fn provider(spec: &Arc<ProviderSpec>) -> Result<Vec<Step>, String> {
    let options = MockOptions {
        port: 0,
        access_ttl: ACCESS_TTL,
        session_ttl: None,
    };
    let mock = MockServer::start(Arc::clone(spec), options)
        .await
        .map_err(|e| format!("cannot start the simulator: {e}"))?;
    let auth = Authenticator::builder(Arc::clone(spec), mock.credentials().into_iter().collect())
        .base_url(mock.base_url())
        .build()
        .map_err(|e| e.to_string())?;
    let client = auth.client(auth_runtime::reqwest::Client::new());
    let api = format!("{}{PROTECTED_PATH}", mock.base_url());
    let mut steps = Vec::new();

    let mut step =
        |name: &'static str, before: &MockStats, start: Instant, ok: bool, detail: String| {
            let after = mock.stats();
            steps.push(Step {
                name,
                ok,
                detail,
                requests: sent(&after) - sent(before),
                elapsed: start.elapsed(),
            });
        };

    // 1. Log in.
    let (before, start) = (mock.stats(), Instant::now());
    let result = auth.access_token().await;
    let s = mock.stats();
    step(
        "log in",
        &before,
        start,
        result.is_ok() && s.logins == 1,
        match result {
            Ok(t) => format!("generation {}, logins {}", t.generation(), s.logins),
            Err(e) => e.to_string(),
        },
    );

    // 2. Use the token on an API call; a second call sends no token request.
    let (before, start) = (mock.stats(), Instant::now());
    let status = call(&client, &api).await;
    let again = auth.access_token().await.is_ok();
    let s = mock.stats();
    step(
        "use it on an API call; cached on the next",
        &before,
        start,
        status == Some(200) && again && s.logins == 1 && s.refreshes == 0,
        format!("HTTP {}", status.map_or("error".into(), |s| s.to_string())),
    );

    let refreshes = spec.refresh.is_some();
    // 3. Expiry: refresh (or log in again when the vendor has no refresh).
    tokio::time::sleep(ACCESS_TTL + PAST).await;
    let (before, start) = (mock.stats(), Instant::now());
    let result = auth.access_token().await;
    let s = mock.stats();
    let ok = result.is_ok()
        && if refreshes {
            s.refreshes == 1 && s.logins == 1
        } else {
            s.logins == 2
        }
        && s.premature_refreshes == 0;
    step(
        if refreshes {
            "token expires: refresh, not a new login"
        } else {
            "token expires: log in again (no refresh)"
        },
        &before,
        start,
        ok,
        result.map_or_else(
            |e| e.to_string(),
            |t| {
                format!(
                    "generation {}, premature refreshes {}",
                    t.generation(),
                    s.premature_refreshes
                )
            },
        ),
    );

    // 4. Rotation: the next refresh sends the newest refresh token, never a spent one.
    if refreshes {
        tokio::time::sleep(ACCESS_TTL + PAST).await;
        let (before, start) = (mock.stats(), Instant::now());
        let result = auth.access_token().await;
        let s = mock.stats();
        step(
            "expires again: refresh with the newest token",
            &before,
            start,
            result.is_ok() && s.refreshes == 2 && s.reused_refresh_tokens == 0 && s.logins == 1,
            format!(
                "refreshes {}, refresh tokens reused {}",
                s.refreshes, s.reused_refresh_tokens
            ),
        );
    }

    // 5. The vendor says the token expired: refresh once and replay the request.
    if spec.usage.expired.is_some() {
        mock.expire_tokens();
        let (before, start) = (mock.stats(), Instant::now());
        let status = call(&client, &api).await;
        let s = mock.stats();
        let renewed = (s.refreshes + s.logins) - (before.refreshes + before.logins);
        step(
            "vendor answers \"expired\": renew once, replay",
            &before,
            start,
            status == Some(200) && s.expired_answers == before.expired_answers + 1 && renewed == 1,
            format!(
                "HTTP {} after replay, expired answers {}",
                status.map_or("error".into(), |s| s.to_string()),
                s.expired_answers
            ),
        );
    }

    // 6. The session ends: the refresh fails, and the engine logs in again, once.
    if refreshes {
        mock.end_sessions();
        tokio::time::sleep(ACCESS_TTL + PAST).await;
        let (before, start) = (mock.stats(), Instant::now());
        let result = auth.access_token().await;
        let status = call(&client, &api).await;
        let s = mock.stats();
        step(
            "session ends: refresh refused, log in again",
            &before,
            start,
            result.is_ok()
                && status == Some(200)
                && s.session_over == before.session_over + 1
                && s.logins == before.logins + 1,
            format!("refused refreshes {}, logins {}", s.session_over, s.logins),
        );
    }
    Ok(steps)
}

async fn call(
    client: &auth_runtime::reqwest_middleware::ClientWithMiddleware,
    url: &str,
) -> Option<u16> {
    client
        .get(url)
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}
