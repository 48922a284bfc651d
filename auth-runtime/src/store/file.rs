//! Sessions in a JSON file shared by several processes (the CLI's store).
//!
//! - The file is only ever replaced whole: written to a temporary file beside it, fsynced, then
//!   renamed over it, so a reader never sees half a file and a crash never leaves one.
//! - Renewal is serialized across processes by an exclusive lock on a sidecar `<file>.lock`
//!   (`std::fs::File::lock`). The data file cannot carry the lock itself: the rename replaces it.
//! - Files are created with mode 0600 (the tokens are bearer credentials), folders with 0700.
//! - The format carries a version; a file from a newer version is an error, not a guess.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use auth_spec::extract::SecretJson;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::{StoreLock, TokenStore};
use crate::error::StoreError;
use crate::session::{Flow, Session};

const FORMAT_VERSION: u32 = 1;

/// A JSON file of sessions, safe to share between processes.
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
}

#[derive(Serialize, Deserialize, Default)]
struct FileFormat {
    version: u32,
    sessions: BTreeMap<String, StoredSession>,
}

/// The persisted form of a [`Session`]; times are milliseconds since the Unix epoch.
#[derive(Serialize, Deserialize)]
struct StoredSession {
    access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_expires_at_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_expires_at_ms: Option<u64>,
    issued_at_ms: u64,
    login_at_ms: u64,
    generation: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_response: Option<serde_json::Value>,
    #[serde(default)]
    last_flow_refresh: bool,
}

fn to_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn from_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

impl From<&Session> for StoredSession {
    fn from(s: &Session) -> Self {
        Self {
            access_token: s.access_token.expose_secret().to_owned(),
            refresh_token: s
                .refresh_token
                .as_ref()
                .map(|t| t.expose_secret().to_owned()),
            access_expires_at_ms: s.access_expires_at.map(to_ms),
            refresh_expires_at_ms: s.refresh_expires_at.map(to_ms),
            issued_at_ms: to_ms(s.issued_at),
            login_at_ms: to_ms(s.login_at),
            generation: s.generation,
            last_response: s.last_response.as_ref().map(|r| r.expose().clone()),
            last_flow_refresh: s.last_flow == Flow::Refresh,
        }
    }
}

impl From<StoredSession> for Session {
    fn from(s: StoredSession) -> Self {
        Self {
            access_token: SecretString::from(s.access_token),
            refresh_token: s.refresh_token.map(SecretString::from),
            access_expires_at: s.access_expires_at_ms.map(from_ms),
            refresh_expires_at: s.refresh_expires_at_ms.map(from_ms),
            issued_at: from_ms(s.issued_at_ms),
            login_at: from_ms(s.login_at_ms),
            generation: s.generation,
            last_response: s.last_response.map(SecretJson::new),
            last_flow: if s.last_flow_refresh {
                Flow::Refresh
            } else {
                Flow::Login
            },
        }
    }
}

struct FileLock(#[allow(dead_code)] File);

impl StoreLock for FileLock {}

impl FileStore {
    /// A store kept in `path` (created on first write, with its folder).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Where the sessions are kept.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock_path(&self) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        self.path.with_file_name(name)
    }

    fn io(&self, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: self.path.display().to_string(),
            source: std::sync::Arc::new(source),
        }
    }

    fn read(&self) -> Result<FileFormat, StoreError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(FileFormat {
                    version: FORMAT_VERSION,
                    sessions: BTreeMap::new(),
                });
            }
            Err(e) => return Err(self.io(e)),
        };
        // Never echo the content in an error: it holds tokens.
        let format: FileFormat = serde_json::from_str(&text).map_err(|e| StoreError::Format {
            path: self.path.display().to_string(),
            message: format!(
                "not a session file (line {}, column {}); delete it to start over",
                e.line(),
                e.column()
            ),
        })?;
        if format.version != FORMAT_VERSION {
            return Err(StoreError::Format {
                path: self.path.display().to_string(),
                message: format!(
                    "format version {} is not supported (this build reads version {FORMAT_VERSION})",
                    format.version
                ),
            });
        }
        Ok(format)
    }

    fn ensure_parent(&self) -> Result<(), StoreError> {
        let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) else {
            return Ok(());
        };
        if parent.exists() {
            return Ok(());
        }
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(parent).map_err(|e| self.io(e))
    }

    /// Replaces the file atomically: temp file, fsync, rename, fsync of the folder.
    fn write(&self, format: &FileFormat) -> Result<(), StoreError> {
        self.ensure_parent()?;
        let text = serde_json::to_vec_pretty(format).map_err(|e| StoreError::Format {
            path: self.path.display().to_string(),
            message: e.to_string(),
        })?;
        let mut tmp_name = self.path.file_name().unwrap_or_default().to_os_string();
        tmp_name.push(format!(".tmp.{}.{}", std::process::id(), fastrand::u64(..)));
        let tmp = self.path.with_file_name(tmp_name);
        let result = (|| {
            let mut file = secure_options().write(true).create_new(true).open(&tmp)?;
            file.write_all(&text)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &self.path)?;
            if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
                // Make the rename itself durable. Not all platforms can open a folder; ignore that.
                if let Ok(dir) = File::open(parent) {
                    let _ = dir.sync_all();
                }
            }
            Ok(())
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.map_err(|e| self.io(e))
    }
}

fn secure_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

#[async_trait]
impl TokenStore for FileStore {
    async fn load(&self, key: &str) -> Result<Option<Session>, StoreError> {
        let store = self.clone();
        let key = key.to_owned();
        blocking(move || Ok(store.read()?.sessions.remove(&key).map(Session::from))).await
    }

    async fn lock(&self, _key: &str) -> Result<Box<dyn StoreLock>, StoreError> {
        let store = self.clone();
        blocking(move || {
            store.ensure_parent()?;
            let file = secure_options()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(store.lock_path())
                .map_err(|e| store.io(e))?;
            // Blocks until other processes release it; released when the file is closed.
            file.lock().map_err(|e| store.io(e))?;
            Ok(Box::new(FileLock(file)) as Box<dyn StoreLock>)
        })
        .await
    }

    async fn compare_and_set(
        &self,
        key: &str,
        expected: Option<u64>,
        session: &Session,
    ) -> Result<(), StoreError> {
        let store = self.clone();
        let key = key.to_owned();
        let stored = StoredSession::from(session);
        blocking(move || {
            let mut format = store.read()?;
            let found = format.sessions.get(&key).map(|s| s.generation);
            if found != expected {
                return Err(StoreError::Conflict {
                    key,
                    expected: expected.unwrap_or(0),
                    found: found.unwrap_or(0),
                });
            }
            format.version = FORMAT_VERSION;
            format.sessions.insert(key, stored);
            store.write(&format)
        })
        .await
    }

    async fn remove(&self, key: &str) -> Result<(), StoreError> {
        let store = self.clone();
        let key = key.to_owned();
        blocking(move || {
            let mut format = store.read()?;
            if format.sessions.remove(&key).is_some() {
                store.write(&format)?;
            }
            Ok(())
        })
        .await
    }
}

/// Runs file work off the async threads.
async fn blocking<T, F>(work: F) -> Result<T, StoreError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, StoreError> + Send + 'static,
{
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|e| {
        Err(StoreError::Io {
            path: String::new(),
            source: std::sync::Arc::new(std::io::Error::other(format!("store task failed: {e}"))),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(generation: u64) -> Session {
        Session {
            access_token: SecretString::from("access-secret"),
            refresh_token: Some(SecretString::from("refresh-secret")),
            access_expires_at: Some(from_ms(1_767_225_600_000)),
            refresh_expires_at: None,
            issued_at: from_ms(1_767_225_000_000),
            login_at: from_ms(1_767_225_000_000),
            generation,
            last_response: Some(SecretJson::new(serde_json::json!({"a": 1}))),
            last_flow: Flow::Refresh,
        }
    }

    fn temp_path(name: &str) -> PathBuf {
        std::env::temp_dir()
            .join(format!(
                "auth-runtime-{}-{}",
                std::process::id(),
                fastrand::u64(..)
            ))
            .join(name)
    }

    #[tokio::test]
    async fn round_trips_with_compare_and_set_and_private_modes() {
        let path = temp_path("sessions.json");
        let store = FileStore::new(&path);
        assert!(store.load("k").await.expect("load").is_none());
        let _lock = store.lock("k").await.expect("lock");
        store
            .compare_and_set("k", None, &session(1))
            .await
            .expect("first write");
        let conflict = store.compare_and_set("k", None, &session(2)).await;
        assert!(matches!(
            conflict,
            Err(StoreError::Conflict { found: 1, .. })
        ));
        store
            .compare_and_set("k", Some(1), &session(2))
            .await
            .expect("second write");
        let loaded = store.load("k").await.expect("load").expect("present");
        assert_eq!(loaded.generation, 2);
        assert_eq!(loaded.access_token.expose_secret(), "access-secret");
        assert_eq!(loaded.access_expires_at, Some(from_ms(1_767_225_600_000)));
        assert_eq!(loaded.last_flow, Flow::Refresh);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let lock_mode = std::fs::metadata(store.lock_path())
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(lock_mode & 0o777, 0o600);
        }
        store.remove("k").await.expect("remove");
        assert!(store.load("k").await.expect("load").is_none());
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().expect("dir"))
            .expect("list")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp."))
            .collect();
        assert!(leftovers.is_empty(), "no temporary files are left behind");
        let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
    }

    #[tokio::test]
    async fn rejects_garbage_and_newer_versions_without_echoing_content() {
        let path = temp_path("sessions.json");
        let store = FileStore::new(&path);
        store.ensure_parent().expect("dir");
        std::fs::write(&path, "{\"access_token\": \"leaked-secret\"").expect("write");
        let err = store.load("k").await.expect_err("garbage").to_string();
        assert!(!err.contains("leaked-secret"), "{err}");
        std::fs::write(&path, r#"{"version": 99, "sessions": {}}"#).expect("write");
        let err = store.load("k").await.expect_err("newer").to_string();
        assert!(err.contains("version 99"), "{err}");
        let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
    }

    #[test]
    fn lock_serializes_holders() {
        let path = temp_path("sessions.json");
        let store = FileStore::new(&path);
        store.ensure_parent().expect("dir");
        let open = || {
            secure_options()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(store.lock_path())
                .expect("open")
        };
        let first = open();
        first.lock().expect("lock");
        let second = open();
        assert!(second.try_lock().is_err(), "a second holder must wait");
        drop(first);
        assert!(second.try_lock().is_ok(), "released on close");
        let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
    }
}
