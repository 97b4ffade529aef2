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
