//! Where sessions live between calls: one trait, several places.
//!
//! The engine uses a store like this, so that any number of tasks, processes or replicas sharing
//! one store send a single login or refresh between them, and a rotating refresh token is sent at
//! most once even when a process dies mid-renewal:
//!
//! 1. read the entry without any lock ([`TokenStore::load`]): a valid session is used as is;
//! 2. otherwise take the store's lock for the session key ([`TokenStore::lock`], bounded wait);
//! 3. re-read the entry: someone else may have renewed it already. A [`Pending`] renewal found
//!    there was started by a holder that is gone (it would still hold the lock otherwise): the
//!    refresh token it sent is treated as spent;
//! 4. record the renewal about to be sent ([`Entry::pending`]) with
//!    [`TokenStore::compare_and_set`]; if that write fails, nothing is sent;
//! 5. call the vendor, then write the outcome with `compare_and_set` on the revision read, and
//!    release the lock (drop the guard).
//!
//! A shared store for many replicas (Redis) implements the same contract: `lock` as
//! `SET key NX PX ttl` with a token checked on release, `compare_and_set` as a script comparing
//! the stored revision.

mod file;
mod format;
mod lockfile;
mod memory;
#[cfg(feature = "redis")]
mod redis;

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

pub use file::FileStore;
pub use memory::MemoryStore;
#[cfg(feature = "redis")]
pub use redis::{DEFAULT_LOCK_TTL, RedisStore, RedisTls};

use crate::error::StoreError;
use crate::session::{Flow, Session};

/// Held while a session is being renewed. The engine hands it back with
/// [`StoreLock::release`] when done; dropping it also releases it (a renewal that was cancelled),
/// but a store that needs I/O to release can then only start the release, not wait for it.
#[async_trait]
pub trait StoreLock: Send {
    /// Releases the lock and waits until it is released, so a process that exits right after
    /// leaves no lock behind. The default drops it.
    async fn release(self: Box<Self>) {}
}

/// What is kept under one session key.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    /// Increases with every write of this entry; [`TokenStore::compare_and_set`] compares it,
    /// so a writer whose view is stale (its lock expired and was taken over) cannot overwrite a
    /// newer entry. Never smaller than the session's generation.
    pub revision: u64,
    /// The session, if one was recorded.
    pub session: Option<Session>,
    /// A renewal that was sent (or about to be) and whose outcome is not recorded yet.
    pub pending: Option<Pending>,
    /// A login whose process ended before recording its outcome: the vendor may hold a session
    /// from it. Kept until logout, so that `status` can say so.
    pub abandoned_login: Option<Pending>,
    /// When login requests were sent (recorded before sending, one per attempt), for the
    /// spec's `login_limit` and `min_login_interval`; kept for their longest window, across
    /// logouts, so that every process sharing the store shares the budget.
    pub login_requests: Vec<SystemTime>,
    /// The last recorded use of the session (an idle session ends after `idle_timeout` without
    /// a call). Recorded at most once per quarter of the idle timeout, so it may be earlier than
    /// the real last use, never later. `None`: unknown (a file written before it was kept).
    pub last_used: Option<SystemTime>,
}

/// A renewal recorded before it was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pending {
    /// Login or refresh.
    pub flow: Flow,
    /// When it was recorded.
    pub started_at: SystemTime,
    /// The process that sent it.
    pub pid: u32,
    /// For a refresh: the generation of the session whose refresh token was sent.
    pub generation: u64,
}

impl Entry {
    /// The revision of the next write, or an error if the stored one cannot grow (a store
    /// file is untrusted input).
    pub fn next_revision(&self) -> Option<u64> {
        self.revision.checked_add(1).filter(|r| *r < MAX_REVISION)
    }
}

/// Revisions and generations above this are refused as corrupt: they could not grow.
pub const MAX_REVISION: u64 = 1 << 53;

/// How long [`TokenStore::lock`] waits for another holder by default.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(120);

/// A place where sessions are kept, keyed by a string the engine derives from the provider, the
/// environment and the credential identity (never a secret itself).
#[async_trait]
pub trait TokenStore: Send + Sync + 'static {
    /// The entry stored under `key`, if any. Never waits for a lock. An entry that cannot be
    /// read is reported as [`StoreError::Corrupt`]; other keys are unaffected.
    async fn load(&self, key: &str) -> Result<Option<Entry>, StoreError>;

    /// Takes the exclusive lock for `key` (other keys stay free), waiting at most `wait` for
    /// other holders (tasks, processes, replicas); then [`StoreError::LockTimeout`] names the
    /// holder. Stores shared between machines must let the lock expire if its holder dies.
    async fn lock(&self, key: &str, wait: Duration) -> Result<Box<dyn StoreLock>, StoreError>;

    /// Writes `entry` under `key` if the stored revision is `expected` (`None`: nothing stored,
    /// or only an unreadable entry). Called with the lock held. A store never writes what it
    /// could not read back.
    async fn compare_and_set(
        &self,
        key: &str,
        expected: Option<u64>,
        entry: &Entry,
    ) -> Result<(), StoreError>;

    /// Forgets the entry under `key`. Called with the lock held.
    async fn remove(&self, key: &str) -> Result<(), StoreError>;
}
