//! What an engine tells its operator: `Authenticator::stats()`, `tracing` spans for every
//! renewal, wait and replay (provider, flow, generation, outcome; never a secret), a cache hit
//! at TRACE, and the same counts through the `metrics` facade. The vendor is the spec-driven
//! simulator; everything runs on one current-thread runtime so that the thread's subscriber and
//! recorder see all of it.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use auth_mock::{MockOptions, MockServer, PROTECTED_PATH};
use auth_runtime::secrecy::ExposeSecret;
use auth_runtime::{Authenticator, Credentials, Stats};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, SubscriberExt as _};

/// A span or event as seen: its name and every field recorded on it.
#[derive(Debug, Clone, Default)]
struct Seen {
    name: String,
    level: String,
    fields: BTreeMap<String, String>,
}

#[derive(Clone, Default)]
struct Capture {
    spans: Arc<Mutex<BTreeMap<u64, Seen>>>,
    events: Arc<Mutex<Vec<Seen>>>,
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(
            field.name().to_owned(),
            format!("{value:?}").trim_matches('"').to_owned(),
        );
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let mut seen = Seen {
            name: attrs.metadata().name().to_owned(),
            level: attrs.metadata().level().to_string(),
            ..Seen::default()
        };
        attrs.record(&mut Fields(&mut seen.fields));
        self.spans.lock().expect("lock").insert(id.into_u64(), seen);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some(seen) = self.spans.lock().expect("lock").get_mut(&id.into_u64()) {
            values.record(&mut Fields(&mut seen.fields));
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut seen = Seen {
            name: event.metadata().name().to_owned(),
            level: event.metadata().level().to_string(),
            ..Seen::default()
        };
        event.record(&mut Fields(&mut seen.fields));
        self.events.lock().expect("lock").push(seen);
    }
}

impl Capture {
    fn spans_named(&self, name: &str) -> Vec<Seen> {
        let spans = self.spans.lock().expect("lock");
        spans.values().filter(|s| s.name == name).cloned().collect()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// 50 callers on no token, then an expired token answered on an API call, then one engine that
/// cannot reach its vendor: what the counters, the spans and the metrics say about it. Returns
/// the secrets that went over the wire, so the caller can check none was recorded.
async fn scenario() -> (Stats, Stats, Vec<String>) {
    let spec = common::spec("intergiro");
    let mock = MockServer::start(Arc::clone(&spec), MockOptions::default())
        .await
        .expect("simulator");
    let credentials: Vec<(String, String)> = mock.credentials();
    let auth = Authenticator::builder(
        Arc::clone(&spec),
        credentials.iter().cloned().collect::<Credentials>(),
    )
    .base_url(mock.base_url())
    .build()
    .expect("builds");

    let tokens = futures_join(&auth, 50).await;
    let mut secrets: Vec<String> = tokens
        .iter()
        .map(|t| t.secret().expose_secret().to_owned())
        .collect();
    auth.access_token().await.expect("cached");

    mock.expire_tokens();
    let client = auth.client(reqwest::Client::new());
    let answer = client
        .get(format!("{}{PROTECTED_PATH}", mock.base_url()))
        .send()
        .await
        .expect("sent");
    assert_eq!(answer.status(), 200, "refreshed and replayed");
    secrets.push(
        auth.cached()
            .expect("a fresh token")
            .secret()
            .expose_secret()
            .to_owned(),
    );
    secrets.extend(credentials.into_iter().map(|(_, value)| value));

    // A second engine whose vendor is gone: one failed renewal.
    let gone = Authenticator::builder(Arc::clone(&spec), mock.credentials().into_iter().collect())
        .base_url("http://127.0.0.1:9")
        .build()
        .expect("builds");
    assert!(gone.access_token().await.is_err());
    (auth.stats(), gone.stats(), secrets)
}

async fn futures_join(auth: &Authenticator, n: usize) -> Vec<auth_runtime::AccessToken> {
    let calls = (0..n).map(|_| auth.access_token());
    let mut tokens = Vec::new();
    for result in futures_util::future::join_all(calls).await {
        tokens.push(result.expect("token"));
    }
    tokens
}

#[test]
fn counters_spans_and_metrics_tell_what_happened_and_no_secret() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let (stats, gone, secrets) = tracing::subscriber::with_default(subscriber, || {
        metrics::with_local_recorder(&recorder, || runtime().block_on(scenario()))
    });

    // Counters: one login for 50 callers (the others waited), one refresh, one replay.
    assert_eq!(stats.logins, 1, "{stats:?}");
    assert_eq!(
        stats.refreshes + stats.logins,
        2,
        "one renewal after expiry: {stats:?}"
    );
    assert_eq!(stats.replays, 1, "{stats:?}");
    assert_eq!(stats.failures, 0, "{stats:?}");
    assert!(stats.waits >= 1, "callers shared the login: {stats:?}");
    assert_eq!(gone.failures, 1, "{gone:?}");
    assert_eq!(gone.logins + gone.refreshes, 0, "{gone:?}");

    // Spans: each renewal with its flow, generation and outcome.
    let renewals = capture.spans_named("auth.renew");
    let ok: Vec<_> = renewals
        .iter()
        .filter(|s| s.fields.get("outcome").map(String::as_str) == Some("ok"))
        .collect();
    assert_eq!(ok.len(), 2, "{renewals:#?}");
    assert!(
        ok.iter().any(
            |s| s.fields.get("flow").map(String::as_str) == Some("login")
                && s.fields.get("generation").map(String::as_str) == Some("1")
        ),
        "{ok:#?}"
    );
    assert!(
        ok.iter()
            .all(|s| s.fields.get("provider").map(String::as_str) == Some("intergiro"))
    );
    assert!(
        renewals
            .iter()
            .any(|s| s.fields.get("outcome").map(String::as_str) == Some("unreachable")),
        "the failed renewal names why: {renewals:#?}"
    );
    let login = capture.spans_named("auth.login");
    assert!(login.iter().any(
        |s| s.fields.get("flow").map(String::as_str) == Some("login")
            && s.fields.get("outcome").map(String::as_str) == Some("ok")
    ));
    let waits = capture.spans_named("auth.wait");
    assert!(
        waits
            .iter()
            .any(|s| s.fields.get("outcome").map(String::as_str) == Some("shared")),
        "{waits:#?}"
    );
    let replays = capture.spans_named("auth.replay");
    assert_eq!(replays.len(), 1, "{replays:#?}");
    assert_eq!(
        replays[0].fields.get("outcome").map(String::as_str),
        Some("200")
    );
    assert_eq!(
        replays[0].fields.get("stale").map(String::as_str),
        Some("1")
    );
    assert!(
        replays[0]
            .fields
            .get("generation")
            .is_some_and(|g| g != "1")
    );

    // A cache hit is a TRACE event, and nothing above TRACE.
    let events = capture.events.lock().expect("lock").clone();
    let hits: Vec<_> = events
        .iter()
        .filter(|e| e.fields.get("message").map(String::as_str) == Some("cached token"))
        .collect();
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|e| e.level == "TRACE"));

    // No secret in any span or event field.
    let spans = capture.spans.lock().expect("lock");
    for seen in spans.values().chain(events.iter()) {
        for value in seen.fields.values() {
            for secret in &secrets {
                assert!(
                    !value.contains(secret.as_str()),
                    "{} leaks a secret in {value}",
                    seen.name
                );
            }
        }
    }

    // The same counts through `metrics`, labelled with the provider.
    let counters: BTreeMap<String, u64> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| {
            let labels: Vec<String> = key
                .key()
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            match value {
                DebugValue::Counter(n) => {
                    Some((format!("{}{{{}}}", key.key().name(), labels.join(",")), n))
                }
                _ => None,
            }
        })
        .collect();
    assert_eq!(
        counters.get("auth_logins_total{provider=intergiro}"),
        Some(&stats.logins)
    );
    assert_eq!(
        counters.get("auth_replays_total{provider=intergiro}"),
        Some(&1)
    );
    assert_eq!(
        counters.get("auth_renewal_failures_total{provider=intergiro}"),
        Some(&1),
        "{counters:#?}"
    );
    // Waits are passed on when the renewal they waited for ends: all of them by now.
    assert_eq!(
        counters.get("auth_renewal_waits_total{provider=intergiro}"),
        Some(&stats.waits),
        "{counters:#?}"
    );
}
