//! The file store's own guarantees (the contract shared by every store is in
//! `tests/store_contract.rs`): private modes, atomic replacement, entries independent of each
//! other, unknown fields kept, nothing written that cannot be read back, symlinks and FIFOs.

use std::time::UNIX_EPOCH;

use auth_spec::extract::SecretJson;
use secrecy::{ExposeSecret, SecretString};

use super::*;
use crate::session::{Flow, Session};

fn session(generation: u64) -> Session {
    Session {
        access_token: SecretString::from("access-secret"),
        refresh_token: Some(SecretString::from("refresh-secret")),
        access_expires_at: Some(UNIX_EPOCH + Duration::from_millis(1_767_225_600_000)),
        refresh_expires_at: None,
        issued_at: UNIX_EPOCH + Duration::from_millis(1_767_225_000_000),
        login_at: UNIX_EPOCH + Duration::from_millis(1_767_225_000_000),
        generation,
        last_response: Some(SecretJson::new(serde_json::json!({"a": 1}))),
        last_flow: Flow::Refresh,
        values: Default::default(),
        response_headers: Default::default(),
    }
}

fn entry(generation: u64) -> Entry {
    Entry {
        revision: generation,
        session: Some(session(generation)),
        ..Entry::default()
    }
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "auth-runtime-file-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

fn write_file(path: &Path, json: serde_json::Value) {
    std::fs::write(path, json.to_string()).expect("write");
}

#[tokio::test]
async fn round_trips_with_compare_and_set_and_private_modes() {
    let dir = temp_dir();
    let path = dir.join("state/sessions.json");
    let store = FileStore::new(&path);
    assert!(store.load("k").await.expect("load").is_none());
    let _lock = store.lock("k", Duration::from_secs(5)).await.expect("lock");
    store
        .compare_and_set("k", None, &entry(1))
        .await
        .expect("first write");
    let conflict = store.compare_and_set("k", None, &entry(2)).await;
    assert!(matches!(
        conflict,
        Err(StoreError::Conflict { found: Some(1), .. })
    ));
    store
        .compare_and_set("k", Some(1), &entry(2))
        .await
        .expect("second write");
    let loaded = store.load("k").await.expect("load").expect("present");
    let s = loaded.session.expect("session");
    assert_eq!(s.generation, 2);
    assert_eq!(s.access_token.expose_secret(), "access-secret");
    assert_eq!(
        s.access_expires_at,
        Some(UNIX_EPOCH + Duration::from_millis(1_767_225_600_000))
    );
    assert_eq!(s.last_flow, Flow::Refresh);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&FileStore::sibling(&path, ".lock")), 0o600);
        assert_eq!(mode(&FileStore::key_lock_path(&path, "k")), 0o600);
        assert_eq!(mode(path.parent().expect("dir")), 0o700);
    }
    store.remove("k").await.expect("remove");
    assert!(store.load("k").await.expect("load").is_none());
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn rejects_garbage_and_newer_versions_without_echoing_content() {
    let dir = temp_dir();
    let path = dir.join("sessions.json");
    let store = FileStore::new(&path);
    std::fs::write(&path, "{\"access_token\": \"leaked-secret\"").expect("write");
    let err = store.load("k").await.expect_err("garbage").to_string();
    assert!(!err.contains("leaked-secret"), "{err}");
    assert!(err.contains("delete it"), "{err}");
    // Garbage is not overwritten either: it may be something else the user pointed us at.
    assert!(store.compare_and_set("k", None, &entry(1)).await.is_err());
    write_file(&path, serde_json::json!({"version": 99, "sessions": {}}));
    let err = store.load("k").await.expect_err("newer").to_string();
    assert!(err.contains("version 99"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn temporary_files_of_killed_writers_are_removed_under_the_lock() {
    let dir = temp_dir();
    let path = dir.join("sessions.json");
    let leftover = dir.join("sessions.json.tmp.999999.12345");
    std::fs::write(&leftover, "{\"access_token\": \"a full token\"}").expect("write");
    let unrelated = dir.join("other.json.tmp.1.2");
    std::fs::write(&unrelated, "x").expect("write");
    let store = FileStore::new(&path);
    store
        .compare_and_set("k", None, &entry(1))
        .await
        .expect("write");
    assert!(
        !leftover.exists(),
        "a killed writer's temporary file was left"
    );
    assert!(
        unrelated.exists(),
        "only this store's temporary files are removed"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[cfg(unix)]
#[tokio::test]
async fn a_fifo_at_the_store_path_is_refused_not_waited_on() {
    let dir = temp_dir();
    let path = dir.join("sessions.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let store = FileStore::new(&path);
    let err = tokio::time::timeout(Duration::from_secs(10), store.load("k"))
        .await
        .expect("a FIFO does not block the reader")
        .expect_err("refused");
    assert!(err.to_string().contains("not a regular file"), "{err}");
    let err = tokio::time::timeout(
        Duration::from_secs(10),
        store.compare_and_set("k", None, &entry(1)),
    )
    .await
    .expect("a FIFO does not block the writer")
    .expect_err("refused");
    assert!(err.to_string().contains("not a regular file"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn one_bad_entry_does_not_break_the_others_and_is_kept_for_them() {
    let dir = temp_dir();
    let path = dir.join("sessions.json");
    let store = FileStore::new(&path);
    store
        .compare_and_set("good", None, &entry(1))
        .await
        .expect("write");
    let mut file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    file["sessions"]["bad"] = serde_json::json!({"access_token": 5, "generation": "x"});
    file["sessions"]["crlf"] = serde_json::json!({
        "access_token": "tok\r\nX-Injected: 1", "issued_at_ms": 1, "login_at_ms": 1, "generation": 1
    });
    file["sessions"]["huge"] = serde_json::json!({
        "access_token": "tok", "issued_at_ms": 1, "login_at_ms": 1, "generation": u64::MAX
    });
    write_file(&path, file);
    assert!(store.load("good").await.expect("good loads").is_some());
    for key in ["bad", "crlf", "huge"] {
        let err = store.load(key).await.expect_err("unreadable");
        assert!(matches!(err, StoreError::Corrupt { .. }), "{key}: {err}");
        assert!(!err.to_string().contains("X-Injected"), "{err}");
    }
    // Writing another entry keeps the unreadable ones as they are.
    store
        .compare_and_set("good", Some(1), &entry(2))
        .await
        .expect("write");
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains("\"generation\":\"x\""), "{text}");
    // The unreadable entry itself is replaced by a renewal (it counts as none).
    store
        .compare_and_set("bad", None, &entry(1))
        .await
        .expect("replaced");
    assert!(store.load("bad").await.expect("load").is_some());
    let _ = std::fs::remove_dir_all(dir);
}

fn nested(depth: usize) -> serde_json::Value {
    (0..depth).fold(serde_json::json!(1), |inner, _| serde_json::json!([inner]))
}

#[tokio::test]
async fn nothing_is_written_that_cannot_be_read_back() {
    let dir = temp_dir();
    let path = dir.join("sessions.json");
    let store = FileStore::new(&path);
    store
        .compare_and_set("other", None, &entry(1))
        .await
        .expect("write");
    let mut deep = entry(1);
    if let Some(s) = deep.session.as_mut() {
        s.last_response = Some(SecretJson::new(nested(200)));
    }
    let err = store
        .compare_and_set("k", None, &deep)
        .await
        .expect_err("too deep to read back");
    assert!(err.to_string().contains("would not read back"), "{err}");
    assert!(store.load("k").await.expect("load").is_none());
    assert!(store.load("other").await.expect("load").is_some());
    // An entry that deep already in the file (another program wrote it) spoils only itself.
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    let text = file.to_string().replace(
        "\"sessions\":{",
        &format!(
            "\"sessions\":{{\"deep\":{{\"access_token\":\"t\",\"last_response\":{}}},",
            "[".repeat(400) + &"]".repeat(400)
        ),
    );
    std::fs::write(&path, text).expect("write");
    assert!(store.load("other").await.expect("other loads").is_some());
    assert!(store.load("deep").await.is_err());
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn fields_a_newer_version_wrote_are_kept() {
    let dir = temp_dir();
    let path = dir.join("sessions.json");
    let store = FileStore::new(&path);
    store
        .compare_and_set("k", None, &entry(1))
        .await
        .expect("write");
    let mut file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    file["written_by"] = serde_json::json!("auth-cli 9.0");
    file["sessions"]["k"]["device_binding"] = serde_json::json!({"id": "d-1"});
    write_file(&path, file);
    store
        .compare_and_set("k", Some(1), &entry(2))
        .await
        .expect("write");
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    assert_eq!(file["written_by"], "auth-cli 9.0");
    assert_eq!(file["sessions"]["k"]["device_binding"]["id"], "d-1");
    assert_eq!(file["sessions"]["k"]["generation"], 2);
    let _ = std::fs::remove_dir_all(dir);
}

#[cfg(unix)]
#[tokio::test]
async fn a_symlinked_store_is_written_through_and_lock_symlinks_are_never_followed() {
    let dir = temp_dir();
    let real = dir.join("real.json");
    let link = dir.join("sessions.json");
    std::os::unix::fs::symlink("real.json", &link).expect("symlink");
    let store = FileStore::new(&link);
    store
        .compare_and_set("k", None, &entry(1))
        .await
        .expect("write through a dangling link creates its target");
    store
        .compare_and_set("k", Some(1), &entry(2))
        .await
        .expect("write");
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("meta")
            .file_type()
            .is_symlink(),
        "the link was replaced by a regular file"
    );
    let through = FileStore::new(&real).load("k").await.expect("load");
    assert_eq!(
        through.and_then(|e| e.session).map(|s| s.generation),
        Some(2)
    );

    // A dangling symlink where a lock file goes: refused, and its target never created.
    let victim = dir.join("victim");
    let lock = FileStore::sibling(&real, ".lock");
    std::fs::remove_file(&lock).expect("remove lock");
    std::os::unix::fs::symlink(&victim, &lock).expect("symlink");
    let err = store
        .compare_and_set("k", Some(2), &entry(3))
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("symlink"), "{err}");
    assert!(!victim.exists(), "the lock symlink's target was created");
    let key_lock = FileStore::key_lock_path(&real, "k");
    drop(store.lock("k", Duration::from_secs(1)).await.expect("lock"));
    std::fs::remove_file(&key_lock).expect("remove key lock");
    std::os::unix::fs::symlink(&victim, &key_lock).expect("symlink");
    assert!(store.lock("k", Duration::from_secs(1)).await.is_err());
    assert!(
        !victim.exists(),
        "the key lock symlink's target was created"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_lock_holder_is_named_when_a_waiter_gives_up() {
    let dir = temp_dir();
    let store = FileStore::new(dir.join("sessions.json"));
    let _held = store.lock("k", Duration::from_secs(1)).await.expect("lock");
    let err = store
        .lock("k", Duration::from_millis(200))
        .await
        .err()
        .expect("held");
    let text = err.to_string();
    assert!(
        text.contains(&format!("process {}", std::process::id())) && text.contains("sessions.json"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn session_values_round_trip_and_old_files_without_them_still_read() {
    let dir = temp_dir();
    let path = dir.join("sessions.json");
    let store = FileStore::new(&path);
    let mut with_values = entry(1);
    if let Some(s) = with_values.session.as_mut() {
        s.values
            .insert("account_token".into(), SecretString::from("acct-secret"));
        s.response_headers
            .insert("x-login-id".into(), SecretString::from("login-1"));
    }
    store
        .compare_and_set("k", None, &with_values)
        .await
        .expect("write");
    let loaded = store.load("k").await.expect("load").expect("present");
    let s = loaded.session.expect("session");
    assert_eq!(s.values["account_token"].expose_secret(), "acct-secret");
    assert_eq!(s.response_headers["x-login-id"].expose_secret(), "login-1");
    assert!(
        !format!("{s:?}").contains("acct-secret"),
        "Debug names values only"
    );
    // A file written before sessions had values reads with none.
    let mut file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    let entry_json = file["sessions"]["k"].as_object_mut().expect("entry");
    entry_json.remove("values");
    entry_json.remove("response_headers");
    write_file(&path, file.clone());
    let old = store.load("k").await.expect("load").expect("present");
    assert!(old.session.expect("session").values.is_empty());
    // A value that could add a header of its own is refused like a token, without echoing it.
    file["sessions"]["k"]["values"] = serde_json::json!({"account_token": "a\r\nX-Evil: 1"});
    write_file(&path, file);
    let error = store.load("k").await.expect_err("not a header value");
    assert!(!error.to_string().contains("Evil"), "{error}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn an_idle_sessions_last_use_is_kept_and_older_files_without_it_still_read() {
    let dir = temp_dir();
    let path = dir.join("sessions.json");
    let store = FileStore::new(&path);
    let _lock = store.lock("k", Duration::from_secs(5)).await.expect("lock");
    let used = UNIX_EPOCH + Duration::from_millis(1_767_225_300_000);
    let with_use = Entry {
        last_used: Some(used),
        ..entry(1)
    };
    store
        .compare_and_set("k", None, &with_use)
        .await
        .expect("write");
    let read = store.load("k").await.expect("load").expect("entry");
    assert_eq!(read.last_used, Some(used));
    // An entry written before the last use was kept: unknown, not an error.
    let text = std::fs::read_to_string(&path).expect("file");
    assert!(
        text.contains("\"last_used_ms\":1767225300000"),
        "{}",
        text.len()
    );
    std::fs::write(&path, text.replace(",\"last_used_ms\":1767225300000", "")).expect("write");
    let old = store.load("k").await.expect("load").expect("entry");
    assert_eq!(old.last_used, None);
    assert_eq!(old.session.map(|s| s.generation), Some(1));
    let _ = std::fs::remove_dir_all(dir);
}
