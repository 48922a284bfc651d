//! The contract every token store keeps, run against each store (memory, file, Redis on a real
//! `redis-server` the test starts): compare-and-set
//! on revisions, per-key locks with a bounded wait, recorded renewals, and, with the engine on
//! top, "a rotating refresh token is sent at most once, even when its sender dies".

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use auth_runtime::store::StoreLock;
use auth_runtime::{
    AuthErrorKind, Authenticator, Credentials, Entry, FileStore, Flow, MemoryStore, Pending,
    RedisStore, RedisTls, Session, StoreError, TokenStore,
};
use secrecy::{ExposeSecret as _, SecretString};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

type Make = Box<dyn Fn() -> Arc<dyn TokenStore>>;

/// The Redis servers behind the Redis stores, kept for the test (`None` where `redis-server`
/// is not installed, outside CI).
type Servers = (
    Option<common::redis::RedisServer>,
    Option<common::redis_tls::TlsRedis>,
);

/// Every store, freshly made: memory, file, Redis, and Redis over TLS.
async fn stores() -> (Servers, Vec<(&'static str, Make)>) {
    let server = common::redis::RedisServer::start();
    let tls = common::redis_tls::TlsRedis::start(common::redis_tls::ClientAuth::No);
    let mut all = base_stores();
    if let (Some(server), Some(tls)) = (&server, &tls) {
        let plain = RedisStore::connect(&server.url)
            .await
            .expect("connects to the test redis-server");
        let secure =
            RedisStore::connect_tls(&tls.url, &RedisTls::new().with_root_ca(tls.ca_pem.clone()))
                .await
                .expect("connects to the test redis-server over TLS");
        for (name, base) in [("redis", plain), ("rediss", secure)] {
            all.push((
                name,
                Box::new(move || {
                    // A prefix per store: each is as fresh as a new file.
                    Arc::new(
                        base.clone()
                            .with_prefix(format!("t{}:", fastrand::u64(..)))
                            .with_lock_ttl(Duration::from_secs(3)),
                    ) as Arc<dyn TokenStore>
                }),
            ));
        }
    }
    ((server, tls), all)
}

/// The stores that need no server.
fn base_stores() -> Vec<(&'static str, Make)> {
    vec![
        (
            "memory",
            Box::new(|| Arc::new(MemoryStore::new()) as Arc<dyn TokenStore>),
        ),
        (
            "file",
            Box::new(|| {
                let dir = std::env::temp_dir().join(format!(
                    "auth-runtime-contract-{}-{}",
                    std::process::id(),
                    fastrand::u64(..)
                ));
                Arc::new(FileStore::new(dir.join("sessions.json"))) as Arc<dyn TokenStore>
            }),
        ),
    ]
}

fn session(generation: u64, refresh: &str, expired: bool) -> Session {
    let now = SystemTime::now();
    let expires = if expired {
        now - Duration::from_secs(60)
    } else {
        now + Duration::from_secs(600)
    };
    Session {
        access_token: SecretString::from(common::jwt(
            serde_json::json!({"exp": common::epoch(expires)}),
        )),
        refresh_token: Some(SecretString::from(refresh.to_owned())),
        access_expires_at: Some(expires),
        refresh_expires_at: None,
        issued_at: now - Duration::from_secs(600),
        login_at: now - Duration::from_secs(600),
        generation,
        last_response: None,
        last_flow: Flow::Login,
        values: Default::default(),
        response_headers: Default::default(),
    }
}

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_and_set_is_on_the_revision_and_entries_round_trip() {
    let (_redis, stores) = stores().await;
    for (name, make) in stores {
        let store = make();
        assert!(store.load("k").await.expect("load").is_none(), "{name}");
        let _lock = store.lock("k", WAIT).await.expect("lock");
        let pending = Pending {
            flow: Flow::Refresh,
            started_at: SystemTime::UNIX_EPOCH + Duration::from_millis(1_767_225_600_123),
            pid: 4242,
            generation: 1,
        };
        let first = Entry {
            revision: 1,
            session: Some(session(1, "r-1", false)),
            pending: Some(pending),
            abandoned_login: None,
            // Login budgets are counted in the store: the request times survive a round trip.
            login_requests: vec![
                SystemTime::UNIX_EPOCH + Duration::from_millis(1_767_225_600_000),
                SystemTime::UNIX_EPOCH + Duration::from_millis(1_767_225_601_500),
            ],
            last_used: None,
        };
        store
            .compare_and_set("k", None, &first)
            .await
            .expect("first");
        let conflict = store.compare_and_set("k", None, &first).await;
        assert!(
            matches!(conflict, Err(StoreError::Conflict { found: Some(1), .. })),
            "{name}: {conflict:?}"
        );
        let stale = store.compare_and_set("k", Some(7), &first).await;
        assert!(matches!(stale, Err(StoreError::Conflict { .. })), "{name}");
        let loaded = store.load("k").await.expect("load").expect("entry");
        assert_eq!(loaded.revision, 1, "{name}");
        assert_eq!(loaded.pending, Some(pending), "{name}");
        assert_eq!(loaded.login_requests, first.login_requests, "{name}");
        let s = loaded.session.expect("session");
        assert_eq!(
            s.refresh_token.map(|t| t.expose_secret().to_owned()),
            Some("r-1".into())
        );
        let second = Entry {
            revision: 2,
            pending: None,
            ..first.clone()
        };
        store
            .compare_and_set("k", Some(1), &second)
            .await
            .expect("second");
        assert_eq!(
            store.load("k").await.expect("load").expect("entry").pending,
            None
        );
        store.remove("k").await.expect("remove");
        assert!(store.load("k").await.expect("load").is_none(), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locks_are_per_key_and_a_stuck_holder_makes_a_waiter_give_up_naming_it() {
    let (_redis, stores) = stores().await;
    for (name, make) in stores {
        let store = make();
        let held = store.lock("a", WAIT).await.expect("lock a");
        // Another key is free.
        let other = tokio::time::timeout(Duration::from_secs(5), store.lock("b", WAIT))
            .await
            .expect("another key does not wait")
            .expect("lock b");
        drop(other);
        // The same key: a bounded wait, then an error naming the holder.
        let error = tokio::time::timeout(
            Duration::from_secs(10),
            store.lock("a", Duration::from_millis(300)),
        )
        .await
        .expect("the wait is bounded")
        .err()
        .expect("the lock is held");
        match &error {
            StoreError::LockTimeout { holder, .. } => assert!(
                holder.contains(&std::process::id().to_string()),
                "{name}: the holder is named: {error}"
            ),
            other => panic!("{name}: {other:?}"),
        }
        drop(held);
        let again = store.lock("a", WAIT).await;
        assert!(again.is_ok(), "{name}: released on drop");
    }
}

/// A vendor with rotating refresh tokens that counts refreshes and logins.
async fn vendor(refreshes: Arc<AtomicU32>, logins: Arc<AtomicU32>) -> MockServer {
    let server = MockServer::start().await;
    let later = common::epoch(SystemTime::now() + Duration::from_secs(600));
    let answer = move |n: &str| {
        ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": common::jwt(serde_json::json!({"exp": later, "n": n})),
            "refresh_token": format!("r-{n}"),
        }))
    };
    let a = answer;
    Mock::given(method("POST"))
        .and(path("/v3/auth/refresh"))
        .respond_with(move |_: &wiremock::Request| {
            refreshes.fetch_add(1, Ordering::SeqCst);
            a("refreshed")
        })
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v3/auth/login"))
        .respond_with(move |_: &wiremock::Request| {
            logins.fetch_add(1, Ordering::SeqCst);
            answer("login")
        })
        .mount(&server)
        .await;
    server
}

fn engine(server: &MockServer, store: Arc<dyn TokenStore>) -> Authenticator {
    Authenticator::builder(
        common::spec("intergiro"),
        Credentials::new().with("api_key", "k"),
    )
    .base_url(server.uri())
    .store(store)
    .retry(common::fast_retry())
    .build()
    .expect("builds")
}

/// A process died after recording (and maybe sending) a rotating refresh: the next engine
/// treats that refresh token as spent and logs in, never sending it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_recorded_by_a_holder_that_is_gone_is_never_sent_again() {
    let (_redis, stores) = stores().await;
    for (name, make) in stores {
        let (refreshes, logins) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
        let server = vendor(Arc::clone(&refreshes), Arc::clone(&logins)).await;
        let store = make();
        let probe = engine(&server, Arc::clone(&store));
        let entry = Entry {
            revision: 2,
            session: Some(session(1, "r-spent", true)),
            pending: Some(Pending {
                flow: Flow::Refresh,
                started_at: SystemTime::now(),
                pid: 1,
                generation: 1,
            }),
            abandoned_login: None,
            login_requests: Vec::new(),
            last_used: None,
        };
        store
            .compare_and_set(probe.store_key(), None, &entry)
            .await
            .expect("seed");
        let token = probe.access_token().await.expect("a token");
        assert_eq!(
            refreshes.load(Ordering::SeqCst),
            0,
            "{name}: the spent token was sent"
        );
        assert_eq!(logins.load(Ordering::SeqCst), 1, "{name}");
        assert_eq!(token.generation(), 2, "{name}");
        let stored = store
            .load(probe.store_key())
            .await
            .expect("load")
            .expect("entry");
        assert_eq!(stored.pending, None, "{name}: the outcome is recorded");
        // The next expiry refreshes normally, with the new token.
        let status = probe.status().await.expect("status");
        assert!(status.pending.is_none(), "{name}");
    }
}

/// A store whose writes fail (a read-only folder, a full disk): the refresh is not sent.
struct ReadOnly<S>(S);

#[async_trait]
impl<S: TokenStore> TokenStore for ReadOnly<S> {
    async fn load(&self, key: &str) -> Result<Option<Entry>, StoreError> {
        self.0.load(key).await
    }
    async fn lock(&self, key: &str, wait: Duration) -> Result<Box<dyn StoreLock>, StoreError> {
        self.0.lock(key, wait).await
    }
    async fn compare_and_set(&self, _: &str, _: Option<u64>, _: &Entry) -> Result<(), StoreError> {
        Err(StoreError::Io {
            path: "read-only".into(),
            source: Arc::new(std::io::Error::from(std::io::ErrorKind::ReadOnlyFilesystem)),
        })
    }
    async fn remove(&self, key: &str) -> Result<(), StoreError> {
        self.0.remove(key).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_that_cannot_be_recorded_is_not_sent() {
    let (refreshes, logins) = (Arc::new(AtomicU32::new(0)), Arc::new(AtomicU32::new(0)));
    let server = vendor(Arc::clone(&refreshes), Arc::clone(&logins)).await;
    let inner = MemoryStore::new();
    let key = engine(&server, Arc::new(MemoryStore::new()))
        .store_key()
        .to_owned();
    inner
        .compare_and_set(
            &key,
            None,
            &Entry {
                revision: 1,
                session: Some(session(1, "r-1", true)),
                ..Entry::default()
            },
        )
        .await
        .expect("seed");
    let auth = engine(&server, Arc::new(ReadOnly(inner)));
    for attempt in 0..3 {
        let error = auth
            .access_token()
            .await
            .map(|t| format!("{t:?} {:?}", t.session()))
            .expect_err(&format!("attempt {attempt}: the store cannot be written"));
        assert!(
            matches!(error.kind(), AuthErrorKind::Store(StoreError::Io { .. })),
            "{error}"
        );
        // The expired stored session it adopted is never handed out by the hot path.
        assert!(
            auth.cached().is_none(),
            "attempt {attempt}: an expired token is cached"
        );
    }
    assert_eq!(
        refreshes.load(Ordering::SeqCst),
        0,
        "a refresh was sent unrecorded"
    );
    assert_eq!(
        logins.load(Ordering::SeqCst),
        0,
        "a login was sent unrecorded"
    );
}

/// A vendor refreshed ahead of expiry (60 s margin), with JSON answers.
const AHEAD: &str = r#"title: Ahead
environments:
  local: { base_url: "http://127.0.0.1:9" }
default_environment: local
credentials:
  key: { secret: true, env: AHEAD_KEY, example: k }
login:
  method: POST
  path: /login
  encoding: json
  body: { key: "${credentials.key}" }
  response:
    access_token: $.access_token
    refresh_token: $.refresh_token
    access_token_expiry:
      - expires_in: { path: $.expires_in, unit: seconds }
    refresh_token_expiry: []
    examples:
      - description: Login.
        status: 200
        body: { access_token: a-1, refresh_token: r-1, expires_in: 600 }
refresh:
  method: POST
  path: /refresh
  encoding: json
  body: { refresh_token: "${session.refresh_token}" }
  response:
    access_token: $.access_token
    refresh_token: $.refresh_token
    access_token_expiry:
      - expires_in: { path: $.expires_in, unit: seconds }
    refresh_token_expiry: []
    examples:
      - description: Refresh.
        status: 200
        body: { access_token: a-2, refresh_token: r-2, expires_in: 600 }
policy:
  refresh: ahead_of_expiry
  margin: 60s
  rotation: rotates
usage:
  headers:
    Authorization: Bearer ${session.access_token}
"#;

/// A renewal the policy calls for inside the margin, awaited by a caller about to exit, and
/// `shutdown` awaiting a background one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renew_if_due_refreshes_in_the_foreground_and_shutdown_awaits_a_background_refresh() {
    let server = MockServer::start().await;
    let refreshes = Arc::new(AtomicU32::new(0));
    let counted = Arc::clone(&refreshes);
    Mock::given(method("POST"))
        .and(path("/login"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"access_token": "a-1", "refresh_token": "r-1", "expires_in": 600}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/refresh"))
        .respond_with(move |_: &wiremock::Request| {
            let n = counted.fetch_add(1, Ordering::SeqCst) + 2;
            ResponseTemplate::new(200)
                .set_delay(Duration::from_millis(200))
                .set_body_json(serde_json::json!({
                    "access_token": format!("a-{n}"),
                    "refresh_token": format!("r-{n}"),
                    "expires_in": 600
                }))
        })
        .mount(&server)
        .await;
    let spec = Arc::new(auth_runtime::auth_spec::parse("ahead.yaml", AHEAD).expect("valid"));
    let clock = Arc::new(auth_runtime::ManualClock::new());
    let auth = Authenticator::builder(spec, Credentials::new().with("key", "k"))
        .base_url(server.uri())
        .clock(clock.clone())
        .build()
        .expect("builds");
    auth.access_token().await.expect("login");
    // Inside the margin, still valid.
    clock.advance(Duration::from_secs(550));
    let token = auth.renew_if_due().await.expect("token");
    assert_eq!(
        token.secret().expose_secret(),
        "a-2",
        "renewed before returning"
    );
    assert_eq!(refreshes.load(Ordering::SeqCst), 1);

    clock.advance(Duration::from_secs(550));
    let old = auth.access_token().await.expect("token");
    assert_eq!(
        old.secret().expose_secret(),
        "a-2",
        "the valid token meanwhile"
    );
    // The background refresh may not have started yet: shutdown waits for it either way.
    let shutdown: Pin<Box<dyn Future<Output = ()> + Send>> = Box::pin(auth.shutdown());
    tokio::time::timeout(Duration::from_secs(5), shutdown)
        .await
        .expect("shutdown ends");
    assert_eq!(
        refreshes.load(Ordering::SeqCst),
        2,
        "the background refresh landed"
    );
    assert_eq!(
        auth.cached().map(|t| t.secret().expose_secret().to_owned()),
        Some("a-3".into())
    );
}
