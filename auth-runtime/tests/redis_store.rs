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
