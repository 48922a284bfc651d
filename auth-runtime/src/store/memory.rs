//! The default store: sessions in this process's memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;

use super::{StoreLock, TokenStore};
use crate::error::StoreError;
use crate::session::Session;

/// Sessions in memory; shared by every engine given the same `Arc<MemoryStore>`.
#[derive(Debug, Default)]
pub struct MemoryStore {
    sessions: Mutex<HashMap<String, Session>>,
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
    async fn load(&self, key: &str) -> Result<Option<Session>, StoreError> {
        let sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(sessions.get(key).cloned())
    }

    async fn lock(&self, key: &str) -> Result<Box<dyn StoreLock>, StoreError> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(locks.entry(key.to_owned()).or_default())
        };
        Ok(Box::new(MemoryLock(lock.lock_owned().await)))
    }

    async fn compare_and_set(
        &self,
        key: &str,
        expected: Option<u64>,
        session: &Session,
    ) -> Result<(), StoreError> {
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let found = sessions.get(key).map(|s| s.generation);
        if found != expected {
            return Err(StoreError::Conflict {
                key: key.to_owned(),
                expected: expected.unwrap_or(0),
                found: found.unwrap_or(0),
            });
        }
        sessions.insert(key.to_owned(), session.clone());
        Ok(())
    }

    async fn remove(&self, key: &str) -> Result<(), StoreError> {
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        sessions.remove(key);
        Ok(())
    }
}
