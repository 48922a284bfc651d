//! What only a shared store must do (issue 10), on a real `redis-server`: a live holder keeps its
//! lock however slow the vendor, a killed holder's lock frees within its TTL, and a holder whose
//! lock was taken over cannot overwrite the newer session (fencing by revision).

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use auth_runtime::{Entry, Flow, RedisStore, Session, StoreError, TokenStore};
use secrecy::SecretString;

fn entry(revision: u64, access: &str) -> Entry {
    let now = SystemTime::now();
    Entry {
        revision,
        session: Some(Session {
            access_token: SecretString::from(access.to_owned()),
            refresh_token: Some(SecretString::from(format!("r-{access}"))),
            access_expires_at: Some(now + Duration::from_secs(600)),
            refresh_expires_at: None,
            issued_at: now,
            login_at: now,
            generation: revision,
            last_response: None,
            last_flow: Flow::Login,
            values: Default::default(),
            response_headers: Default::default(),
        }),
        ..Entry::default()
    }
}

async fn store(url: &str, prefix: &str, ttl: Duration) -> RedisStore {
    RedisStore::connect(url)
        .await
        .expect("connects")
        .with_prefix(prefix)
        .with_lock_ttl(ttl)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_holder_keeps_its_lock_past_the_ttl() {
    let Some(redis) = common::redis::RedisServer::start() else {
        return;
    };
    let a = store(&redis.url, "live:", Duration::from_millis(600)).await;
    let b = store(&redis.url, "live:", Duration::from_millis(600)).await;
    let held = a.lock("k", Duration::from_secs(1)).await.expect("a locks");
    // Three TTLs later the holder, still alive (a slow vendor), still has it.
    tokio::time::sleep(Duration::from_millis(1800)).await;
    let error = b
        .lock("k", Duration::from_millis(300))
        .await
        .err()
        .expect("still held");
    assert!(matches!(error, StoreError::LockTimeout { .. }), "{error:?}");
    drop(held);
    b.lock("k", Duration::from_secs(2))
        .await
        .expect("released on drop");
}

/// Run as a child process by the test below: takes the lock, says so, and waits to be killed.
#[tokio::test]
async fn lock_holder_child() {
    let Ok(url) = std::env::var("AUTH_TEST_REDIS_HOLDER") else {
        return;
    };
    let s = store(&url, "killed:", Duration::from_secs(1)).await;
    let _held = s.lock("k", Duration::from_secs(5)).await.expect("locks");
    println!("locked");
    tokio::time::sleep(Duration::from_secs(60)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_holders_lock_frees_within_its_ttl() {
    let Some(redis) = common::redis::RedisServer::start() else {
        return;
    };
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "lock_holder_child",
            "--exact",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("AUTH_TEST_REDIS_HOLDER", &redis.url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("child starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let locked =
        tokio::task::spawn_blocking(move || lines.any(|l| l.is_ok_and(|l| l.contains("locked"))))
            .await
            .expect("joined");
    assert!(locked, "the child took the lock");
    let waiter = store(&redis.url, "killed:", Duration::from_secs(1)).await;
    // Held by a live process: a short wait gives up, naming it.
    let error = waiter
        .lock("k", Duration::from_millis(200))
        .await
        .err()
        .expect("held by the child");
    match &error {
        StoreError::LockTimeout { holder, .. } => {
            assert!(holder.contains(&child.id().to_string()), "{error}")
        }
        other => panic!("{other:?}"),
    }
    // kill -9: no release, no renewal; the TTL (1 s) frees the lock.
    let _ = child.kill();
    let _ = child.wait();
    waiter
        .lock("k", Duration::from_secs(5))
        .await
        .expect("taken over after the dead holder's TTL");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_whose_lock_was_taken_over_cannot_overwrite_the_newer_session() {
    let Some(redis) = common::redis::RedisServer::start() else {
        return;
    };
    let a: Arc<dyn TokenStore> =
        Arc::new(store(&redis.url, "fence:", Duration::from_secs(1)).await);
    let b: Arc<dyn TokenStore> =
        Arc::new(store(&redis.url, "fence:", Duration::from_secs(1)).await);
    a.compare_and_set("k", None, &entry(1, "a-1"))
        .await
        .expect("first session");
    let _a_lock = a.lock("k", Duration::from_secs(1)).await.expect("a locks");
    let seen = a.load("k").await.expect("load").map(|e| e.revision);
    // A's lock goes as if A had been paused past its TTL (the key is removed under it), and B
    // takes over and stores a newer session.
    let raw = redis_del(&redis.url, "fence:lock:k");
    assert_eq!(raw, 1, "the lock existed");
    let _b_lock = b
        .lock("k", Duration::from_secs(1))
        .await
        .expect("b takes over");
    b.compare_and_set("k", seen, &entry(2, "b-2"))
        .await
        .expect("b writes");
    // A wakes up and writes what it based on revision 1: refused.
    let stale = a.compare_and_set("k", seen, &entry(2, "a-2")).await;
    assert!(
        matches!(stale, Err(StoreError::Conflict { found: Some(2), .. })),
        "{stale:?}"
    );
    let kept = b.load("k").await.expect("load").expect("entry");
    let token = kept.session.expect("session").access_token;
    assert_eq!(secrecy::ExposeSecret::expose_secret(&token), "b-2");
}

/// `DEL key` through a plain connection, as an operator or an expiry would.
fn redis_del(url: &str, key: &str) -> i64 {
    use std::io::{Read as _, Write as _};
    let port: u16 = url
        .rsplit(':')
        .next()
        .and_then(|p| p.split('/').next())
        .and_then(|p| p.parse().ok())
        .expect("port");
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connects");
    let command = format!("*2\r\n$3\r\nDEL\r\n${}\r\n{key}\r\n", key.len());
    stream.write_all(command.as_bytes()).expect("sent");
    let mut buf = [0u8; 32];
    let n = stream.read(&mut buf).expect("answer");
    std::str::from_utf8(&buf[..n])
        .ok()
        .and_then(|s| s.trim().strip_prefix(':'))
        .and_then(|s| s.parse().ok())
        .expect("an integer reply")
}

/// `INFO commandstats`: calls per command, through a plain connection.
fn command_calls(url: &str) -> std::collections::BTreeMap<String, u64> {
    use std::io::{Read as _, Write as _};
    let port: u16 = url
        .rsplit(':')
        .next()
        .and_then(|p| p.split('/').next())
        .and_then(|p| p.parse().ok())
        .expect("port");
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connects");
    stream
        .write_all(b"*2\r\n$4\r\nINFO\r\n$12\r\ncommandstats\r\n")
        .expect("sent");
    stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let mut text = String::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
        if text.ends_with("\r\n\r\n")
            || text.matches("cmdstat_").count() > 0 && text.ends_with("\r\n")
        {
            // One bulk reply: stop once its announced length has arrived.
            if let Some(len) = text
                .strip_prefix('$')
                .and_then(|t| t.split("\r\n").next())
                .and_then(|l| l.parse::<usize>().ok())
                && text.len() >= len
            {
                break;
            }
        }
    }
    text.lines()
        .filter_map(|l| l.strip_prefix("cmdstat_"))
        .filter_map(|l| {
            let (name, rest) = l.split_once(':')?;
            let calls = rest
                .split(',')
                .next()?
                .strip_prefix("calls=")?
                .parse()
                .ok()?;
            Some((name.to_owned(), calls))
        })
        .collect()
}

fn delta(
    before: &std::collections::BTreeMap<String, u64>,
    after: &std::collections::BTreeMap<String, u64>,
) -> std::collections::BTreeMap<String, u64> {
    after
        .iter()
        .filter(|(name, _)| name.as_str() != "info")
        .map(|(name, n)| (name.clone(), n - before.get(name).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_commands_per_renewal_and_per_cached_call() {
    use auth_runtime::auth_spec;
    use auth_runtime::{Authenticator, Credentials};
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let Some(redis) = common::redis::RedisServer::start() else {
        return;
    };
    let vendor = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"access_token": "t", "expires_in": 600})),
        )
        .mount(&vendor)
        .await;
    let spec = Arc::new(
        auth_spec::parse(
            "counted.yaml",
            r#"
title: Counted
environments:
  production: {}
default_environment: production
credentials:
  key: {}
login:
  method: POST
  path: /login
  encoding: json
  body: { key: "${credentials.key}" }
  response:
    access_token: $.access_token
    access_token_expiry:
      - expires_in: { path: $.expires_in }
    examples:
      - body: { access_token: a, expires_in: 600 }
policy:
  refresh: after_expiry
usage:
  headers:
    Authorization: Bearer ${session.access_token}
"#,
        )
        .unwrap_or_else(|d| panic!("{d}")),
    );
    let store = store(&redis.url, "counted:", Duration::from_secs(5)).await;
    let auth = Authenticator::builder(spec, Credentials::new().with("key", "k"))
        .base_url(vendor.uri())
        .store(Arc::new(store))
        .build()
        .expect("builds");
    let before = command_calls(&redis.url);
    auth.access_token().await.expect("a login through Redis");
    let renewal = delta(&before, &command_calls(&redis.url));
    let before = command_calls(&redis.url);
    for _ in 0..1000 {
        auth.access_token().await.expect("cached");
    }
    let cached = delta(&before, &command_calls(&redis.url));
    eprintln!("Redis commands for one renewal (a login): {renewal:?}");
    eprintln!("Redis commands for 1000 cached calls: {cached:?}");
    assert!(
        cached.is_empty(),
        "a cached token never touches Redis: {cached:?}"
    );
    // The lock (SET NX), and scripts for the recorded intent, the session and the release.
    assert_eq!(renewal.get("set"), Some(&1), "one lock taken: {renewal:?}");
    assert!(renewal.contains_key("evalsha"), "{renewal:?}");
    assert!(
        !renewal.contains_key("subscribe"),
        "a free lock needs no subscription: {renewal:?}"
    );
}
