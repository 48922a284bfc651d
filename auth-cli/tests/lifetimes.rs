//! Refreshes and rotation across real process lifetimes (issue 8, part A): `auth-cli` processes
//! that ask once and exit, or are killed mid-renewal, against a local vendor that counts every
//! refresh token presented twice.

mod support;

use std::time::Duration;

use support::{Event, Vendor, cli, rotor_yaml, run_cli, text, workspace};

/// A caller that asks once and exits refreshes in the foreground when the policy calls for it:
/// with `before_expiry`, a token inside the margin is refreshed before `token` prints, and the
/// new session is in the store for the next run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_due_inside_the_margin_happens_before_the_process_exits() {
    // A 4 s token with a margin capped at 90 % of its lifetime: due 0.4 s after it was issued.
    let yaml = rotor_yaml("before_expiry", Some(("60s", 0.9)));
    let dir = workspace("due", &yaml);
    let vendor = Vendor::start(4).await;
    let first = run_cli(&dir, &vendor.url, &["token", "rotor"]).await;
    let (token1, err) = text(&first);
    assert!(first.status.success(), "{err}");
    assert_eq!(token1.trim(), "a-1");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let second = run_cli(&dir, &vendor.url, &["token", "rotor"]).await;
    let (token2, err) = text(&second);
    assert!(second.status.success(), "{err}");
    assert_eq!(
        token2.trim(),
        "a-2",
        "the refresh due inside the margin was not done before exiting"
    );
    let third = run_cli(&dir, &vendor.url, &["token", "rotor"]).await;
    assert_eq!(
        text(&third).0.trim(),
        "a-2",
        "the refreshed session was kept"
    );
    let s = vendor.state();
    assert_eq!((s.logins, s.refreshes, s.reused), (1, 1, 0));
}

/// Where `auth-cli` is killed during a rotating refresh.
#[derive(Debug, Clone, Copy)]
enum KillPoint {
    /// The vendor has the refresh and has not answered yet.
    InFlight,
    /// Right after the vendor wrote its answer.
    AtAnswer,
    /// Some milliseconds after the answer.
    After(u64),
}

/// An automated crash test: `auth-cli token` is killed (SIGKILL) at several points of a
/// rotating refresh, 20 times per point, and the next run must never present the refresh token
/// the killed one sent. The vendor counts every refresh token presented twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_rotating_refresh_never_leads_to_a_reused_refresh_token() {
    let yaml = rotor_yaml("after_expiry", None);
    let dir = workspace("crash", &yaml);
    // Tokens expire at once, so every run refreshes.
    let mut vendor = Vendor::start(0).await;
    let login = run_cli(&dir, &vendor.url, &["token", "rotor"]).await;
    assert!(login.status.success(), "{}", text(&login).1);
    let mut report = Vec::new();
    for point in [
        KillPoint::InFlight,
        KillPoint::AtAnswer,
        KillPoint::After(3),
        KillPoint::After(10),
    ] {
        let (logins_before, reused_before) = {
            let s = vendor.state();
            (s.logins, s.reused)
        };
        vendor.state().hold_refresh = match point {
            KillPoint::InFlight => Duration::from_millis(300),
            _ => Duration::ZERO,
        };
        for _ in 0..20 {
            vendor.drain();
            let mut child = cli(&dir, &vendor.url)
                .args(["token", "rotor"])
                .spawn()
                .expect("starts");
            match point {
                KillPoint::InFlight => vendor.wait_for(Event::Arrived("refresh")).await,
                KillPoint::AtAnswer => vendor.wait_for(Event::Answered("refresh")).await,
                KillPoint::After(ms) => {
                    vendor.wait_for(Event::Answered("refresh")).await;
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
            }
            // It may have finished already; that is a run the vendor saw end well.
            let _ = child.kill();
            let _ = tokio::task::spawn_blocking(move || child.wait()).await;
            // The next run must recover without presenting the spent token.
            let next = run_cli(&dir, &vendor.url, &["token", "rotor"]).await;
            assert!(next.status.success(), "{point:?}: {}", text(&next).1);
        }
        let s = vendor.state();
        report.push(format!(
            "{point:?}: {} reused, {} logins",
            s.reused - reused_before,
            s.logins - logins_before
        ));
    }
    let s = vendor.state();
    assert_eq!(s.reused, 0, "refresh tokens presented twice: {report:?}");
    eprintln!("crash test: {report:?}");
}

/// A killed login leaves a record: `status` says a login may have left a session open at the
/// vendor, and the next run logs in once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_login_is_reported_by_status_and_the_next_run_logs_in_once() {
    let yaml = rotor_yaml("after_expiry", None);
    let dir = workspace("killed-login", &yaml);
    let mut vendor = Vendor::start(3600).await;
    vendor.state().hold_login = Duration::from_millis(500);
    let mut child = cli(&dir, &vendor.url)
        .args(["token", "rotor"])
        .spawn()
        .expect("starts");
    let pid = child.id();
    vendor.wait_for(Event::Arrived("login")).await;
    let _ = child.kill();
    let _ = tokio::task::spawn_blocking(move || child.wait()).await;

    let status = run_cli(&dir, &vendor.url, &["status", "rotor"]).await;
    let (out, err) = text(&status);
    assert!(status.status.success(), "{err}");
    assert!(
        out.contains(&format!("a login by process {pid}")),
        "status does not say a login may be open: {out}"
    );

    vendor.state().hold_login = Duration::ZERO;
    let next = run_cli(&dir, &vendor.url, &["token", "rotor"]).await;
    assert!(next.status.success(), "{}", text(&next).1);
    assert_eq!(
        vendor.state().logins,
        2,
        "one login for the killed run, one for this one"
    );
    let status = run_cli(&dir, &vendor.url, &["status", "rotor"]).await;
    let out = text(&status).0;
    assert!(
        out.contains(&format!("warning:       a login by process {pid}"))
            && out.contains("may hold a session"),
        "{out}"
    );
    // Logging out forgets that too.
    let logout = run_cli(&dir, &vendor.url, &["logout", "rotor"]).await;
    assert!(logout.status.success(), "{}", text(&logout).1);
    let status = run_cli(&dir, &vendor.url, &["status", "rotor"]).await;
    assert!(!text(&status).0.contains("warning"), "{}", text(&status).0);
}
