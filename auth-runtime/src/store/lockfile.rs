//! Lock files: exclusive advisory locks (`flock`) on small sidecar files.
//!
//! - Taken with a bounded wait: a holder that is stuck (stopped, or waiting on a slow vendor)
//!   makes a waiter give up with an error naming the holder, never hang.
//! - Never opened through a symlink (a dangling one would otherwise create its target), and
//!   only if it is a regular file.
//! - The holder writes its pid into the file, so that a waiter that gives up can say who holds it.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::StoreError;

/// An acquired lock; released when dropped (the file is closed).
pub(crate) struct LockFile {
    _file: File,
}

/// Options for files the store creates: 0600, never through a symlink, never blocking on a FIFO.
pub(crate) fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC);
    }
    options
}

/// Opens (creating it if needed) the lock file at `path`.
fn open(path: &Path) -> std::io::Result<File> {
    let file = private_options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(|e| {
            // O_NOFOLLOW reports a symlink as ELOOP: say what it means.
            #[cfg(unix)]
            if e.raw_os_error() == Some(libc::ELOOP) {
                return std::io::Error::other(format!(
                    "lock file {} is a symlink; refusing to follow it (remove it)",
                    path.display()
                ));
            }
            e
        })?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other(format!(
            "lock file {} is not a regular file (remove it)",
            path.display()
        )));
    }
    Ok(file)
}

/// Who holds the lock at `path`, as its holder wrote it.
fn holder(path: &Path) -> String {
    let mut text = String::new();
    let read = open(path).and_then(|mut f| f.read_to_string(&mut text));
    match read.ok().and_then(|_| text.trim().parse::<u32>().ok()) {
        Some(pid) => format!("process {pid}{}", process_state(pid)),
        None => "another process".to_owned(),
    }
}

/// ` (stopped)` for a stopped process, where the system tells.
fn process_state(pid: u32) -> &'static str {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The state follows the command name in parentheses: "123 (auth-cli) T ...".
    match stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim().chars().next())
    {
        Some('T') | Some('t') => " (stopped)",
        _ => "",
    }
}

/// Takes the lock at `path`, waiting at most `wait`. `store` and `key` name it in errors.
pub(crate) async fn acquire(
    path: PathBuf,
    wait: Duration,
    store: &str,
    key: &str,
) -> Result<LockFile, StoreError> {
    let io = |e: std::io::Error| StoreError::Io {
        path: store.to_owned(),
        source: std::sync::Arc::new(e),
    };
    let opened = {
        let path = path.clone();
        tokio::task::spawn_blocking(move || open(&path))
            .await
            .map_err(|e| io(std::io::Error::other(e.to_string())))?
    };
    let mut file = opened.map_err(io)?;
    let deadline = Instant::now() + wait;
    let mut pause = Duration::from_millis(2);
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(StoreError::LockTimeout {
                store: store.to_owned(),
                key: key.to_owned(),
                waited: wait,
                holder: holder(&path),
            });
        }
        // flock has no timed wait: poll, backing off to 50 ms.
        tokio::time::sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(Duration::from_millis(50));
    }
    // Best effort: the pid only serves error messages.
    let _ = file
        .set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| writeln!(file, "{}", std::process::id()));
    Ok(LockFile { _file: file })
}
