//! The local cache of access tokens known to be live, kept correct by Redis
//! invalidation messages (see [`LocalCacheConfig`] and the crate docs).
//!
//! This module is the data structure alone, with no I/O, so that every
//! interleaving of lookups, invalidations and inserts can be tested
//! directly; `tracking.rs` feeds it from Redis.
//!
//! Rules that make it safe:
//!
//! - only "live" is cached, never "not live";
//! - an entry is served only while the tracking lease runs: the lease is
//!   renewed by a heartbeat `PING` on the tracking connection, counted from
//!   when the `PING` was sent, and only after every invalidation that arrived
//!   before its reply has been applied;
//! - a miss takes a [`Snapshot`] of the invalidation epochs of both keys it
//!   reads before asking Redis, and its answer is cached only if no
//!   invalidation of either key, and no loss of tracking, came in meanwhile.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Settings of the local cache of live access tokens.
///
/// With it, [`RedisStore`](super::RedisStore) answers
/// [`access_is_live`](crate::SessionStore::access_is_live) for a token it has
/// recently seen live without any Redis command, and learns of every change
/// to that token's keys through Redis server-assisted client-side caching
/// (`CLIENT TRACKING ... BCAST` on a connection of its own, RESP3). See the
/// crate docs for what is cached, the bound and the failure modes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalCacheConfig {
    /// Most tokens kept. When full, expired entries are dropped (at most once
    /// a second); if it is still full, new tokens are not cached (they are
    /// checked in Redis each time). An entry takes about 300 bytes.
    /// Default: 100000.
    pub max_entries: usize,
    /// Longest time one answer from Redis is trusted, in milliseconds, even
    /// while tracking is healthy; a token is then checked in Redis again.
    /// Entries also end with the token's or its session's expiry in Redis.
    /// Default: 30000.
    pub max_age_ms: u64,
    /// The bound on staleness, in milliseconds: the cache is used only while
    /// a heartbeat sent on the tracking connection at most this long ago has
    /// been answered, so a revocation made in Redis is seen by this process
    /// within this time even if invalidation messages are lost. The heartbeat
    /// is sent every half of it. Default: 100.
    pub max_staleness_ms: u64,
}

impl Default for LocalCacheConfig {
    fn default() -> Self {
        Self { max_entries: 100_000, max_age_ms: 30_000, max_staleness_ms: 100 }
    }
}

impl LocalCacheConfig {
    /// Refuses settings that cannot work.
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.max_entries == 0 {
            return Err("local cache max_entries must be above 0".into());
        }
        if self.max_age_ms == 0 {
            return Err("local cache max_age_ms must be above 0".into());
        }
        if self.max_staleness_ms < 10 {
            return Err("local cache max_staleness_ms must be at least 10".into());
        }
        Ok(())
    }
}

/// What the local cache is doing, for health checks and gauges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalCacheStatus {
    /// Whether the cache is in use now: tracking is on and its lease runs.
    /// When false every check goes to Redis.
    pub tracking: bool,
    /// Tokens cached.
    pub entries: usize,
    /// The last reason tracking could not be set up or was lost, if any
    /// since it last started.
    pub last_error: Option<String>,
}

/// How many invalidation epochs the keys are spread over.
const SHARDS: usize = 64;

/// The answer of [`LiveCache::lookup`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// Known live: no need to ask Redis.
    Hit,
    /// Not known: ask Redis, then offer a live answer with this snapshot.
    Miss(Snapshot),
    /// The cache may not be used now: ask Redis and cache nothing.
    Bypass,
}

/// The invalidation state a miss saw before asking Redis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Snapshot {
    generation: u64,
    access: (usize, u64),
    session: (usize, u64),
}

#[derive(Debug)]
struct State {
    /// Bumped whenever invalidations may have been lost (tracking lost or
    /// restarted): a snapshot of an older generation is never inserted.
    generation: u64,
    /// Bumped for every invalidated key of the shard.
    epochs: [u64; SHARDS],
    /// The cache is served only before this instant.
    lease_until: Option<Instant>,
    /// Session key → (access key → trusted until).
    sessions: BTreeMap<String, HashMap<String, Instant>>,
    /// Access key → its session key.
    access: HashMap<String, String>,
    last_purge: Option<Instant>,
    last_error: Option<String>,
}

/// The cache itself; all state behind one short-held lock.
#[derive(Debug)]
pub(crate) struct LiveCache {
    state: Mutex<State>,
    max_entries: usize,
    max_age: Duration,
    staleness: Duration,
}

fn shard(key: &str) -> usize {
    let mut hasher = DefaultHasher::new();
    key.hash(&mut hasher);
    (hasher.finish() % SHARDS as u64) as usize
}

impl LiveCache {
    pub(crate) fn new(config: &LocalCacheConfig) -> Self {
        Self {
            state: Mutex::new(State {
                generation: 0,
                epochs: [0; SHARDS],
                lease_until: None,
                sessions: BTreeMap::new(),
                access: HashMap::new(),
                last_purge: None,
                last_error: None,
            }),
            max_entries: config.max_entries,
            max_age: Duration::from_millis(config.max_age_ms),
            staleness: Duration::from_millis(config.max_staleness_ms),
        }
    }

    /// The heartbeat period: half the staleness bound, so one late beat
    /// does not yet lapse the lease.
    pub(crate) fn heartbeat_every(&self) -> Duration {
        self.staleness / 2
    }

    /// The cap on how long an answer is trusted.
    pub(crate) fn max_age(&self) -> Duration {
        self.max_age
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent at every await-free step; a panic
        // elsewhere while holding the lock cannot leave it half-updated in
        // a way that serves a revoked token, since entries are only removed
        // or inserted whole.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `access_key` (of session `session_key`) is known live at `now`.
    pub(crate) fn lookup(&self, access_key: &str, session_key: &str, now: Instant) -> Lookup {
        let state = self.lock();
        if state.lease_until.is_none_or(|until| now >= until) {
            return Lookup::Bypass;
        }
        let until = state.sessions.get(session_key).and_then(|tokens| tokens.get(access_key));
        if until.is_some_and(|until| now < *until) {
            return Lookup::Hit;
        }
        let (a, s) = (shard(access_key), shard(session_key));
        Lookup::Miss(Snapshot {
            generation: state.generation,
            access: (a, state.epochs[a]),
            session: (s, state.epochs[s]),
        })
    }

    /// Caches `access_key` as live until `until`, unless an invalidation of
    /// either key or a loss of tracking came after `snapshot`, or the cache
    /// is full. Returns whether it was cached.
    pub(crate) fn insert(
        &self,
        snapshot: Snapshot,
        access_key: String,
        session_key: String,
        until: Instant,
        now: Instant,
    ) -> bool {
        let mut state = self.lock();
        let unchanged = state.generation == snapshot.generation
            && state.epochs[snapshot.access.0] == snapshot.access.1
            && state.epochs[snapshot.session.0] == snapshot.session.1;
        if !unchanged || until <= now {
            return false;
        }
        if state.access.len() >= self.max_entries && !state.access.contains_key(&access_key) {
            let purged_lately =
                state.last_purge.is_some_and(|at| now.duration_since(at) < Duration::from_secs(1));
            if purged_lately {
                return false;
            }
            state.last_purge = Some(now);
            purge_expired(&mut state, now);
            if state.access.len() >= self.max_entries {
                return false;
            }
        }
        let until = until.min(now + self.max_age);
        state.sessions.entry(session_key.clone()).or_default().insert(access_key.clone(), until);
        state.access.insert(access_key, session_key);
        true
    }

    /// `key` changed in Redis: forget what depends on it.
    pub(crate) fn invalidate(&self, key: &str) {
        invalidate_key(&mut self.lock(), key);
    }

    /// Forgets every session whose key starts with `session_prefix` (all
    /// the sessions of one user), as if each had been invalidated.
    pub(crate) fn invalidate_prefix(&self, session_prefix: &str) {
        let mut state = self.lock();
        let start = Bound::Included(session_prefix.to_owned());
        let keys: Vec<String> = state
            .sessions
            .range::<String, _>((start, Bound::Unbounded))
            .map(|(key, _)| key)
            .take_while(|key| key.starts_with(session_prefix))
            .cloned()
            .collect();
        // A concurrent miss of this user may have snapshotted any shard,
        // cached or not: move them all (a rare, whole-user event).
        for epoch in &mut state.epochs {
            *epoch += 1;
        }
        for key in keys {
            invalidate_key(&mut state, &key);
        }
    }

    /// Everything may have changed (`FLUSHALL`, `FLUSHDB`): forget it all;
    /// tracking goes on.
    pub(crate) fn flush(&self) {
        let mut state = self.lock();
        state.generation += 1;
        clear(&mut state);
    }

    /// Tracking is lost or restarting: invalidations may have been missed.
    /// Forget everything and stop serving until the lease is renewed.
    pub(crate) fn lose(&self, error: Option<String>) {
        let mut state = self.lock();
        state.generation += 1;
        state.lease_until = None;
        if error.is_some() {
            state.last_error = error;
        }
        clear(&mut state);
    }

    /// A heartbeat sent at `sent` was answered and every invalidation that
    /// came before its answer has been applied.
    pub(crate) fn renew(&self, sent: Instant) {
        let mut state = self.lock();
        let until = sent + self.staleness;
        if state.lease_until.is_none_or(|current| current < until) {
            state.lease_until = Some(until);
        }
    }

    pub(crate) fn status(&self, now: Instant) -> LocalCacheStatus {
        let state = self.lock();
        LocalCacheStatus {
            tracking: state.lease_until.is_some_and(|until| now < until),
            entries: state.access.len(),
            last_error: state.last_error.clone(),
        }
    }
}

fn invalidate_key(state: &mut State, key: &str) {
    state.epochs[shard(key)] += 1;
    if let Some(tokens) = state.sessions.remove(key) {
        for access_key in tokens.keys() {
            state.access.remove(access_key);
        }
    }
    if let Some(session_key) = state.access.remove(key) {
        if let Some(tokens) = state.sessions.get_mut(&session_key) {
            tokens.remove(key);
            if tokens.is_empty() {
                state.sessions.remove(&session_key);
            }
        }
    }
}

fn clear(state: &mut State) {
    state.sessions.clear();
    state.access.clear();
}

fn purge_expired(state: &mut State, now: Instant) {
    let State { sessions, access, .. } = state;
    sessions.retain(|_, tokens| {
        tokens.retain(|access_key, until| {
            let keep = now < *until;
            if !keep {
                access.remove(access_key);
            }
            keep
        });
        !tokens.is_empty()
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "p:access:{u}:s1:a1";
    const S: &str = "p:session:{u}:s1";

    fn cache(max_entries: usize) -> LiveCache {
        let config = LocalCacheConfig { max_entries, ..LocalCacheConfig::default() };
        let cache = LiveCache::new(&config);
        cache.renew(Instant::now());
        cache
    }

    fn miss(cache: &LiveCache, access: &str, session: &str) -> Snapshot {
        match cache.lookup(access, session, Instant::now()) {
            Lookup::Miss(snapshot) => snapshot,
            other => panic!("expected a miss, got {other:?}"),
        }
    }

    fn later() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    #[test]
    fn a_live_answer_is_served_until_its_key_is_invalidated() {
        let cache = cache(10);
        let snapshot = miss(&cache, A, S);
        assert!(cache.insert(snapshot, A.into(), S.into(), later(), Instant::now()));
        assert_eq!(cache.lookup(A, S, Instant::now()), Lookup::Hit);
        cache.invalidate(A);
        assert!(matches!(cache.lookup(A, S, Instant::now()), Lookup::Miss(_)));
    }

    #[test]
    fn invalidating_the_session_forgets_all_its_tokens() {
        let cache = cache(10);
        let other = "p:access:{u}:s1:a2";
        for access in [A, other] {
            let snapshot = miss(&cache, access, S);
            assert!(cache.insert(snapshot, access.into(), S.into(), later(), Instant::now()));
        }
        cache.invalidate(S);
        for access in [A, other] {
            assert!(matches!(cache.lookup(access, S, Instant::now()), Lookup::Miss(_)));
        }
        assert_eq!(cache.status(Instant::now()).entries, 0);
    }

    #[test]
    fn an_invalidation_between_snapshot_and_insert_keeps_the_answer_out() {
        // The race: our EXISTS ran before another instance's DEL, whose
        // invalidation is applied before our insert. Either key counts.
        for invalidated in [A, S] {
            let cache = cache(10);
            let snapshot = miss(&cache, A, S);
            cache.invalidate(invalidated);
            assert!(!cache.insert(snapshot, A.into(), S.into(), later(), Instant::now()));
            assert!(matches!(cache.lookup(A, S, Instant::now()), Lookup::Miss(_)));
        }
    }

    #[test]
    fn a_loss_of_tracking_between_snapshot_and_insert_keeps_the_answer_out() {
        let cache = cache(10);
        let snapshot = miss(&cache, A, S);
        cache.lose(Some("gone".into()));
        cache.renew(Instant::now());
        assert!(!cache.insert(snapshot, A.into(), S.into(), later(), Instant::now()));
        let snapshot = miss(&cache, A, S);
        cache.flush();
        assert!(!cache.insert(snapshot, A.into(), S.into(), later(), Instant::now()));
    }

    #[test]
    fn ending_a_users_sessions_forgets_them_and_moves_every_epoch() {
        let cache = cache(10);
        let other_user = ("p:access:{v}:s9:a9", "p:session:{v}:s9");
        for (access, session) in [(A, S), other_user] {
            let snapshot = miss(&cache, access, session);
            assert!(cache.insert(snapshot, access.into(), session.into(), later(), Instant::now()));
        }
        let pending = miss(&cache, "p:access:{u}:s2:b1", "p:session:{u}:s2");
        cache.invalidate_prefix("p:session:{u}:");
        assert!(matches!(cache.lookup(A, S, Instant::now()), Lookup::Miss(_)));
        assert_eq!(cache.lookup(other_user.0, other_user.1, Instant::now()), Lookup::Hit);
        let (a, s) = ("p:access:{u}:s2:b1".to_owned(), "p:session:{u}:s2".to_owned());
        assert!(!cache.insert(pending, a, s, later(), Instant::now()));
    }

    #[test]
    fn without_a_running_lease_nothing_is_served() {
        let cache = LiveCache::new(&LocalCacheConfig::default());
        assert_eq!(cache.lookup(A, S, Instant::now()), Lookup::Bypass);
        let sent = Instant::now();
        cache.renew(sent);
        let snapshot = miss(&cache, A, S);
        assert!(cache.insert(snapshot, A.into(), S.into(), later(), Instant::now()));
        assert_eq!(cache.lookup(A, S, Instant::now()), Lookup::Hit);
        // Past the lease, the entry is kept but not served.
        assert_eq!(cache.lookup(A, S, sent + Duration::from_millis(100)), Lookup::Bypass);
        cache.lose(None);
        cache.renew(Instant::now());
        assert!(matches!(cache.lookup(A, S, Instant::now()), Lookup::Miss(_)));
    }

    #[test]
    fn entries_end_with_the_key_expiry_or_the_max_age() {
        let cache = cache(10);
        let now = Instant::now();
        let at = |secs| now + Duration::from_secs(secs);
        let snapshot = miss(&cache, A, S);
        assert!(cache.insert(snapshot, A.into(), S.into(), at(5), now));
        assert_eq!(cache.lookup(A, S, now + Duration::from_millis(10)), Lookup::Hit);
        // Keep the lease running so that only the entry's own time counts.
        cache.renew(at(5));
        let Lookup::Miss(snapshot) = cache.lookup(A, S, at(5)) else { panic!("still served") };
        assert!(cache.insert(snapshot, A.into(), S.into(), at(3600), at(5)));
        cache.renew(at(35));
        assert_eq!(cache.lookup(A, S, at(34)), Lookup::Hit);
        assert!(matches!(cache.lookup(A, S, at(35)), Lookup::Miss(_)), "30 s max age");
    }

    #[test]
    fn a_full_cache_drops_expired_entries_then_refuses_more() {
        let cache = cache(2);
        let now = Instant::now();
        let soon = now + Duration::from_millis(1);
        for (i, until) in [(1, soon), (2, later())] {
            let (a, s) = (format!("p:access:{{u}}:s{i}:a"), format!("p:session:{{u}}:s{i}"));
            let snapshot = miss(&cache, &a, &s);
            assert!(cache.insert(snapshot, a, s, until, now));
        }
        let after = now + Duration::from_millis(5);
        let (a, s) = ("p:access:{u}:s3:a".to_owned(), "p:session:{u}:s3".to_owned());
        let snapshot = miss(&cache, &a, &s);
        assert!(cache.insert(snapshot, a, s, later(), after), "the expired entry made room");
        let (a, s) = ("p:access:{u}:s4:a".to_owned(), "p:session:{u}:s4".to_owned());
        let snapshot = miss(&cache, &a, &s);
        assert!(!cache.insert(snapshot, a, s, later(), after), "full of live entries");
        assert_eq!(cache.status(after).entries, 2);
    }
}
