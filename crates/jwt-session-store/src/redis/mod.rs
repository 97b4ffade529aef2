mod cache;
mod connection;
mod tracking;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::Script;

use crate::keys::UserKeys;
use crate::{
    AccessRef, NewSession, Rotation, RotationOutcome, SessionInfo, SessionStore, StoreError,
};
use cache::Lookup;
pub use cache::{LocalCacheConfig, LocalCacheStatus};
pub use connection::{command_error, PoolStatus, RedisConnection, RedisPool};
use tracking::Tracker;

/// How to reach Redis and how to name keys there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisStoreConfig {
    /// `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. For a
    /// cluster, one URL per seed node, comma-separated.
    pub url: String,
    /// Treat `url` as the seed nodes of a Redis Cluster. Default: false.
    pub cluster: bool,
    /// Name of the master that Redis Sentinel watches; when set, `url` lists
    /// the Sentinels (comma-separated) and every new connection goes to the
    /// master they currently name, so a promoted replica is found without a
    /// restart. Ignored with `cluster`. Default: none.
    pub sentinel_master: Option<String>,
    /// Prepended to every key, so that several applications can share one
    /// Redis. Default: `jwt-session:`.
    pub key_prefix: String,
    /// Most connections the pool opens. Default: 16.
    pub pool_max_size: usize,
    /// Longest wait for a connection, for connecting, and for each whole
    /// operation, in milliseconds. Default: 1000.
    pub timeout_ms: u64,
    /// Keep a local cache of access tokens known live, kept correct by Redis
    /// invalidation messages (see the crate docs). Standalone Redis only:
    /// with `cluster` or `sentinel_master` the store refuses to build.
    /// Default: none (every check asks Redis).
    pub local_cache: Option<LocalCacheConfig>,
}

impl RedisStoreConfig {
    /// The defaults for a standalone Redis at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            cluster: false,
            sentinel_master: None,
            key_prefix: "jwt-session:".to_owned(),
            pool_max_size: 16,
            timeout_ms: 1000,
            local_cache: None,
        }
    }

    /// The same, with the local cache of live tokens on.
    #[must_use]
    pub fn with_local_cache(self, cache: LocalCacheConfig) -> Self {
        Self { local_cache: Some(cache), ..self }
    }

    /// The defaults for a Redis Cluster reached through `seed_urls`.
    pub fn cluster<S: AsRef<str>>(seed_urls: &[S]) -> Self {
        let urls: Vec<&str> = seed_urls.iter().map(AsRef::as_ref).collect();
        Self { cluster: true, ..Self::new(urls.join(",")) }
    }

    /// The defaults for the master `master` watched by the Sentinels at
    /// `sentinel_urls`.
    pub fn sentinel<S: AsRef<str>>(sentinel_urls: &[S], master: impl Into<String>) -> Self {
        let urls: Vec<&str> = sentinel_urls.iter().map(AsRef::as_ref).collect();
        Self { sentinel_master: Some(master.into()), ..Self::new(urls.join(",")) }
    }
}

/// A store on Redis (standalone or Cluster) through deadpool-redis.
///
/// Every operation is one round trip and one command: `EXISTS` over two keys
/// for the hot path, a Lua script for each multi-key step, so each is atomic.
/// All keys of one user share a hash tag (see the crate docs), which keeps the
/// scripts on one Cluster slot. Keys carry expiries taken from the tokens and
/// sessions, so they vanish by themselves. With the local cache (see the
/// crate docs), a cached token's check sends nothing and a miss sends `PTTL`
/// of both keys in one round trip. Clones share the pool and the local cache.
#[derive(Clone)]
pub struct RedisStore {
    pool: RedisPool,
    prefix: String,
    scripts: Arc<Scripts>,
    cache: Option<Arc<Tracker>>,
}

struct Scripts {
    start: Script,
    rotate: Script,
    end_session: Script,
    end_sessions: Script,
    sessions: Script,
}

impl RedisStore {
    /// Builds the pool. No connection is made yet: a Redis that is down now
    /// makes requests fail (closed) until it is back, not the start-up.
    ///
    /// With [`RedisStoreConfig::local_cache`], the task that keeps the cache
    /// correct starts on the current Tokio runtime (or, when called outside
    /// one, with the first check); until it has set up tracking, every check
    /// goes to Redis.
    ///
    /// # Errors
    ///
    /// [`StoreError::Config`] for an unusable URL, pool size or timeout, or a
    /// local cache asked for with Cluster or Sentinel.
    pub fn new(config: &RedisStoreConfig) -> Result<Self, StoreError> {
        let pool = RedisPool::new(config)?;
        let cache = match &config.local_cache {
            None => None,
            Some(_) if config.cluster || config.sentinel_master.is_some() => {
                return Err(StoreError::Config(
                    "the local token cache needs a standalone Redis; it cannot yet follow \
                     invalidations across a Cluster or a Sentinel failover"
                        .into(),
                ))
            }
            Some(cache) => {
                let prefixes = UserKeys::tracked_prefixes(&config.key_prefix);
                let timeout = Duration::from_millis(config.timeout_ms);
                Some(Tracker::new(&config.url, prefixes, cache, timeout)?)
            }
        };
        Ok(Self {
            cache,
            pool,
            prefix: config.key_prefix.clone(),
            scripts: Arc::new(Scripts {
                start: Script::new(concat!(include_str!("end_one.lua"), include_str!("start.lua"))),
                rotate: Script::new(include_str!("rotate.lua")),
                end_session: Script::new(concat!(
                    include_str!("end_one.lua"),
                    include_str!("end_session.lua")
                )),
                end_sessions: Script::new(concat!(
                    include_str!("end_one.lua"),
                    include_str!("end_sessions.lua")
                )),
                sessions: Script::new(include_str!("sessions.lua")),
            }),
        })
    }

    fn keys(&self, subject: &str) -> UserKeys {
        UserKeys::new(&self.prefix, subject)
    }

    /// The connection pool, for application data kept in the same Redis.
    pub fn pool(&self) -> &RedisPool {
        &self.pool
    }

    /// The configured key prefix.
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }

    /// What the local cache of live tokens is doing; `None` without one.
    pub fn local_cache_status(&self) -> Option<LocalCacheStatus> {
        self.cache.as_ref().map(|tracker| tracker.cache.status(Instant::now()))
    }

    /// Whether the access token is live, by one `EXISTS` over its key and
    /// its session's.
    async fn exists(&self, access: String, session: String) -> Result<bool, StoreError> {
        let mut exists = redis::cmd("EXISTS");
        exists.arg(access).arg(session);
        let exists = &exists;
        self.pool
            .run_repeatable(|mut conn| async move {
                let found: u8 = exists.query_async(&mut conn).await.map_err(command_error)?;
                Ok(found == 2)
            })
            .await
    }

    /// Whether the access token is live and, if so, until when the answer
    /// holds (the earlier expiry of its two keys), by `PTTL` of both in one
    /// round trip. Counted from before the request, so never too late.
    async fn live_until(
        &self,
        access: &str,
        session: &str,
        cap: Duration,
    ) -> Result<Option<Instant>, StoreError> {
        let sent = Instant::now();
        let mut pipe = redis::pipe();
        pipe.pttl(access).pttl(session);
        let pipe = &pipe;
        let (access_ms, session_ms): (i64, i64) = self
            .pool
            .run_repeatable(|mut conn| async move {
                pipe.query_async(&mut conn).await.map_err(command_error)
            })
            .await?;
        // -2: no such key; -1: no expiry.
        if access_ms == -2 || session_ms == -2 {
            return Ok(None);
        }
        let left = [access_ms, session_ms]
            .into_iter()
            .filter_map(|ms| u64::try_from(ms).ok())
            .map(Duration::from_millis)
            .fold(cap, Duration::min);
        Ok(Some(sent + left))
    }

    /// After a write on this instance, forgets at once what it changed, so
    /// this instance never waits for its own invalidation message.
    fn forget(&self, key: &str) {
        if let Some(tracker) = &self.cache {
            tracker.cache.invalidate(key);
        }
    }

    async fn run<T, F, Fut>(&self, op: F) -> Result<T, StoreError>
    where
        F: FnOnce(RedisConnection) -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        self.pool.run(op).await
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("pool", &self.pool)
            .field("prefix", &self.prefix)
            .field("local_cache", &self.local_cache_status())
            .finish()
    }
}

/// Counts one check of the local cache by `result`: `hit`, `miss` or
/// `bypass` (tracking is off: Redis was asked and nothing cached).
#[cfg(feature = "metrics")]
fn count(result: &'static str) {
    metrics::counter!("jwt_session_store_local_cache_checks_total", "result" => result)
        .increment(1);
}

#[cfg(not(feature = "metrics"))]
fn count(_result: &'static str) {}

impl SessionStore for RedisStore {
    async fn start(&self, new: &NewSession<'_>) -> Result<usize, StoreError> {
        let keys = self.keys(new.subject);
        let keys = &keys;
        let ended: Vec<String> = self
            .run(|mut conn| async move {
                let mut call = self.scripts.start.prepare_invoke();
                call.key(keys.session(new.sid))
                    .key(keys.access(new.sid, new.access.jti))
                    .key(keys.index());
                call.arg(new.sid).arg(new.device).arg(new.ip).arg(new.now);
                call.arg(new.access.expires_at).arg(new.access.jti).arg(new.refresh_jti);
                call.arg(new.lifetime.idle_secs).arg(new.lifetime.absolute_secs);
                call.arg(new.max_sessions.map_or(0, |most| most.max(1)));
                call.arg(keys.session_prefix()).arg(keys.access_prefix());
                call.invoke_async(&mut conn).await.map_err(command_error)
            })
            .await?;
        for sid in &ended {
            self.forget(&keys.session(sid));
        }
        Ok(ended.len())
    }

    async fn access_is_live(&self, token: AccessRef<'_>) -> Result<bool, StoreError> {
        let keys = self.keys(token.subject);
        let (access, session) = (keys.access(token.sid, token.jti), keys.session(token.sid));
        let Some(tracker) = &self.cache else {
            return self.exists(access, session).await;
        };
        tracker.ensure_running();
        match tracker.cache.lookup(&access, &session, Instant::now()) {
            Lookup::Hit => {
                count("hit");
                Ok(true)
            }
            Lookup::Bypass => {
                count("bypass");
                self.exists(access, session).await
            }
            Lookup::Miss(snapshot) => {
                count("miss");
                let cap = tracker.cache.max_age();
                let Some(until) = self.live_until(&access, &session, cap).await? else {
                    return Ok(false);
                };
                tracker.cache.insert(snapshot, access, session, until, Instant::now());
                Ok(true)
            }
        }
    }

    async fn rotate(&self, r: &Rotation<'_>) -> Result<RotationOutcome, StoreError> {
        let keys = self.keys(r.subject);
        let keys = &keys;
        let outcome: Result<(String, u64), StoreError> = self
            .run(|mut conn| async move {
                let mut call = self.scripts.rotate.prepare_invoke();
                call.key(keys.session(r.sid))
                    .key(keys.access(r.sid, r.successor_access.jti))
                    .key(keys.index());
                call.arg(r.presented_jti).arg(r.now).arg(r.grace_secs).arg(r.successor_refresh_jti);
                call.arg(r.successor_access.jti)
                    .arg(r.successor_access.expires_at)
                    .arg(r.idle_secs);
                call.arg(r.on_reuse.as_str()).arg(keys.session_access_prefix(r.sid)).arg(r.sid);
                call.invoke_async(&mut conn).await.map_err(command_error)
            })
            .await;
        // Whatever the outcome, the session hash may have changed.
        self.forget(&keys.session(r.sid));
        let (outcome, time) = outcome?;
        match outcome.as_str() {
            "rotated" => Ok(RotationOutcome::Rotated),
            "replayed" => Ok(RotationOutcome::Replayed { issued_at: time }),
            "reused" => Ok(RotationOutcome::Reused),
            "gone" => Ok(RotationOutcome::SessionGone),
            other => Err(StoreError::Config(format!("rotate script answered {other:?}"))),
        }
    }

    async fn end_session(&self, subject: &str, sid: &str) -> Result<bool, StoreError> {
        let keys = self.keys(subject);
        let keys = &keys;
        let ended = self
            .run(|mut conn| async move {
                // One script on one slot: the session and its index entry.
                let mut call = self.scripts.end_session.key(keys.session(sid));
                call.key(keys.index()).arg(sid).arg(keys.session_access_prefix(sid));
                let deleted: u32 = call.invoke_async(&mut conn).await.map_err(command_error)?;
                Ok(deleted == 1)
            })
            .await;
        self.forget(&keys.session(sid));
        ended
    }

    async fn end_sessions(&self, subject: &str, keep: Option<&str>) -> Result<usize, StoreError> {
        let keys = self.keys(subject);
        let keys = &keys;
        let ended = self
            .run(|mut conn| async move {
                let mut call = self.scripts.end_sessions.prepare_invoke();
                call.key(keys.index()).arg(keys.session_prefix()).arg(keep.unwrap_or(""));
                call.arg(keys.access_prefix());
                call.invoke_async(&mut conn).await.map_err(command_error)
            })
            .await;
        if let Some(tracker) = &self.cache {
            tracker.cache.invalidate_prefix(keys.session_prefix());
        }
        ended
    }

    async fn sessions(&self, subject: &str, now: u64) -> Result<Vec<SessionInfo>, StoreError> {
        let keys = self.keys(subject);
        let mut call = self.scripts.sessions.prepare_invoke();
        call.key(keys.index()).arg(keys.session_prefix()).arg(now);
        let call = &call;
        let fields: Vec<String> = self
            .pool
            .run_repeatable(|mut conn| async move {
                call.invoke_async(&mut conn).await.map_err(command_error)
            })
            .await?;
        let number = |text: &str| text.parse::<f64>().map_or(0, |n| n as u64);
        let mut sessions: Vec<SessionInfo> = fields
            .chunks_exact(7)
            .map(|f| SessionInfo {
                sid: f[0].clone(),
                device: f[1].clone(),
                ip: f[2].clone(),
                created_at: number(&f[3]),
                last_used_at: number(&f[4]),
                refresh_count: number(&f[5]),
                expires_at: number(&f[6]),
            })
            .collect();
        sessions.sort_by(|a, b| (a.created_at, &a.sid).cmp(&(b.created_at, &b.sid)));
        Ok(sessions)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.pool
            .run_repeatable(|mut conn| async move {
                redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .map(drop)
                    .map_err(command_error)
            })
            .await
    }
}
