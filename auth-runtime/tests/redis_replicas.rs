//! Many replicas, one session (issue 10): 16 engines, each with its own connection to one real
//! `redis-server` (as replicas on different hosts would have), 100 tasks each, on a vendor
//! written from this invented page:
//!
//! > `POST /login` with `{"key": "..."}` answers `{"access_token", "refresh_token",
//! > "expires_in": 2}`. Renew with `POST /refresh` and `{"refresh_token": "..."}`: each refresh
//! > token works once and the answer carries a new one; presenting a used refresh token locks
//! > the account. Token requests take half a second.

mod common;

/// "Token requests take half a second."
const TOKEN_DELAY: Duration = Duration::from_millis(500);

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_runtime::{Authenticator, Credentials, RedisStore, TokenStore};
use secrecy::ExposeSecret as _;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_replicas_on_one_redis_send_one_refresh_per_expiry() {
    let Some(redis) = common::redis::RedisServer::start() else {
        return;
    };
    let server = MockServer::start().await;
    let vendor = common::rotating::mount(&server, TOKEN_DELAY).await;
    let spec = common::rotating::spec();
    let mut engines = Vec::new();
    for _ in 0..16 {
        let store: Arc<dyn TokenStore> = Arc::new(
            RedisStore::connect(&redis.url)
                .await
                .expect("connects")
                .with_prefix("replicas:"),
        );
        engines.push(
            Authenticator::builder(Arc::clone(&spec), Credentials::new().with("key", "k"))
                .base_url(server.uri())
                .store(store)
                .retry(common::fast_retry())
                .build()
                .expect("builds"),
        );
    }
    let first = engines[0].access_token().await.expect("login");
    assert_eq!(first.secret().expose_secret(), "a-1");

    for round in 1..=2u32 {
        // Past the 2 s lifetime: every replica's view is expired.
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let mut tasks = Vec::new();
        for engine in &engines {
            for _ in 0..100 {
                let engine = engine.clone();
                tasks.push(tokio::spawn(async move {
                    engine
                        .access_token()
                        .await
                        .map(|t| t.secret().expose_secret().to_owned())
                }));
            }
        }
        let mut seen = HashSet::new();
        for task in tasks {
            let token = task.await.expect("joined").expect("a token");
            seen.insert(token);
        }
        let expected = format!("a-{}", round + 1);
        assert_eq!(
            seen,
            HashSet::from([expected.clone()]),
            "round {round}: all 1600 callers got the one new token"
        );
        let v = vendor.lock().expect("vendor");
        assert_eq!(v.refreshes, round, "round {round}: one refresh per expiry");
        assert_eq!(v.reused, 0, "no refresh token sent twice");
        assert_eq!(v.logins, 1, "no needless login");
    }
}

/// Run as a child process by the test below: one replica with 100 tasks, started when the
/// file `AUTH_TEST_REPLICA_GO` appears; prints the tokens its tasks got.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_child() {
    let (Ok(redis), Ok(vendor), Ok(go)) = (
        std::env::var("AUTH_TEST_REPLICA_REDIS"),
        std::env::var("AUTH_TEST_REPLICA_VENDOR"),
        std::env::var("AUTH_TEST_REPLICA_GO"),
    ) else {
        return;
    };
    let spec = common::rotating::spec();
    let store: Arc<dyn TokenStore> = Arc::new(
        RedisStore::connect(&redis)
            .await
            .expect("connects")
            .with_prefix("processes:"),
    );
    let engine = Authenticator::builder(spec, Credentials::new().with("key", "k"))
        .base_url(vendor)
        .store(store)
        .retry(common::fast_retry())
        .build()
        .expect("builds");
    println!("ready");
    while !std::path::Path::new(&go).exists() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let engine = engine.clone();
            tokio::spawn(async move {
                engine
                    .access_token()
                    .await
                    .map(|t| t.secret().expose_secret().to_owned())
            })
        })
        .collect();
    for task in tasks {
        match task.await.expect("joined") {
            Ok(token) => println!("token {token}"),
            Err(e) => println!("error {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_processes_on_one_redis_send_one_refresh_per_expiry() {
    use std::io::{BufRead as _, BufReader};
    let Some(redis) = common::redis::RedisServer::start() else {
        return;
    };
    let server = MockServer::start().await;
    let vendor = common::rotating::mount(&server, TOKEN_DELAY).await;
    let spec = common::rotating::spec();
    let seed = Authenticator::builder(spec, Credentials::new().with("key", "k"))
        .base_url(server.uri())
        .store(Arc::new(
            RedisStore::connect(&redis.url)
                .await
                .expect("connects")
                .with_prefix("processes:"),
        ))
        .build()
        .expect("builds");
    seed.access_token().await.expect("login");
    for round in 1..=2u32 {
        let go = std::env::temp_dir().join(format!(
            "auth-replicas-go-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        let mut children = Vec::new();
        for _ in 0..8 {
            let mut child = std::process::Command::new(std::env::current_exe().expect("exe"))
                .args([
                    "replica_child",
                    "--exact",
                    "--nocapture",
                    "--test-threads",
                    "1",
                ])
                .env("AUTH_TEST_REPLICA_REDIS", &redis.url)
                .env("AUTH_TEST_REPLICA_VENDOR", server.uri())
                .env("AUTH_TEST_REPLICA_GO", &go)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("child starts");
            let stdout = child.stdout.take().expect("stdout");
            let reader = std::thread::spawn(move || {
                BufReader::new(stdout)
                    .lines()
                    .map_while(Result::ok)
                    .collect::<Vec<String>>()
            });
            children.push((child, reader));
        }
        // Every replica is ready before the session expires and they all ask at once.
        tokio::time::sleep(Duration::from_millis(2100)).await;
        std::fs::write(&go, b"go").expect("go");
        let mut seen = HashSet::new();
        let mut answers = 0;
        for (mut child, reader) in children {
            let _ = tokio::task::spawn_blocking(move || child.wait()).await;
            for line in reader.join().expect("reader") {
                if let Some(token) = line.strip_prefix("token ") {
                    seen.insert(token.to_owned());
                    answers += 1;
                } else if line.starts_with("error ") {
                    panic!("round {round}: a replica failed: {line}");
                }
            }
        }
        let _ = std::fs::remove_file(&go);
        assert_eq!(answers, 800, "round {round}: every task answered");
        assert_eq!(
            seen,
            HashSet::from([format!("a-{}", round + 1)]),
            "round {round}: one new token for all"
        );
        let v = vendor.lock().expect("vendor");
        assert_eq!(v.refreshes, round, "round {round}: one refresh per expiry");
        assert_eq!(v.reused, 0, "no refresh token sent twice");
        assert_eq!(v.logins, 1);
    }
}

/// Run as a child process by the test below: refreshes the expired session, and is killed
/// while the vendor is still answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshing_child() {
    let (Ok(redis), Ok(vendor)) = (
        std::env::var("AUTH_TEST_KILLED_REDIS"),
        std::env::var("AUTH_TEST_KILLED_VENDOR"),
    ) else {
        return;
    };
    let spec = common::rotating::spec();
    let store = RedisStore::connect(&redis)
        .await
        .expect("connects")
        .with_prefix("killed:")
        .with_lock_ttl(Duration::from_secs(1));
    let engine = Authenticator::builder(spec, Credentials::new().with("key", "k"))
        .base_url(vendor)
        .store(Arc::new(store))
        .retry(common::fast_retry())
        .build()
        .expect("builds");
    let _ = engine.access_token().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_refresh_never_leads_to_a_refresh_token_sent_twice() {
    let Some(redis) = common::redis::RedisServer::start() else {
        return;
    };
    let server = MockServer::start().await;
    let vendor = Arc::new(Mutex::new(common::rotating::Vendor::default()));
    Mock::given(method("POST"))
        .and(path("/login"))
        .respond_with(common::rotating::Tokens::login(&vendor, TOKEN_DELAY))
        .mount(&server)
        .await;
    // The refresh is processed (its token spent) but answered too late for the killed replica.
    Mock::given(method("POST"))
        .and(path("/refresh"))
        // Answers after 3 s (the vendor has already acted on the request).
        .respond_with(common::rotating::Tokens::refresh(
            &vendor,
            Duration::from_secs(3),
        ))
        .mount(&server)
        .await;
    let spec = common::rotating::spec();
    let replica = || async {
        let store = RedisStore::connect(&redis.url)
            .await
            .expect("connects")
            .with_prefix("killed:")
            .with_lock_ttl(Duration::from_secs(1));
        Authenticator::builder(Arc::clone(&spec), Credentials::new().with("key", "k"))
            .base_url(server.uri())
            .store(Arc::new(store))
            .retry(common::fast_retry())
            .build()
            .expect("builds")
    };
    replica().await.access_token().await.expect("login");
    tokio::time::sleep(Duration::from_millis(2100)).await;

    let mut child = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args([
            "refreshing_child",
            "--exact",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("AUTH_TEST_KILLED_REDIS", &redis.url)
        .env("AUTH_TEST_KILLED_VENDOR", server.uri())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("child starts");
    // Killed once its refresh has reached the vendor, before the answer.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while vendor.lock().expect("vendor").refreshes == 0 {
        assert!(std::time::Instant::now() < deadline, "the child refreshed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = child.kill();
    let _ = child.wait();

    // Another replica takes over once the dead holder's lock expires: the recorded refresh
    // says its token is spent, so it logs in rather than send it again.
    let other = replica().await;
    let token = tokio::time::timeout(Duration::from_secs(30), other.access_token())
        .await
        .expect("takes over within the lock's TTL")
        .expect("a token");
    assert_eq!(token.secret().expose_secret(), "a-3", "a new login's token");
    {
        let v = vendor.lock().expect("vendor");
        assert_eq!(v.reused, 0, "the spent refresh token was not sent again");
        assert_eq!((v.logins, v.refreshes), (2, 1));
    }
    // The session is readable by every replica.
    let again = replica()
        .await
        .access_token()
        .await
        .expect("stored session");
    assert_eq!(again.secret().expose_secret(), "a-3");
}
