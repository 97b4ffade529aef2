//! Sessions and their live token ids, so that revoking a token or a whole
//! session takes effect at once, and refresh tokens rotate exactly once.
//!
//! [`SessionStore`] is the trait. [`MemoryStore`] keeps everything in the
//! process; [`RedisStore`] (feature `redis`, on by default) keeps it in Redis,
//! standalone or Cluster, for several server instances. All behave the same,
//! checked by one conformance suite run against each.
//!
//! ```
//! use jwt_session_store::{
//!     AccessGrant, AccessRef, MemoryStore, NewSession, ReusePolicy, Rotation, RotationOutcome,
//!     SessionLifetime, SessionStore,
//! };
//! use jwt_session_token::unix_now;
//!
//! # tokio_test_block_on(async {
//! let store = MemoryStore::new();
//! let now = unix_now();
//! let lifetime = SessionLifetime { idle_secs: 7 * 86_400, absolute_secs: 30 * 86_400 };
//! store
//!     .start(&NewSession {
//!         subject: "user-42",
//!         sid: "s-1",
//!         device: "Firefox on Linux",
//!         ip: "192.0.2.7",
//!         now,
//!         access: AccessGrant { jti: "a-1", expires_at: now + 930 },
//!         refresh_jti: "r-1",
//!         lifetime,
//!         max_sessions: Some(100),
//!     })
//!     .await?;
//! assert!(store.access_is_live(AccessRef { subject: "user-42", sid: "s-1", jti: "a-1" }).await?);
//!
//! // Trade refresh token r-1 for its successor: the first call rotates, a
//! // racing or retried call within the grace window gets the same successor.
//! let rotation = Rotation {
//!     subject: "user-42",
//!     sid: "s-1",
//!     presented_jti: "r-1",
//!     successor_refresh_jti: "r-2",
//!     successor_access: AccessGrant { jti: "a-2", expires_at: now + 930 },
//!     now,
//!     grace_secs: 10,
//!     idle_secs: lifetime.idle_secs,
//!     on_reuse: ReusePolicy::RevokeSession,
//! };
//! assert_eq!(store.rotate(&rotation).await?, RotationOutcome::Rotated);
//! assert_eq!(store.rotate(&rotation).await?, RotationOutcome::Replayed { issued_at: now });
//!
//! // Ending the session revokes every token of it.
//! assert!(store.end_session("user-42", "s-1").await?);
//! assert!(!store.access_is_live(AccessRef { subject: "user-42", sid: "s-1", jti: "a-2" }).await?);
//! # Ok::<(), jwt_session_store::StoreError>(())
//! # }).unwrap();
//! # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
//! # }
//! ```
//!
//! In Redis, every key of one user carries the user id as its hash tag:
//! `<prefix>session:{<user>}:<sid>` (a hash), `<prefix>access:{<user>}:<jti>`
//! and `<prefix>sessions:{<user>}` (the user's sessions by expiry). Every key
//! expires with what it describes, so nothing grows without bound.
//!
//! Errors never mean "revoked": [`StoreError`] says the store could not
//! answer, and a caller must then refuse the request.
//!
//! # Local cache of live tokens
//!
//! [`RedisStoreConfig::with_local_cache`] makes a [`RedisStore`] keep the
//! access tokens it has recently found live in memory, so that checking a hot
//! token sends no Redis command at all, while a revocation made by any
//! process sharing the Redis is still seen within a stated bound
//! ([`LocalCacheConfig::max_staleness_ms`], 100 ms by default):
//!
//! ```no_run
//! use jwt_session_store::{LocalCacheConfig, RedisStore, RedisStoreConfig};
//!
//! # async fn run() -> Result<(), jwt_session_store::StoreError> {
//! let config = RedisStoreConfig::new("redis://127.0.0.1:6379/")
//!     .with_local_cache(LocalCacheConfig::default());
//! let store = RedisStore::new(&config)?; // within a Tokio runtime
//! println!("{:?}", store.local_cache_status());
//! # Ok(()) }
//! ```
//!
//! - **What is cached**: only "this access token and its session are live",
//!   until the earlier expiry of the two keys in Redis (read with `PTTL` in
//!   the same round trip as the check) and at most
//!   [`LocalCacheConfig::max_age_ms`]. A "not live" answer is never cached,
//!   and every other operation goes to Redis.
//! - **Invalidation**: the store opens one RESP3 connection of its own and
//!   turns on `CLIENT TRACKING ON BCAST` for the prefixes of access and
//!   session keys, so Redis pushes the name of every such key that changes
//!   (written, deleted, expired, evicted, or all of them on `FLUSHALL`) and
//!   the cached token goes. Revocations made through this store also drop
//!   their entries before returning.
//! - **The race with a concurrent revocation**: a check that misses records
//!   the invalidation counters of both its keys (keys are spread over 64
//!   counters) before asking Redis and caches the answer only if neither
//!   moved and tracking was not lost meanwhile. A revocation that lands after
//!   Redis answered is then either already applied (the counter moved, so
//!   nothing is cached) or still to come (and evicts the entry).
//! - **The bound**: a `PING` goes over the tracking connection every half
//!   of `max_staleness_ms`. Redis sends every invalidation before the answer
//!   to a later command on that connection, so once the answer to a `PING`
//!   sent at `t` is in and the pushes before it are applied, the cache holds
//!   nothing Redis had revoked before `t`. The cache is used only until
//!   `t + max_staleness_ms`: a lost message, a hung Redis or a connection
//!   that died silently lets a revoked token through for at most that long.
//! - **Failure modes**: until tracking is set up, and whenever its connection
//!   fails or a heartbeat is not answered, the cache is emptied and bypassed
//!   (every check is one `EXISTS`, as without the cache), and tracking is set
//!   up again with backoff (50 ms to 2 s). A Redis that does not answer still
//!   yields [`StoreError`], never a cached "live" past the bound.
//! - **Modes**: standalone Redis only; [`RedisStore::new`] refuses the cache
//!   with Cluster or Sentinel, where tracking would have to follow every
//!   master and every failover. The [`MemoryStore`] needs no cache.
//! - **Cost**: one connection and `2000 / max_staleness_ms` `PING`s a second;
//!   every process receives every change to access and session keys.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod any;
mod error;
mod keys;
mod memory;
#[cfg(feature = "redis")]
mod redis;
mod session;
mod store;

pub use any::AnyStore;
pub use error::{BoxError, StoreError};
pub use keys::hash_tag;
pub use memory::{Clock, MemoryStore};
#[cfg(feature = "redis")]
pub use redis::{
    command_error, LocalCacheConfig, LocalCacheStatus, PoolStatus, RedisConnection, RedisPool,
    RedisStore, RedisStoreConfig,
};
pub use session::{
    AccessGrant, AccessRef, NewSession, ReusePolicy, Rotation, RotationOutcome, SessionInfo,
    SessionLifetime,
};
pub use store::SessionStore;
