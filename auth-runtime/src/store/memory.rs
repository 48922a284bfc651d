//! The default store: sessions in this process's memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;

use super::{Entry, StoreLock, TokenStore};
use crate::error::StoreError;

/// Entries in memory; shared by every engine given the same `Arc<MemoryStore>`.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<HashMap<String, Entry>>,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

struct MemoryLock(#[allow(dead_code)] tokio::sync::OwnedMutexGuard<()>);

impl StoreLock for MemoryLock {}

#[async_trait]
impl TokenStore for MemoryStore {
    async fn load(&self, key: &str) -> Result<Option<Entry>, StoreError> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(entries.get(key).cloned())
    }

    async fn lock(&self, key: &str, wait: Duration) -> Result<Box<dyn StoreLock>, StoreError> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(locks.entry(key.to_owned()).or_default())
        };
        match tokio::time::timeout(wait, lock.lock_owned()).await {
            Ok(guard) => Ok(Box::new(MemoryLock(guard))),
            Err(_) => Err(StoreError::LockTimeout {
                store: "memory store".into(),
                key: key.to_owned(),
                waited: wait,
                holder: format!("a task of this process (pid {})", std::process::id()),
            }),
        }
    }

    async fn compare_and_set(
        &self,
        key: &str,
        expected: Option<u64>,
        entry: &Entry,
    ) -> Result<(), StoreError> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let found = entries.get(key).map(|e| e.revision);
        if found != expected {
            return Err(StoreError::Conflict {
                key: key.to_owned(),
                expected,
                found,
            });
        }
        entries.insert(key.to_owned(), entry.clone());
        Ok(())
    }

    async fn remove(&self, key: &str) -> Result<(), StoreError> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.remove(key);
        Ok(())
    }
}
