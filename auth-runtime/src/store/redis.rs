//! A store shared by many replicas: Redis (or Valkey), feature `redis`.
//!
//! Layout under the key prefix (default `auth:`):
//! - `{prefix}session:{key}`: a hash `{ rev, entry }`: the entry as the file store writes it
//!   (every field range-checked when read back), and its revision for compare-and-set;
//! - `{prefix}lock:{key}`: the renewal lock, `SET NX PX ttl` with a random owner token. Its TTL
//!   is renewed while the holder is alive (so a slow vendor never costs a live holder its lock)
//!   and lets a dead holder's lock go within one TTL;
//! - `{prefix}released:{key}`: a channel the owner publishes on when it releases the lock, so a
//!   waiter retries at once instead of polling fast (it still polls, slowly, in case a message
//!   is lost).
//!
//! Scripts keep each step atomic: the lock is released and renewed only by its owner, and
//! `compare_and_set` writes only over the revision it expects (a fencing check: a holder whose
//! lock expired and was taken over cannot overwrite the newer session).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures_util::StreamExt as _;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands as _, Script};

use super::format::{StoredEntry, decode};
use super::{Entry, StoreLock, TokenStore};
use crate::error::StoreError;

mod tls;
pub use tls::RedisTls;

/// How long a lock lives without renewal by default; renewed every third of it.
pub const DEFAULT_LOCK_TTL: Duration = Duration::from_secs(15);

/// How long a waiter sleeps between two tries when no release message arrives.
const POLL_FALLBACK: Duration = Duration::from_millis(250);

/// A [`TokenStore`] in Redis, shared by every process and machine that uses the same server and
/// key prefix. Cheap to clone.
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    client: redis::Client,
    manager: ConnectionManager,
    prefix: String,
    /// The server as shown in errors: no password.
    shown: String,
    lock_ttl: Duration,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("server", &self.inner.shown)
            .field("prefix", &self.inner.prefix)
            .field("lock_ttl", &self.inner.lock_ttl)
            .finish()
    }
}

impl RedisStore {
    /// Connects to `url`: `redis://host:port/db`, or `rediss://` for TLS. A password may be in
    /// the URL (`redis://:secret@host`); otherwise `REDIS_PASSWORD` is used when set. For
    /// `rediss://`, the server's certificate must chain to a public web root unless
    /// `REDIS_CA_CERT` names the CA's PEM file (and `REDIS_CLIENT_CERT`/`REDIS_CLIENT_KEY` a
    /// client certificate): see [`RedisTls::from_env`]. The connection reconnects by itself
    /// after a failure.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let tls = if url.starts_with("rediss://") {
            RedisTls::from_env()?
        } else {
            None
        };
        Self::open(url, tls.as_ref()).await
    }

    /// Connects to a `rediss://` `url` with these certificates (a private CA, a client
    /// certificate) instead of the environment's; otherwise as [`RedisStore::connect`].
    pub async fn connect_tls(url: &str, tls: &RedisTls) -> Result<Self, StoreError> {
        if !url.starts_with("rediss://") {
            return Err(StoreError::Unavailable {
                store: shown_url(url),
                message: "TLS settings were given for a URL without TLS: write rediss://".into(),
            });
        }
        Self::open(url, Some(tls)).await
    }

    async fn open(url: &str, tls: Option<&RedisTls>) -> Result<Self, StoreError> {
        let shown = shown_url(url);
        let unavailable = |message: String| StoreError::Unavailable {
            store: shown.clone(),
            message,
        };
        let mut info = redis::IntoConnectionInfo::into_connection_info(url).map_err(|_| {
            unavailable(
                "not a Redis URL: write redis://host:port/db or rediss://host:port/db".into(),
            )
        })?;
        if info.redis_settings().password().is_none()
            && let Ok(password) = std::env::var("REDIS_PASSWORD")
            && !password.is_empty()
        {
            let settings = info.redis_settings().clone().set_password(password);
            info = info.set_redis_settings(settings);
        }
        let client = match tls {
            Some(tls) => redis::Client::build_with_tls(info, tls.certificates()),
            None => redis::Client::open(info),
        }
        .map_err(|e| unavailable(describe(&e)))?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(2);
        let manager = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(|e| unavailable(describe(&e)))?;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                manager,
                prefix: "auth:".into(),
                shown,
                lock_ttl: DEFAULT_LOCK_TTL,
            }),
        })
    }

    /// Puts every key under `prefix` (default `auth:`), e.g. one per application.
    pub fn with_prefix(self, prefix: impl Into<String>) -> Self {
        self.rebuilt(|inner| inner.prefix = prefix.into())
    }

    /// How long a renewal lock lives without renewal (default [`DEFAULT_LOCK_TTL`]): a dead
    /// holder's lock frees within this; a live holder renews it every third of it.
    pub fn with_lock_ttl(self, ttl: Duration) -> Self {
        self.rebuilt(|inner| inner.lock_ttl = ttl.max(Duration::from_millis(300)))
    }

    fn rebuilt(self, change: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Inner {
            client: self.inner.client.clone(),
            manager: self.inner.manager.clone(),
            prefix: self.inner.prefix.clone(),
            shown: self.inner.shown.clone(),
            lock_ttl: self.inner.lock_ttl,
        };
        change(&mut inner);
        Self {
            inner: Arc::new(inner),
        }
    }

    fn session_key(&self, key: &str) -> String {
        format!("{}session:{key}", self.inner.prefix)
    }

    fn lock_key(&self, key: &str) -> String {
        format!("{}lock:{key}", self.inner.prefix)
    }

    fn channel(&self, key: &str) -> String {
        format!("{}released:{key}", self.inner.prefix)
    }

    fn unavailable(&self, error: &redis::RedisError) -> StoreError {
        StoreError::Unavailable {
            store: self.inner.shown.clone(),
            message: describe(error),
        }
    }

    /// One try at the lock: the owner token when taken.
    async fn try_lock(&self, key: &str, token: &str) -> Result<bool, StoreError> {
        let mut conn = self.inner.manager.clone();
        let ttl = millis(self.inner.lock_ttl);
        let set: Option<String> = redis::cmd("SET")
            .arg(self.lock_key(key))
            .arg(token)
            .arg("NX")
            .arg("PX")
            .arg(ttl)
            .query_async(&mut conn)
            .await
            .map_err(|e| self.unavailable(&e))?;
        Ok(set.is_some())
    }
}

/// Releases the lock only if `ARGV[1]` still owns it, and tells waiters.
const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', KEYS[2], '1')
  return 1
end
return 0
"#;

/// Renews the lock's TTL only if `ARGV[1]` still owns it.
const RENEW: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"#;

/// Writes the entry if the stored revision is `ARGV[1]` (`''`: nothing stored). Returns
/// `{1}` when written, else `{0, found}` (`found` is `''` when nothing is stored).
const COMPARE_AND_SET: &str = r#"
local found = redis.call('HGET', KEYS[1], 'rev')
local expected = ARGV[1]
if (found == false and expected == '') or (found ~= false and found == expected) then
  redis.call('HSET', KEYS[1], 'rev', ARGV[2], 'entry', ARGV[3])
  if ARGV[4] ~= '' then
    redis.call('PEXPIRE', KEYS[1], ARGV[4])
  else
    redis.call('PERSIST', KEYS[1])
  end
  return {1}
end
if found == false then
  return {0, ''}
end
return {0, found}
"#;

/// The held lock: renewed in the background while held; released by [`StoreLock::release`], or
/// in the background when dropped.
struct RedisLock {
    renewer: tokio::task::JoinHandle<()>,
    release: Option<Release>,
}

/// What releasing one lock takes: the owner-checked script, then the message to waiters.
struct Release {
    store: RedisStore,
    lock_key: String,
    channel: String,
    token: String,
}

impl Release {
    async fn run(self) {
        let mut conn = self.store.inner.manager.clone();
        let released: Result<i64, _> = Script::new(RELEASE)
            .key(&self.lock_key)
            .key(&self.channel)
            .arg(&self.token)
            .invoke_async(&mut conn)
            .await;
        if let Err(error) = released {
            // The TTL frees it.
            tracing::debug!(store = %self.store.inner.shown, %error, "the renewal lock could not be released; it expires with its TTL");
        }
    }
}

#[async_trait]
impl StoreLock for RedisLock {
    async fn release(mut self: Box<Self>) {
        self.renewer.abort();
        if let Some(release) = self.release.take() {
            release.run().await;
        }
    }
}

impl Drop for RedisLock {
    fn drop(&mut self) {
        self.renewer.abort();
        // Dropped without `release` (a cancelled renewal): release in the background. Never
        // block here: blocking on a future inside a future loses wakeups of the outer one.
        if let Some(release) = self.release.take()
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            handle.spawn(release.run());
        }
    }
}

#[async_trait]
impl TokenStore for RedisStore {
    async fn load(&self, key: &str) -> Result<Option<Entry>, StoreError> {
        let mut conn = self.inner.manager.clone();
        let raw: Option<String> = conn
            .hget(self.session_key(key), "entry")
            .await
            .map_err(|e| self.unavailable(&e))?;
        let Some(raw) = raw else {
            return Ok(None);
        };
        decode(&raw)
            .map(Some)
            .map_err(|message| StoreError::Corrupt {
                path: self.inner.shown.clone(),
                key: key.to_owned(),
                message,
            })
    }

    async fn lock(&self, key: &str, wait: Duration) -> Result<Box<dyn StoreLock>, StoreError> {
        let token = format!(
            "{}-{:016x}{:016x}",
            std::process::id(),
            fastrand::u64(..),
            fastrand::u64(..)
        );
        let started = Instant::now();
        // A free lock costs one command; only a waiter subscribes to the release messages, and
        // tries again once subscribed, so a release between its try and its wait is not missed.
        let mut released = None;
        let mut subscribed = false;
        loop {
            if self.try_lock(key, &token).await? {
                break;
            }
            if !subscribed {
                subscribed = true;
                released = match self.inner.client.get_async_pubsub().await {
                    Ok(mut pubsub) => match pubsub.subscribe(self.channel(key)).await {
                        Ok(()) => Some(pubsub),
                        Err(_) => None,
                    },
                    Err(_) => None,
                };
                continue;
            }
            let left = wait.saturating_sub(started.elapsed());
            if left.is_zero() {
                let mut conn = self.inner.manager.clone();
                let holder: Option<String> = conn.get(self.lock_key(key)).await.unwrap_or(None);
                return Err(StoreError::LockTimeout {
                    store: self.inner.shown.clone(),
                    key: key.to_owned(),
                    waited: started.elapsed(),
                    holder: holder
                        .and_then(|t| t.split('-').next().map(|pid| format!("process {pid}")))
                        .unwrap_or_else(|| "another replica".into()),
                });
            }
            let pause = left.min(POLL_FALLBACK);
            match &mut released {
                Some(pubsub) => {
                    let mut messages = pubsub.on_message();
                    let _ = tokio::time::timeout(pause, messages.next()).await;
                }
                None => tokio::time::sleep(pause).await,
            }
        }
        drop(released);
        // Renew while held: a live holder never loses the lock to a slow vendor.
        let renewer = {
            let store = self.clone();
            let (lock_key, token) = (self.lock_key(key), token.clone());
            tokio::spawn(async move {
                let every = store.inner.lock_ttl / 3;
                loop {
                    tokio::time::sleep(every).await;
                    let mut conn = store.inner.manager.clone();
                    let renewed: Result<i64, _> = Script::new(RENEW)
                        .key(&lock_key)
                        .arg(&token)
                        .arg(millis(store.inner.lock_ttl))
                        .invoke_async(&mut conn)
                        .await;
                    if !matches!(renewed, Ok(1)) {
                        tracing::warn!(store = %store.inner.shown, "the renewal lock could not be renewed; a write after its TTL is fenced off");
                        return;
                    }
                }
            })
        };
        Ok(Box::new(RedisLock {
            renewer,
            release: Some(Release {
                store: self.clone(),
                lock_key: self.lock_key(key),
                channel: self.channel(key),
                token,
            }),
        }))
    }

    async fn compare_and_set(
        &self,
        key: &str,
        expected: Option<u64>,
        entry: &Entry,
    ) -> Result<(), StoreError> {
        let json =
            serde_json::to_string(&StoredEntry::from(entry)).map_err(|e| StoreError::Format {
                path: self.inner.shown.clone(),
                message: format!("the session `{key}` cannot be written: {e}"),
            })?;
        // A store never writes what it could not read back.
        decode(&json).map_err(|message| StoreError::Format {
            path: self.inner.shown.clone(),
            message: format!("the session `{key}` would not read back: {message}"),
        })?;
        let ttl = entry_ttl(entry).map(millis).map(|ms| ms.to_string());
        let mut conn = self.inner.manager.clone();
        let answer: Vec<String> = Script::new(COMPARE_AND_SET)
            .key(self.session_key(key))
            .arg(expected.map(|r| r.to_string()).unwrap_or_default())
            .arg(entry.revision.to_string())
            .arg(json)
            .arg(ttl.unwrap_or_default())
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.unavailable(&e))?;
        match answer.as_slice() {
            [written] if written == "1" => Ok(()),
            [_, found] => Err(StoreError::Conflict {
                key: key.to_owned(),
                expected,
                found: found.parse().ok(),
            }),
            _ => Err(StoreError::Format {
                path: self.inner.shown.clone(),
                message: "unexpected answer to compare-and-set".into(),
            }),
        }
    }

    async fn remove(&self, key: &str) -> Result<(), StoreError> {
        let mut conn = self.inner.manager.clone();
        let _: i64 = conn
            .del(self.session_key(key))
            .await
            .map_err(|e| self.unavailable(&e))?;
        Ok(())
    }
}

/// How long an entry is kept: a day past the latest time it can still be used (the refresh
/// token's or the access token's end), or for ever when that is unknown or a renewal is
/// recorded in it (a record must outlive its holder).
fn entry_ttl(entry: &Entry) -> Option<Duration> {
    if entry.pending.is_some() || entry.abandoned_login.is_some() {
        return None;
    }
    let session = entry.session.as_ref()?;
    let end = match (session.refresh_token.is_some(), session.refresh_expires_at) {
        (true, Some(at)) => at,
        (true, None) => return None,
        (false, _) => session.access_expires_at?,
    };
    let left = end
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    Some(left + Duration::from_secs(86_400))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// A Redis error for a message: its kind and text, which never hold a password.
fn describe(error: &redis::RedisError) -> String {
    error.to_string()
}

/// `url` without its password, for errors and Debug.
fn shown_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "redis (unparsable URL)".into(),
    }
}
