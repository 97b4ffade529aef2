//! Where issued token ids live, so that revoking a token takes effect at once.
//!
//! A token is accepted only while its id is recorded here. [`TokenStore`] is
//! the trait; [`MemoryStore`] keeps ids in the process and [`RedisStore`]
//! (feature `redis`, on by default) keeps them in Redis for several server
//! instances. Both behave the same, checked by one conformance suite.
//!
//! ```
//! use jwt_session_store::{LiveToken, MemoryStore, TokenId, TokenStore};
//! use jwt_session_token::{unix_now, TokenKind};
//!
//! # tokio_test_block_on(async {
//! let store = MemoryStore::new();
//! let id = TokenId { kind: TokenKind::Refresh, subject: "user-42", jti: "3f1c" };
//!
//! store.record(&[LiveToken { id, expires_at: unix_now() + 60 }]).await?;
//! assert!(store.is_live(id).await?);
//!
//! // Rotating a refresh token: exactly one caller wins the consume.
//! assert!(store.consume(id).await?);
//! assert!(!store.consume(id).await?);
//! assert!(!store.is_live(id).await?);
//! # Ok::<(), jwt_session_store::StoreError>(())
//! # }).unwrap();
//! # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
//! # }
//! ```
//!
//! Errors never mean "revoked": [`StoreError`] says the store could not
//! answer, and a caller must then refuse the request.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod any;
mod error;
mod memory;
#[cfg(feature = "redis")]
mod redis;
mod store;
mod token_id;

pub use any::AnyStore;
pub use error::{BoxError, StoreError};
pub use memory::{Clock, MemoryStore};
#[cfg(feature = "redis")]
pub use redis::{RedisStore, RedisStoreConfig};
pub use store::TokenStore;
pub use token_id::{LiveToken, TokenId};
