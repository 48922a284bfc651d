//! The blocking face (`auth_runtime::blocking`) from a program with no async runtime of its
//! own: one login for many calls, an expired token refreshed and the request replayed, clones
//! across threads, and calls from another runtime's threads. The vendor is the spec-driven simulator, served from a
//! runtime the test keeps apart from the engine's.

mod common;

use std::sync::Arc;

use auth_mock::{MockOptions, MockServer, PROTECTED_PATH};
use auth_runtime::{AuthError, Authenticator, Credentials};

/// A vendor on its own runtime thread, as a real one would be on its own machine.
struct Vendor {
    mock: MockServer,
    _runtime: tokio::runtime::Runtime,
}

fn vendor(name: &str) -> Vendor {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let mock = runtime
        .block_on(MockServer::start(
            common::spec(name),
            MockOptions::default(),
        ))
        .expect("simulator starts");
    Vendor {
        mock,
        _runtime: runtime,
    }
}

fn builder(vendor: &Vendor, name: &str) -> auth_runtime::AuthenticatorBuilder {
    let credentials: Credentials = vendor.mock.credentials().into_iter().collect();
    Authenticator::builder(Arc::clone(&common::spec(name)), credentials)
        .base_url(vendor.mock.base_url())
}

#[test]
fn many_calls_share_one_login_and_an_expired_token_is_replayed_once() {
    let vendor = vendor("intergiro");
    let auth =
        auth_runtime::blocking::Authenticator::new(builder(&vendor, "intergiro")).expect("builds");
    assert!(auth.cached().is_none(), "nothing before the first call");

    let first = auth.access_token().expect("logs in");
    for _ in 0..20 {
        let again = auth.access_token().expect("cached");
        assert_eq!(again.generation(), first.generation());
    }
    assert_eq!(vendor.mock.stats().logins, 1, "one login for 21 calls");
    assert!(auth.cached().is_some());

    // An API call through the engine's middleware; then the vendor expires every token and the
    // same call is answered after one renewal and one replay.
    let client = reqwest::Client::new();
    let url = format!("{}{PROTECTED_PATH}", vendor.mock.base_url());
    let request = client.get(&url).build().expect("request");
    let answer = auth.execute(&client, request).expect("sent");
    assert_eq!(answer.status, 200);
    vendor.mock.expire_tokens();
    let request = client.get(&url).build().expect("request");
    let answer = auth.execute(&client, request).expect("sent");
    assert_eq!(answer.status, 200, "refreshed and replayed");
    let stats = vendor.mock.stats();
    assert_eq!(stats.expired_answers, 1, "{stats:?}");
    assert_eq!(stats.logins + stats.refreshes, 2, "one renewal: {stats:?}");

    let status = auth.status().expect("status");
    assert!(status.session.is_some_and(|s| s.generation >= 2));
    auth.logout().expect("logs out");
    assert!(auth.cached().is_none(), "the session is forgotten");
}

#[test]
fn clones_share_the_session_and_the_runtime_outlives_all_but_the_last() {
    let vendor = vendor("apiax");
    let auth =
        auth_runtime::blocking::Authenticator::new(builder(&vendor, "apiax")).expect("builds");
    let clone = auth.clone();
    drop(auth);
    clone.access_token().expect("the clone still works");
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let auth = clone.clone();
            std::thread::spawn(move || auth.access_token().map(|t| t.generation()))
        })
        .collect();
    for thread in threads {
        assert!(thread.join().expect("thread").is_ok());
    }
    assert_eq!(
        vendor.mock.stats().logins,
        1,
        "threads share the one session"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_a_thread_of_another_runtime_it_works_and_drops_cleanly() {
    let vendor = tokio::task::spawn_blocking(|| vendor("apiax"))
        .await
        .expect("vendor");
    // A sync function called from spawn_blocking, as an async program hands work to sync code.
    let auth = tokio::task::spawn_blocking({
        let builder = builder(&vendor, "apiax");
        move || {
            let auth = auth_runtime::blocking::Authenticator::new(builder)?;
            auth.access_token()?;
            Ok::<_, AuthError>(auth)
        }
    })
    .await
    .expect("joined")
    .expect("logs in from a blocking thread");
    // Even on an async worker thread (blocking it meanwhile) it answers rather than panicking,
    // and dropping it there does not panic either.
    assert!(auth.access_token().is_ok());
    assert_eq!(vendor.mock.stats().logins, 1);
    drop(auth);
    tokio::task::spawn_blocking(move || drop(vendor))
        .await
        .expect("vendor stops");
}
