//! No secret ever appears in logs, Debug or Display output, or error messages.
//!
//! Runs login, refresh, an expired-token replay and several failures with tracing at TRACE
//! (including reqwest's and hyper's own events) into a buffer, formats every public type with
//! `{:?}` and every error with `{}`, and searches all of it for every credential and token value.

mod common;

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_runtime::auth_spec::extract::Answer;
use auth_runtime::{Authenticator, Credentials, FileStore, ManualClock, MemoryStore};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const API_KEY: &str = "key-6f1d2c9a-secret";
const USERNAME: &str = "someone.secret@example.com";
const PASSWORD: &str = "pa55-w0rd-secret";

/// Issues tokens that record themselves, so the test knows every value to look for.
struct Tokens {
    issued: Arc<Mutex<Vec<String>>>,
    serial: AtomicUsize,
    clock: Arc<ManualClock>,
}

impl Respond for Tokens {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.serial.fetch_add(1, Ordering::SeqCst);
        let exp = common::epoch(auth_runtime::Clock::wall(&*self.clock)) + 60;
        let access =
            common::jwt(serde_json::json!({"exp": exp, "jti": format!("secret-access-{n}")}));
        let refresh = format!("secret-refresh-{n}-x");
        self.issued
            .lock()
            .expect("issued")
            .extend([access.clone(), refresh.clone()]);
        ResponseTemplate::new(200)
            .set_body_json(serde_json::json!({"access_token": access, "refresh_token": refresh}))
    }
}

#[tokio::test]
async fn nothing_secret_is_logged_or_printed() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    let clock = Arc::new(ManualClock::new());
    let issued = Arc::new(Mutex::new(Vec::new()));
    let tokens = Tokens {
        issued: Arc::clone(&issued),
        serial: AtomicUsize::new(0),
        clock: Arc::clone(&clock),
    };
    Mock::given(method("POST"))
        .and(path("/v3/auth/login"))
        .respond_with(tokens)
        .mount(&server)
        .await;
    let refresh_tokens = Tokens {
        issued: Arc::clone(&issued),
        serial: AtomicUsize::new(100),
        clock: Arc::clone(&clock),
    };
    Mock::given(method("POST"))
        .and(path("/v3/auth/refresh"))
        .respond_with(refresh_tokens)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/expired"))
        .respond_with(ResponseTemplate::new(401))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/expired"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    // A vendor that echoes the credential back in its error page.
    Mock::given(method("POST"))
        .and(path("/echo/v3/auth/login"))
        .respond_with(
            ResponseTemplate::new(401).set_body_string(format!("<html>bad key {API_KEY}</html>")),
        )
        .mount(&server)
        .await;
    // Apiax's form login, answered with a token body that is not what the spec describes.
    Mock::given(method("POST"))
        .and(path("/auth/realms/apiax/protocol/openid-connect/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"token": "secret-misplaced-token"})),
        )
        .mount(&server)
        .await;

    let mut printed = Vec::new();
    let dir = std::env::temp_dir().join(format!("auth-leak-{}", std::process::id()));
    let store = Arc::new(FileStore::new(dir.join("s.json")));
    let auth = Authenticator::builder(
        common::spec("intergiro"),
        Credentials::new().with("api_key", API_KEY),
    )
    .base_url(server.uri())
    .clock(clock.clone())
    .store(store.clone())
    .build()
    .expect("builds");
    let token = auth.access_token().await.expect("login");
    printed.push(format!(
        "{token:?} {:?} {:?} {auth:?} {store:?}",
        token.session(),
        token.secret()
    ));
    clock.advance(Duration::from_secs(61));
    let token = auth.access_token().await.expect("refresh");
    printed.push(format!(
        "{token:?} {:?}",
        auth.status().await.expect("status")
    ));
    let client = auth.client(reqwest::Client::new());
    let response = client
        .get(format!("{}/api/expired", server.uri()))
        .send()
        .await
        .expect("sent");
    printed.push(format!("{response:?} {:?}", auth.middleware()));
    printed.push(format!("{:?}", auth.last_response()));

    let echo = Authenticator::builder(
        common::spec("intergiro"),
        Credentials::new().with("api_key", API_KEY),
    )
    .base_url(format!("{}/echo", server.uri()))
    .store(Arc::new(MemoryStore::new()))
    .build()
    .expect("builds");
    let error = echo.access_token().await.expect_err("rejected");
    printed.push(format!("{error} {error:?}"));

    let apiax = Authenticator::builder(
        common::spec("apiax"),
        Credentials::new()
            .with("username", USERNAME)
            .with("password", PASSWORD),
    )
    .base_url(server.uri())
    .build()
    .expect("builds");
    let error = apiax.access_token().await.expect_err("unexpected answer");
    printed.push(format!("{error} {error:?} {apiax:?}"));
    let credentials = Credentials::new()
        .with("username", USERNAME)
        .with("password", PASSWORD);
    printed.push(format!("{credentials:?}"));
    let answer = Answer {
        status: 200,
        headers: vec![],
        body: format!("{{\"access_token\": \"{API_KEY}\"}}"),
    };
    printed.push(format!("{answer:?}"));
    let extracted = common::spec("intergiro").login.response.extract(&Answer {
        status: 200,
        headers: vec![],
        body: format!("{{\"access_token\": \"{API_KEY}\", \"refresh_token\": \"{PASSWORD}\"}}"),
    });
    printed.push(format!("{extracted:?}"));

    drop(_guard);
    let logs = String::from_utf8_lossy(&buffer.0.lock().expect("buffer")).into_owned();
    assert!(
        logs.contains("auth.login") && logs.contains("auth.refresh"),
        "spans were recorded:\n{logs}"
    );
    assert!(
        logs.len() > 1000,
        "reqwest/hyper trace events were captured too"
    );
    let mut secrets: Vec<String> = issued.lock().expect("issued").clone();
    assert!(secrets.len() >= 4, "tokens were issued");
    secrets.extend([API_KEY, USERNAME, PASSWORD, "secret-misplaced-token"].map(String::from));
    let everything = format!("{logs}\n{}", printed.join("\n"));
    for secret in &secrets {
        // JWTs: also look for their distinctive payload part alone.
        let parts: Vec<&str> = secret.split('.').collect();
        for needle in std::iter::once(secret.as_str()).chain(parts.get(1).copied()) {
            assert!(
                !everything.contains(needle),
                "secret `{needle}` leaked in:\n{everything}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
