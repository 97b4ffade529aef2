use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use jwt_session_token::unix_now;

use crate::{LiveToken, StoreError, TokenId, TokenStore};

/// A source of the current time in seconds since the Unix epoch.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// An in-process store: the same semantics as Redis, for one process.
///
/// Entries vanish at their expiry, and memory is bounded by the live tokens:
/// every call first drops the entries that have expired, cheapest first, so
/// no background task is needed. Everything is lost when the process ends.
/// Clones share the same entries.
#[derive(Clone)]
pub struct MemoryStore {
    entries: Arc<Mutex<Entries>>,
    clock: Clock,
}

#[derive(Default)]
struct Entries {
    expiry_by_key: HashMap<Arc<str>, u64>,
    keys_by_expiry: BTreeSet<(u64, Arc<str>)>,
}

impl Entries {
    fn drop_expired(&mut self, now: u64) {
        while let Some((expires_at, _)) = self.keys_by_expiry.first() {
            if *expires_at > now {
                break;
            }
            if let Some((_, key)) = self.keys_by_expiry.pop_first() {
                self.expiry_by_key.remove(&key);
            }
        }
    }

    fn insert(&mut self, key: String, expires_at: u64) {
        let key: Arc<str> = key.into();
        if let Some(previous) = self.expiry_by_key.insert(key.clone(), expires_at) {
            self.keys_by_expiry.remove(&(previous, key.clone()));
        }
        self.keys_by_expiry.insert((expires_at, key));
    }

    fn remove(&mut self, key: &str) -> bool {
        match self.expiry_by_key.remove_entry(key) {
            Some((key, expires_at)) => {
                self.keys_by_expiry.remove(&(expires_at, key));
                true
            }
            None => false,
        }
    }
}

impl MemoryStore {
    /// An empty store on the system clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(unix_now))
    }

    /// An empty store reading the time from `clock`; for tests that move time.
    pub fn with_clock(clock: Clock) -> Self {
        Self { entries: Arc::default(), clock }
    }

    /// How many live entries the store holds.
    pub fn len(&self) -> usize {
        let mut entries = self.lock();
        entries.drop_expired((self.clock)());
        entries.expiry_by_key.len()
    }

    /// Whether the store holds no live entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Locks the entries with expired ones already dropped.
    ///
    /// No code panics while holding the lock, but if it ever did, the map is
    /// still consistent entry by entry, so a poisoned lock is taken over
    /// rather than turned into a panic on every later request.
    fn lock(&self) -> MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_current(&self) -> (MutexGuard<'_, Entries>, u64) {
        let now = (self.clock)();
        let mut entries = self.lock();
        entries.drop_expired(now);
        (entries, now)
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore").field("live", &self.lock().expiry_by_key.len()).finish()
    }
}

impl TokenStore for MemoryStore {
    async fn record(&self, tokens: &[LiveToken<'_>]) -> Result<(), StoreError> {
        let (mut entries, now) = self.lock_current();
        for token in tokens.iter().filter(|t| t.expires_at > now) {
            entries.insert(token.id.key(""), token.expires_at);
        }
        Ok(())
    }

    async fn is_live(&self, id: TokenId<'_>) -> Result<bool, StoreError> {
        let (entries, _) = self.lock_current();
        Ok(entries.expiry_by_key.contains_key(id.key("").as_str()))
    }

    async fn revoke(&self, ids: &[TokenId<'_>]) -> Result<usize, StoreError> {
        let (mut entries, _) = self.lock_current();
        Ok(ids.iter().filter(|id| entries.remove(&id.key(""))).count())
    }

    async fn consume(&self, id: TokenId<'_>) -> Result<bool, StoreError> {
        let (mut entries, _) = self.lock_current();
        Ok(entries.remove(&id.key("")))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
