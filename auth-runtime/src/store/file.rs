//! Sessions in a JSON file shared by several processes (the CLI's store).
//!
//! - Reads take no lock: the file is only ever replaced whole (temporary file, fsync, rename), so
//!   a reader never sees half a file. A valid cached token therefore never waits for a lock.
//! - Renewals lock their own session key (`<file>.locks/<hash>.lock`), so a slow login of one
//!   provider does not hold up another. Writes take a short lock on the whole file
//!   (`<file>.lock`) for the read-modify-write; under it, temporary files left by killed writers
//!   are removed (nobody else can be writing one). Every wait is bounded.
//! - Entries are independent: one that cannot be read is reported for its key alone, and kept
//!   as it is for the others. Fields this version does not know (written by a newer one) are
//!   kept. Nothing is written that could not be read back.
//! - A symlinked store is written through (the link keeps pointing at the live file); lock
//!   files are never opened through a symlink; a FIFO or other non-regular file is refused.
//! - Files are created with mode 0600 (the tokens are bearer credentials), folders with 0700.
//! - The format carries a version; a file from a newer version is an error, not a guess.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::value::RawValue;

use super::lockfile::{self, private_options};
use super::{Entry, StoreLock, TokenStore};
use crate::error::StoreError;

use super::format::{ENTRY_FIELDS, StoredEntry, classify, decode};

const FORMAT_VERSION: u32 = 1;

/// How long a write waits for another writer's read-modify-write (milliseconds of work; a
/// longer wait means a stuck process).
const WRITE_LOCK_WAIT: Duration = Duration::from_secs(10);

/// A session file larger than this is refused rather than read into memory on every call.
const MAX_FILE_SIZE: u64 = 64 * 1024 * 1024;

/// A JSON file of sessions, safe to share between processes.
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
}

/// The whole file: its version, the entries as raw JSON (each read on its own), and any other
/// top-level members (kept as they are).
struct Document {
    sessions: BTreeMap<String, Box<RawValue>>,
    other: BTreeMap<String, Box<RawValue>>,
}

struct HeldLock(#[allow(dead_code)] lockfile::LockFile);

impl StoreLock for HeldLock {}

impl FileStore {
    /// A store kept in `path` (created on first write, with its folder).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Where the sessions are kept.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn name(&self) -> String {
        self.path.display().to_string()
    }

    fn io(&self, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: self.name(),
            source: std::sync::Arc::new(source),
        }
    }

    fn format_error(&self, message: impl Into<String>) -> StoreError {
        StoreError::Format {
            path: self.name(),
            message: message.into(),
        }
    }

    /// The file the data lives in: the store path, or what it links to (written through, so
    /// the link stays valid).
    fn data_path(&self) -> Result<PathBuf, StoreError> {
        let mut path = self.path.clone();
        for _ in 0..40 {
            match std::fs::symlink_metadata(&path) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    let target = std::fs::read_link(&path).map_err(|e| self.io(e))?;
                    path = match path.parent() {
                        Some(parent) if target.is_relative() => parent.join(target),
                        _ => target,
                    };
                }
                _ => return Ok(path),
            }
        }
        Err(self.format_error("the store path is a chain of too many symlinks"))
    }

    fn sibling(data: &Path, suffix: &str) -> PathBuf {
        let mut name = data.file_name().unwrap_or_default().to_os_string();
        name.push(suffix);
        data.with_file_name(name)
    }

    /// The lock file of one session key.
    fn key_lock_path(data: &Path, key: &str) -> PathBuf {
        // FNV-1a: a file name from any key, stable across processes and versions.
        let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        Self::sibling(data, ".locks").join(format!("{hash:016x}.lock"))
    }

    fn ensure_dir(&self, dir: &Path) -> Result<(), StoreError> {
        if dir.as_os_str().is_empty() || dir.is_dir() {
            return Ok(());
        }
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(|e| self.io(e))
    }

    fn ensure_parent(&self, data: &Path) -> Result<(), StoreError> {
        match data.parent() {
            Some(parent) => self.ensure_dir(parent),
            None => Ok(()),
        }
    }

    /// The file's text, or `None` if there is no file yet. Refuses anything but a regular file
    /// (a FIFO would block the reader forever).
    fn read_text(&self, data: &Path) -> Result<Option<String>, StoreError> {
        let mut file = match private_options().read(true).open(data) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io(e)),
        };
        let meta = file.metadata().map_err(|e| self.io(e))?;
        if !meta.is_file() {
            return Err(self.format_error(
                "not a regular file (a FIFO, device or folder); give the store a file path",
            ));
        }
        if meta.len() > MAX_FILE_SIZE {
            return Err(self.format_error(format!(
                "the file is larger than {} MiB; it is not a session file of this program",
                MAX_FILE_SIZE >> 20
            )));
        }
        let mut text = String::new();
        (&mut file)
            .take(MAX_FILE_SIZE + 1)
            .read_to_string(&mut text)
            .map_err(|e| self.io(e))?;
        Ok(Some(text))
    }

    fn read(&self, data: &Path) -> Result<Document, StoreError> {
        let mut document = Document {
            sessions: BTreeMap::new(),
            other: BTreeMap::new(),
        };
        let Some(text) = self.read_text(data)? else {
            return Ok(document);
        };
        // Never echo the content in an error: it holds tokens. Raw values keep each entry's
        // text as it is, so one bad entry does not make the others unreadable.
        let not_ours = |e: serde_json::Error| {
            self.format_error(format!(
                "not a session file ({} at line {}, column {}); delete it to start over",
                classify(&e),
                e.line(),
                e.column()
            ))
        };
        let mut top: BTreeMap<String, Box<RawValue>> =
            serde_json::from_str(&text).map_err(not_ours)?;
        let version: u32 = match top.remove("version") {
            Some(raw) => serde_json::from_str(raw.get()).map_err(not_ours)?,
            None => {
                return Err(
                    self.format_error("not a session file (no version); delete it to start over")
                );
            }
        };
        if version != FORMAT_VERSION {
            return Err(self.format_error(format!(
                "format version {version} is not supported (this build reads version {FORMAT_VERSION})"
            )));
        }
        if let Some(raw) = top.remove("sessions") {
            document.sessions = serde_json::from_str(raw.get()).map_err(not_ours)?;
        }
        document.other = top;
        Ok(document)
    }

    fn entry(&self, document: &Document, key: &str) -> Result<Option<Entry>, StoreError> {
        match document.sessions.get(key) {
            None => Ok(None),
            Some(raw) => decode(raw.get())
                .map(Some)
                .map_err(|message| StoreError::Corrupt {
                    path: self.name(),
                    key: key.to_owned(),
                    message,
                }),
        }
    }

    /// The JSON of `entry`, keeping the fields of `old` this version does not know, and
    /// checked to read back.
    fn encode(&self, entry: &Entry, old: Option<&RawValue>) -> Result<Box<RawValue>, StoreError> {
        let cannot =
            |why: String| self.format_error(format!("the session cannot be stored: {why}"));
        let value =
            serde_json::to_value(StoredEntry::from(entry)).map_err(|e| cannot(e.to_string()))?;
        let serde_json::Value::Object(mut map) = value else {
            return Err(cannot("not an object".into()));
        };
        if let Some(old) = old
            && let Ok(old) =
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(old.get())
        {
            for (name, value) in old {
                if !ENTRY_FIELDS.contains(&name.as_str()) {
                    map.entry(name).or_insert(value);
                }
            }
        }
        let text = serde_json::to_string(&map).map_err(|e| cannot(e.to_string()))?;
        // What cannot be read back (an answer nested deeper than the parser allows) is not
        // written: it would make the entry unreadable on the next call.
        decode(&text).map_err(|why| cannot(format!("it would not read back ({why})")))?;
        RawValue::from_string(text).map_err(|e| cannot(e.to_string()))
    }

    /// Replaces the file atomically: temp file, fsync, rename, fsync of the folder.
    fn write(&self, data: &Path, document: Document) -> Result<(), StoreError> {
        self.ensure_parent(data)?;
        let mut top = document.other;
        let raw = |text: String| {
            RawValue::from_string(text).map_err(|e| self.format_error(e.to_string()))
        };
        top.insert("version".into(), raw(FORMAT_VERSION.to_string())?);
        let sessions = serde_json::to_string(&document.sessions)
            .map_err(|e| self.format_error(e.to_string()))?;
        top.insert("sessions".into(), raw(sessions)?);
        let mut text = serde_json::to_vec(&top).map_err(|e| self.format_error(e.to_string()))?;
        text.push(b'\n');
        let tmp = Self::sibling(
            data,
            &format!(".tmp.{}.{}", std::process::id(), fastrand::u64(..)),
        );
        let result = (|| {
            let mut file = private_options().write(true).create_new(true).open(&tmp)?;
            file.write_all(&text)?;
            file.sync_all()?;
            std::fs::rename(&tmp, data)?;
            if let Some(parent) = data.parent().filter(|p| !p.as_os_str().is_empty()) {
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

    /// Removes temporary files left by writers that were killed. Called with the write lock
    /// held: nobody else can be writing one now.
    fn clean_leftovers(data: &Path) {
        let (Some(dir), Some(name)) = (data.parent(), data.file_name()) else {
            return;
        };
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let mut prefix = name.to_os_string();
        prefix.push(".tmp.");
        let prefix = prefix.to_string_lossy().into_owned();
        let Ok(listing) = std::fs::read_dir(dir) else {
            return;
        };
        for item in listing.flatten() {
            if item.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(item.path());
            }
        }
    }

    /// Runs `change` on the document under the write lock, and writes the result if it asks to.
    async fn modify<F>(&self, key: &str, change: F) -> Result<(), StoreError>
    where
        F: FnOnce(&FileStore, &mut Document) -> Result<bool, StoreError> + Send + 'static,
    {
        let store = self.clone();
        let data = blocking(move || store.data_path()).await?;
        let lock_path = Self::sibling(&data, ".lock");
        let store = self.clone();
        {
            let data = data.clone();
            blocking(move || store.ensure_parent(&data)).await?;
        }
        let lock = lockfile::acquire(lock_path, WRITE_LOCK_WAIT, &self.name(), key).await?;
        let store = self.clone();
        blocking(move || {
            let _lock = lock;
            Self::clean_leftovers(&data);
            let mut document = store.read(&data)?;
            if change(&store, &mut document)? {
                store.write(&data, document)?;
            }
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl TokenStore for FileStore {
    async fn load(&self, key: &str) -> Result<Option<Entry>, StoreError> {
        let store = self.clone();
        let key = key.to_owned();
        blocking(move || {
            let data = store.data_path()?;
            let document = store.read(&data)?;
            store.entry(&document, &key)
        })
        .await
    }

    async fn lock(&self, key: &str, wait: Duration) -> Result<Box<dyn StoreLock>, StoreError> {
        let store = self.clone();
        let owned_key = key.to_owned();
        let path = blocking(move || {
            let data = store.data_path()?;
            let path = Self::key_lock_path(&data, &owned_key);
            if let Some(dir) = path.parent() {
                store.ensure_dir(dir)?;
            }
            Ok(path)
        })
        .await?;
        let lock = lockfile::acquire(path, wait, &self.name(), key).await?;
        Ok(Box::new(HeldLock(lock)))
    }

    async fn compare_and_set(
        &self,
        key: &str,
        expected: Option<u64>,
        entry: &Entry,
    ) -> Result<(), StoreError> {
        let owned_key = key.to_owned();
        let entry = entry.clone();
        self.modify(key, move |store, document| {
            // An unreadable entry counts as none: it is replaced.
            let found = store
                .entry(document, &owned_key)
                .ok()
                .flatten()
                .map(|e| e.revision);
            if found != expected {
                return Err(StoreError::Conflict {
                    key: owned_key,
                    expected,
                    found,
                });
            }
            let encoded = store.encode(&entry, document.sessions.get(&owned_key).map(|r| &**r))?;
            document.sessions.insert(owned_key, encoded);
            Ok(true)
        })
        .await
    }

    async fn remove(&self, key: &str) -> Result<(), StoreError> {
        let owned_key = key.to_owned();
        self.modify(key, move |_, document| {
            Ok(document.sessions.remove(&owned_key).is_some())
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
mod tests;
