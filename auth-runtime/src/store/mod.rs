//! Where sessions live between calls: one trait, several places.
//!
//! The engine uses a store like this, so that any number of tasks, processes or replicas sharing
//! one store send a single login or refresh between them:
//!
//! 1. take the store's lock for the session key ([`TokenStore::lock`]);
//! 2. re-read the session ([`TokenStore::load`]): someone else may have renewed it already;
//! 3. only if it still needs renewing, call the vendor;
//! 4. write the new session with [`TokenStore::compare_and_set`] on the generation it was based
//!    on, then release the lock (drop the guard).
//!
//! A shared store for many replicas (Redis) implements the same contract: `lock` as
//! `SET key NX PX ttl` with a token checked on release, `compare_and_set` as a script comparing
//! the stored generation.

mod file;
mod memory;

use async_trait::async_trait;

pub use file::FileStore;
pub use memory::MemoryStore;

use crate::error::StoreError;
use crate::session::Session;

/// Held while a session is being renewed; dropping it releases the lock.
pub trait StoreLock: Send {}

/// A place where sessions are kept, keyed by a string the engine derives from the provider, the
/// environment and the credential identity (never a secret itself).
#[async_trait]
pub trait TokenStore: Send + Sync + 'static {
    /// The session stored under `key`, if any.
    async fn load(&self, key: &str) -> Result<Option<Session>, StoreError>;

    /// Takes the exclusive lock for `key`, waiting for other holders (tasks, processes,
    /// replicas). Stores shared between machines must let the lock expire if its holder dies.
    async fn lock(&self, key: &str) -> Result<Box<dyn StoreLock>, StoreError>;

    /// Writes `session` under `key` if the stored generation is `expected` (`None`: nothing
    /// stored). Called with the lock held.
    async fn compare_and_set(
        &self,
        key: &str,
        expected: Option<u64>,
        session: &Session,
    ) -> Result<(), StoreError>;

    /// Forgets the session under `key`. Called with the lock held.
    async fn remove(&self, key: &str) -> Result<(), StoreError>;
}
