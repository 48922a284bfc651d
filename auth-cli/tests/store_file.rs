//! The session file under abuse (issue 8, part B), through `auth-cli` as a process: per-session
//! locks with a bounded wait, valid tokens that never wait, FIFOs, bad or foreign entries,
//! symlinks, leftovers of killed writers and hostile numbers in the file.

mod support;

use std::path::Path;
use std::time::Duration;

use auth_runtime::TokenStore as _;
use support::{Event, Vendor, cli, rotor_key, rotor_yaml, run, run_cli, text, workspace};

fn store_json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("sessions.json")).expect("read"))
        .expect("json")
}

fn write_store(dir: &Path, value: &serde_json::Value) {
    std::fs::write(dir.join("sessions.json"), value.to_string()).expect("write");
}

/// A valid stored token is handed out while another process holds the session's lock, and a
/// renewal of another provider does not wait for it either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_token_and_other_providers_never_wait_for_a_held_lock() {
    let yaml = rotor_yaml("after_expiry", None);
    let dir = workspace("held-lock", &yaml);
    std::fs::write(
        dir.join("specs/other.yaml"),
        yaml.replace("title: Rotor", "title: Other")
            .replace("ROTOR_KEY", "OTHER_KEY"),
    )
    .expect("spec");
    let vendor = Vendor::start(3600).await;
    let first = run_cli(&dir, &vendor.url, &["token", "rotor"]).await;
    assert!(first.status.success(), "{}", text(&first).1);
    // Another process renewing rotor's session holds its lock for as long as this test runs.
    let store = auth_runtime::FileStore::new(dir.join("sessions.json"));
    let _held = store
        .lock(&rotor_key(&yaml, &vendor.url), Duration::from_secs(5))
        .await
        .expect("lock");
    let again = run_cli(
        &dir,
        &vendor.url,
        &["--lock-timeout", "1s", "token", "rotor"],
    )
    .await;
    let (out, err) = text(&again);
    assert!(
        again.status.success(),
        "a valid token waited for the lock: {err}"
    );
    assert_eq!(out.trim(), "a-1");
    let mut other = cli(&dir, &vendor.url);
    other
        .env("OTHER_KEY", "k")
        .args(["--lock-timeout", "1s", "token", "other"]);
    let other = run(other).await;
    assert!(
        other.status.success(),
        "another provider waited: {}",
        text(&other).1
    );
    assert_eq!(vendor.state().logins, 2);
}

/// A renewal waiting for a stopped process gives up after the bounded time, naming the store
/// and the holder's pid.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_behind_a_stopped_holder_gives_up_naming_it() {
    let yaml = rotor_yaml("after_expiry", None);
    let dir = workspace("stopped", &yaml);
    let mut vendor = Vendor::start(3600).await;
    vendor.state().hold_login = Duration::from_secs(30);
    let mut holder = cli(&dir, &vendor.url)
        .args(["token", "rotor"])
        .spawn()
        .expect("starts");
    let pid = holder.id();
    vendor.wait_for(Event::Arrived("login")).await;
    let stop = std::process::Command::new("kill")
        .args(["-STOP", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(stop.success());
    let waiter = run_cli(
        &dir,
        &vendor.url,
        &["--lock-timeout", "1s", "token", "rotor"],
    )
    .await;
    let (_, err) = text(&waiter);
    let _ = std::process::Command::new("kill")
        .args(["-CONT", &pid.to_string()])
        .status();
    let _ = holder.kill();
    let _ = holder.wait();
    assert_eq!(waiter.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("process {pid} (stopped)")) && err.contains("sessions.json"),
        "{err}"
    );
}

/// A FIFO at the store path is refused at once instead of blocking every call.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fifo_at_the_store_path_is_refused() {
    let yaml = rotor_yaml("after_expiry", None);
    let dir = workspace("fifo", &yaml);
    let vendor = Vendor::start(3600).await;
    let made = std::process::Command::new("mkfifo")
        .arg(dir.join("sessions.json"))
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let out = run_cli(&dir, &vendor.url, &["token", "rotor"]).await;
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("not a regular file"), "{err}");
    assert_eq!(vendor.state().logins, 0, "nothing was sent");
}

/// One provider's bad entry does not break another's; a bad entry of its own is replaced; an
/// answer nested deep enough to break a JSON reader is not what the session keeps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_are_independent_and_every_written_entry_reads_back() {
    let yaml = rotor_yaml("after_expiry", None);
    let dir = workspace("entries", &yaml);
    let vendor = Vendor::start(3600).await;
    vendor.state().login_extra = format!(r#""profile": {}1{}"#, "[".repeat(125), "]".repeat(125));
    write_store(
        &dir,
        &serde_json::json!({"version": 1, "sessions": {
            "someone|else|0": {"access_token": 5, "generation": "seven"}
        }}),
    );
    let first = run_cli(&dir, &vendor.url, &["token", "rotor"]).await;
    assert!(
        first.status.success(),
        "another entry broke this one: {}",
        text(&first).1
    );
    let second = run_cli(&dir, &vendor.url, &["token", "rotor"]).await;
    assert!(
        second.status.success(),
        "the session did not read back: {}",
        text(&second).1
    );
    assert_eq!(text(&second).0.trim(), "a-1");
    assert_eq!(vendor.state().logins, 1, "the second run sent a request");
    let file = store_json(&dir);
    assert_eq!(
        file["sessions"]["someone|else|0"]["generation"], "seven",
        "the foreign entry is kept as it was"
    );
    // rotor's own entry damaged: status says so, the next token replaces it.
    let key = rotor_key(&yaml, &vendor.url);
    let mut file = file;
    file["sessions"][key.as_str()] = serde_json::json!({"access_token": ["x"]});
    write_store(&dir, &file);
    let status = run_cli(&dir, &vendor.url, &["status", "rotor"]).await;
    assert!(
        text(&status).0.contains("cannot be read"),
        "{}",
        text(&status).0
    );
    let third = run_cli(&dir, &vendor.url, &["token", "rotor"]).await;
    assert!(third.status.success(), "{}", text(&third).1);
    assert_eq!(vendor.state().logins, 2);
}

/// A stored generation of u64::MAX (or any hostile number) is a bad entry, not a panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_numbers_in_the_store_do_not_panic() {
    let yaml = rotor_yaml("after_expiry", None);
    let dir = workspace("numbers", &yaml);
    let vendor = Vendor::start(3600).await;
    let key = rotor_key(&yaml, &vendor.url);
    for (field, value) in [
        ("generation", serde_json::json!(u64::MAX)),
        ("access_expires_at_ms", serde_json::json!(u64::MAX)),
        ("issued_at_ms", serde_json::json!(u64::MAX)),
    ] {
        let mut entry = serde_json::json!({
            "access_token": "a-0", "refresh_token": "r-0", "access_expires_at_ms": 1,
            "issued_at_ms": 1, "login_at_ms": 1, "generation": 3
        });
        entry[field] = value;
        write_store(
            &dir,
            &serde_json::json!({"version": 1, "sessions": {key.as_str(): entry}}),
        );
        for command in [["token", "rotor"], ["status", "rotor"]] {
            let out = run_cli(&dir, &vendor.url, &command).await;
            let (_, err) = text(&out);
            assert!(out.status.success(), "{field}: {command:?}: {err}");
            assert!(!err.contains("panicked"), "{err}");
        }
    }
}

/// The store path is a symlink: the session is written through it (the link stays), and the
/// next run reads it back.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symlinked_store_stays_a_symlink_to_the_live_file() {
    let yaml = rotor_yaml("after_expiry", None);
    let dir = workspace("symlink", &yaml);
    let vendor = Vendor::start(3600).await;
    std::fs::create_dir_all(dir.join("real")).expect("dir");
    std::os::unix::fs::symlink(dir.join("real/sessions.json"), dir.join("sessions.json"))
        .expect("symlink");
    for _ in 0..2 {
        let out = run_cli(&dir, &vendor.url, &["token", "rotor"]).await;
        assert!(out.status.success(), "{}", text(&out).1);
    }
    assert_eq!(
        vendor.state().logins,
        1,
        "the second run read the session back"
    );
    let meta = std::fs::symlink_metadata(dir.join("sessions.json")).expect("meta");
    assert!(meta.file_type().is_symlink(), "the link was replaced");
    assert!(dir.join("real/sessions.json").is_file());
}

/// Temporary files that killed writers left beside the store (full tokens in them) are removed
/// by the next write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_files_left_by_killed_writers_are_cleaned_up() {
    let yaml = rotor_yaml("after_expiry", None);
    let dir = workspace("leftovers", &yaml);
    let vendor = Vendor::start(3600).await;
    let leftover = dir.join("sessions.json.tmp.4242.99");
    std::fs::write(&leftover, r#"{"access_token":"a-secret"}"#).expect("write");
    let mut command = cli(&dir, &vendor.url);
    command.args(["token", "rotor"]);
    let out = run(command).await;
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(
        !leftover.exists(),
        "the leftover temporary file is still there"
    );
}

/// The session keeps only what later requests need: a login answer carrying half a megabyte
/// the spec never names is not stored (nor read back on every call).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_what_later_requests_need_is_stored() {
    let yaml = rotor_yaml("after_expiry", None);
    let dir = workspace("kept", &yaml);
    let vendor = Vendor::start(3600).await;
    vendor.state().login_extra = format!(r#""profile": "{}""#, "p".repeat(512 * 1024));
    let out = run_cli(&dir, &vendor.url, &["token", "rotor"]).await;
    assert!(out.status.success(), "{}", text(&out).1);
    let size = std::fs::metadata(dir.join("sessions.json"))
        .expect("stored")
        .len();
    assert!(size < 4096, "the store holds {size} bytes for one session");
}
