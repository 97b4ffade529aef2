//! Issue and verify the access and refresh tokens of a JWT session.
//!
//! A login yields a [`TokenPair`]: a short-lived access token sent with every
//! request and a long-lived refresh token traded for the next pair. Both are
//! compact JWS signed with HS256 (through josekit), each kind with its own
//! key, and both carry the same session id (`sid`). The header's `typ` names
//! the kind (`at+jwt` for access, RFC 9068; `refresh+jwt` for refresh), so
//! one can never stand in for the other.
//!
//! ```
//! use jwt_session_token::{new_id, TokenError, TokenKeys, TokenKind, TokenService, TokenSettings};
//!
//! let keys = TokenKeys::hs256(
//!     b"access secret: at least 32 random bytes",
//!     b"refresh secret: 32 other random bytes!",
//! )?;
//! let tokens = TokenService::new(TokenSettings::new("my-app", "my-clients"), keys)?;
//!
//! let pair = tokens.issue_pair("user-42", &new_id())?;
//! let claims = tokens.verify(&pair.access.token, TokenKind::Access)?;
//! assert_eq!(claims.sub, "user-42");
//!
//! let refused = tokens.verify(&pair.refresh.token, TokenKind::Access);
//! assert!(matches!(refused, Err(TokenError::WrongType { .. })));
//! # Ok::<(), TokenError>(())
//! ```
//!
//! Verification trusts nothing in the token before its signature holds: the
//! length limit comes first, the algorithm is pinned by the key (the header's
//! `alg` only has to agree), and header fields that could point at other keys
//! (`jku`, `x5u`, `x5c`, `jwk`) are never read. This crate does no I/O and
//! does not log; whether a token id is still live (not revoked) is for a
//! store to say.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod algorithm;
mod claims;
mod compact;
mod error;
mod jwk;
mod jwks_verifier;
mod jws_key;
mod key_set;
mod keys;
mod kind;
#[cfg(feature = "jwks-fetch")]
mod remote;
mod service;
mod settings;
mod verify;

pub use algorithm::Algorithm;
pub use claims::{Claims, Verified};
pub use error::TokenError;
pub use jwk::{jwk_thumbprint, Jwks};
pub use jwks_verifier::JwksVerifier;
pub use jws_key::{JwsKey, MIN_RSA_BITS};
pub use key_set::KeySet;
pub use keys::{HmacKey, TokenKeys, MIN_SECRET_BYTES};
pub use kind::TokenKind;
#[cfg(feature = "jwks-fetch")]
pub use remote::{RemoteJwks, RemoteJwksOptions};
pub use service::{new_id, unix_now, IssuedToken, TokenPair, TokenService};
pub use settings::TokenSettings;
