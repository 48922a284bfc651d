//! Single flight under load, within a process and across processes.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use auth_runtime::{
    Authenticator, Clock, Credentials, Entry, FileStore, ManualClock, Session, TokenStore,
};
use secrecy::{ExposeSecret, SecretString};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// A vendor with rotating refresh tokens that remembers every refresh token it was sent.
#[derive(Default)]
struct Rotating {
    clock: Option<Arc<ManualClock>>,
    lifetime: u64,
    serial: AtomicUsize,
    logins: AtomicUsize,
    refreshes: AtomicUsize,
    live: Mutex<HashSet<String>>,
    seen: Mutex<Vec<String>>,
    delay: Duration,
}

impl Rotating {
    fn now(&self) -> SystemTime {
        self.clock
            .as_ref()
            .map_or_else(SystemTime::now, |c| c.wall())
    }

    fn issue(&self) -> ResponseTemplate {
        let n = self.serial.fetch_add(1, Ordering::SeqCst) + 1;
        let exp = common::epoch(self.now()) + self.lifetime;
        let refresh = format!("refresh-{n}");
        self.live.lock().expect("live").insert(refresh.clone());
        ResponseTemplate::new(200)
            .set_body_json(serde_json::json!({
                "access_token": common::jwt(serde_json::json!({"exp": exp, "n": n})),
                "refresh_token": refresh,
            }))
            .set_delay(self.delay)
    }
}

struct Login(Arc<Rotating>);
struct Refresh(Arc<Rotating>);

impl Respond for Login {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.0.logins.fetch_add(1, Ordering::SeqCst);
        self.0.issue()
    }
}

impl Respond for Refresh {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.refreshes.fetch_add(1, Ordering::SeqCst);
        let sent = common::json_body(request)["refresh_token"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        self.0.seen.lock().expect("seen").push(sent.clone());
        if !self.0.live.lock().expect("live").remove(&sent) {
            return ResponseTemplate::new(401)
                .set_body_json(serde_json::json!({"error": "refresh token reused"}));
        }
        self.0.issue()
    }
}

async fn intergiro_server(vendor: &Arc<Rotating>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/auth/login"))
        .respond_with(Login(Arc::clone(vendor)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v3/auth/refresh"))
        .respond_with(Refresh(Arc::clone(vendor)))
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_callers_cause_one_login_then_one_refresh() {
    let clock = Arc::new(ManualClock::new());
    let vendor = Arc::new(Rotating {
        clock: Some(Arc::clone(&clock)),
        lifetime: 600,
        delay: Duration::from_millis(20),
        ..Rotating::default()
    });
    let server = intergiro_server(&vendor).await;
    let auth = Authenticator::builder(
        common::spec("intergiro"),
        Credentials::new().with("api_key", "k"),
    )
    .base_url(server.uri())
    .clock(clock.clone())
    .build()
    .expect("builds");
    for round in 0..2 {
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..1000 {
            let auth = auth.clone();
            tasks.spawn(async move { auth.access_token().await.map(|t| t.generation()) });
        }
        let mut generations = HashSet::new();
        for result in common::join_every(tasks).await {
            generations.insert(result.expect("token"));
        }
        assert_eq!(
            generations,
            HashSet::from([round + 1]),
            "every caller got the same token"
        );
        clock.advance(Duration::from_secs(601));
    }
    assert_eq!(
        vendor.logins.load(Ordering::SeqCst),
        1,
        "one login for 1,000 callers"
    );
    assert_eq!(
        vendor.refreshes.load(Ordering::SeqCst),
        1,
        "one refresh for 1,000 callers"
    );
}

/// ID Issuer answers an expired token with 401 + `Token-Expired: true`.
struct Api {
    current: Arc<Mutex<String>>,
}

impl Respond for Api {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let sent = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        if sent == format!("Bearer {}", self.current.lock().expect("current")) {
            ResponseTemplate::new(200).set_body_string("ok")
        } else {
            ResponseTemplate::new(401)
                .insert_header(
                    "WWW-Authenticate",
                    r#"Bearer error="invalid_token", error_description="The token is expired""#,
                )
                .insert_header("Token-Expired", "true")
        }
    }
}

struct IdIssuerTokens {
    current: Arc<Mutex<String>>,
    serial: AtomicUsize,
    refreshes: Arc<AtomicUsize>,
}

impl Respond for IdIssuerTokens {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if request.url.path() == "/v2/auth/refreshtoken" {
            self.refreshes.fetch_add(1, Ordering::SeqCst);
        }
        let n = self.serial.fetch_add(1, Ordering::SeqCst) + 1;
        let token = format!("token-{n}");
        *self.current.lock().expect("current") = token.clone();
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": {"token_type": "bearer", "token": token, "expires_in": 3600},
            "refresh_token": format!("refresh-{n}"),
        }))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_expired_answers_cause_one_refresh() {
    let server = MockServer::start().await;
    let current = Arc::new(Mutex::new(String::new()));
    let refreshes = Arc::new(AtomicUsize::new(0));
    Mock::given(method("POST"))
        .respond_with(IdIssuerTokens {
            current: Arc::clone(&current),
            serial: AtomicUsize::new(0),
            refreshes: Arc::clone(&refreshes),
        })
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/documents"))
        .respond_with(Api {
            current: Arc::clone(&current),
        })
        .mount(&server)
        .await;
    let auth = Authenticator::builder(
        common::spec("idissuer"),
        Credentials::new()
            .with("username", "u@example.com")
            .with("password", "p"),
    )
    .base_url(server.uri())
    .build()
    .expect("builds");
    auth.access_token().await.expect("login");
    // The vendor expires the token early (its clock, its rules): every call now gets a 401.
    *current.lock().expect("current") = "revoked".into();
    let client = auth.client(reqwest::Client::new());
    let url = format!("{}/v2/documents", server.uri());
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..200 {
        let (client, url) = (client.clone(), url.clone());
        tasks.spawn(async move { client.get(url).send().await.map(|r| r.status().as_u16()) });
    }
    for result in common::join_every(tasks).await {
        assert_eq!(result.expect("sent"), 200, "replayed with the new token");
    }
    assert_eq!(
        refreshes.load(Ordering::SeqCst),
        1,
        "one refresh for 200 expired answers"
    );
}

/// Set in child processes started by [`eight_processes_sharing_a_file_send_one_refresh`]: the
/// test binary runs [`child_process`] as a separate process, which is what several CLI
/// invocations sharing one session file are.
const CHILD: &str = "AUTH_RUNTIME_TEST_CHILD";

/// In a child process (see [`CHILD`]): get a token through a file store and print it. In the
/// normal test run it has nothing to do and returns.
#[test]
fn child_process() {
    let Ok(config) = std::env::var(CHILD) else {
        return;
    };
    let [base_url, store_path]: [&str; 2] = config
        .split('|')
        .collect::<Vec<_>>()
        .try_into()
        .expect("BASE_URL|STORE");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let token = runtime.block_on(async {
        Authenticator::builder(
            common::spec("intergiro"),
            Credentials::new().with("api_key", "k"),
        )
        .base_url(base_url)
        .store(Arc::new(FileStore::new(store_path)))
        .build()
        .expect("builds")
        .access_token()
        .await
        .expect("token")
    });
    println!(
        "\nTOKEN {} {}",
        token.generation(),
        token.secret().expose_secret()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_processes_sharing_a_file_send_one_refresh() {
    let vendor = Arc::new(Rotating {
        lifetime: 600,
        delay: Duration::from_millis(50),
        ..Rotating::default()
    });
    let server = intergiro_server(&vendor).await;
    // One expired session in the shared file, as a previous run would have left it.
    let dir = std::env::temp_dir().join(format!(
        "auth-runtime-shared-{}-{}",
        std::process::id(),
        fastrand_suffix()
    ));
    let store_path = dir.join("sessions.json");
    let store = FileStore::new(&store_path);
    let spec = common::spec("intergiro");
    let probe = Authenticator::builder(Arc::clone(&spec), Credentials::new().with("api_key", "k"))
        .base_url(server.uri())
        .build()
        .expect("builds");
    vendor.live.lock().expect("live").insert("refresh-0".into());
    let past = SystemTime::now() - Duration::from_secs(60);
    let expired = Session {
        access_token: SecretString::from(common::jwt(
            serde_json::json!({"exp": common::epoch(past)}),
        )),
        refresh_token: Some(SecretString::from("refresh-0")),
        access_expires_at: Some(past),
        refresh_expires_at: None,
        issued_at: past - Duration::from_secs(600),
        login_at: past - Duration::from_secs(600),
        generation: 1,
        last_response: None,
        last_flow: auth_runtime::Flow::Login,
        values: Default::default(),
        response_headers: Default::default(),
    };
    let lock = store
        .lock(probe.store_key(), Duration::from_secs(5))
        .await
        .expect("lock");
    store
        .compare_and_set(
            probe.store_key(),
            None,
            &Entry {
                revision: 1,
                session: Some(expired),
                ..Entry::default()
            },
        )
        .await
        .expect("seed");
    drop(lock);

    let test_binary = std::env::current_exe().expect("test binary");
    let children: Vec<_> = (0..8)
        .map(|_| {
            std::process::Command::new(&test_binary)
                .args([
                    "--exact",
                    "child_process",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD, format!("{}|{}", server.uri(), store_path.display()))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("child starts")
        })
        .collect();
    let outputs: Vec<String> = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|c| {
                let out = c.wait_with_output().expect("child ends");
                let stdout = String::from_utf8_lossy(&out.stdout);
                assert!(
                    out.status.success(),
                    "child failed: {stdout}{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                stdout
                    .lines()
                    .find_map(|l| l.strip_prefix("TOKEN "))
                    .unwrap_or_else(|| panic!("child printed no token: {stdout}"))
                    .to_owned()
            })
            .collect()
    })
    .await
    .expect("join");
    let distinct: HashSet<&String> = outputs.iter().collect();
    assert_eq!(
        distinct.len(),
        1,
        "every process got the same token: {outputs:?}"
    );
    assert!(
        outputs[0].starts_with("2 "),
        "one renewal: generation 2, got {}",
        outputs[0]
    );
    assert_eq!(
        vendor.refreshes.load(Ordering::SeqCst),
        1,
        "one refresh for eight processes"
    );
    assert_eq!(
        vendor.logins.load(Ordering::SeqCst),
        0,
        "no process logged in"
    );
    let seen = vendor.seen.lock().expect("seen").clone();
    assert_eq!(seen, ["refresh-0"], "no refresh token sent twice");
    let stored = store
        .load(probe.store_key())
        .await
        .expect("load")
        .and_then(|e| e.session)
        .expect("session");
    assert_eq!(stored.generation, 2);
    assert_eq!(
        stored
            .refresh_token
            .as_ref()
            .map(|t| t.expose_secret().to_owned()),
        Some("refresh-1".to_owned())
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn fastrand_suffix() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_waiting_for_a_failed_login_share_its_error_instead_of_retrying_in_turn() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/auth/login"))
        .respond_with(ResponseTemplate::new(503).set_delay(Duration::from_millis(50)))
        .mount(&server)
        .await;
    let auth = Authenticator::builder(
        common::spec("intergiro"),
        Credentials::new().with("api_key", "k"),
    )
    .base_url(server.uri())
    .retry(common::fast_retry())
    .build()
    .expect("builds");
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let auth = auth.clone();
        tasks.spawn(async move { auth.access_token().await.map(|t| t.generation()) });
    }
    let mut failures = 0;
    for result in common::join_every(tasks).await {
        let error = result.expect_err("the vendor is down");
        assert!(
            matches!(
                error.kind(),
                auth_runtime::AuthErrorKind::Unreachable { attempts: 3, .. }
            ),
            "{error}"
        );
        failures += 1;
    }
    assert_eq!(failures, 100);
    assert_eq!(
        common::count(&server, "/v3/auth/login").await,
        3,
        "one flight of three attempts, not 100"
    );
}
