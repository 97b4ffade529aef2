//! Issue and verify the access and refresh tokens of a JWT session, and
//! verify them in other services through a published JWKS.
//!
//! A login yields a [`TokenPair`]: a short-lived access token sent with every
//! request and a long-lived refresh token traded for the next pair. Both are
//! compact JWS, each kind with its own keys, and both carry the same session
//! id (`sid`). The header's `typ` names the kind (`at+jwt` for access, RFC
//! 9068; `refresh+jwt` for refresh), so one can never stand in for the other.
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
//! Keys ([`JwsKey`]) are HMAC (HS256/384/512), RSA (RS256/384/512,
//! PS256/384/512, at least 2048 bits), ECDSA (ES256/384/512) or Ed25519
//! (`EdDSA`), loaded from PEM, DER or JWK and pinned to one algorithm. A
//! [`KeySet`] holds a kind's signing key and the keys that still verify;
//! tokens name their key by `kid`, so [`TokenService::rotate_key`] can bring
//! in a new key while everything signed by the old one keeps verifying until
//! it expires. The public keys are published with [`TokenService::jwks`],
//! and another service verifies with them alone:
//!
//! ```
//! use jwt_session_token::{
//!     Algorithm, JwksVerifier, JwsKey, KeySet, TokenError, TokenKeys, TokenKind, TokenService,
//!     TokenSettings,
//! };
//!
//! // The issuer signs with a private key and serves its JWKS.
//! let access = KeySet::new(JwsKey::generate(Algorithm::EdDsa)?.with_kid("2026-01"))?;
//! let refresh = KeySet::new(JwsKey::generate(Algorithm::Hs256)?)?;
//! let settings = TokenSettings::new("my-app", "my-clients");
//! let issuer = TokenService::new(settings.clone(), TokenKeys::from_key_sets(access, refresh)?)?;
//! let jwks_json = issuer.jwks().to_json(); // no HMAC key, no private member
//!
//! // Another service verifies access tokens with the public keys only.
//! let verifier = JwksVerifier::from_jwks(settings, &jwks_json)?;
//! let pair = issuer.issue_pair("user-42", "session-1")?;
//! assert_eq!(verifier.verify(&pair.access.token, TokenKind::Access)?.sub, "user-42");
//! # Ok::<(), TokenError>(())
//! ```
//!
//! With the cargo feature `jwks-fetch`, `RemoteJwks` fetches the JWKS from a
//! URL, caches it, refetches when a token names an unknown `kid` (one fetch
//! at a time, at most one per cooldown) and keeps serving cached keys when
//! the JWKS host is down. Without it the crate has no HTTP client.
//!
//! Verification trusts nothing in the token before its signature holds: the
//! length limit comes first, the header's `kid` selects one of the keys
//! already held and that key pins the algorithm (the header's `alg` only
//! has to agree), `crit`, `zip` and encrypted (JWE) input are refused, and
//! header fields that could point at other keys (`jku`, `x5u`, `x5c`, `jwk`)
//! are never read. Callers may add their own typed claims
//! ([`TokenService::issue_custom_at`], [`TokenService::verify_custom`]).
//! Apart from `RemoteJwks`, this crate does no I/O, and it never logs;
//! whether a token id is still live (not revoked) is for a store to say.
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
mod rules;
mod service;
mod settings;
pub mod unverified;
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
pub use rules::{ClaimCheck, ClaimRules};
pub use service::{new_id, successor_ids, unix_now, IssuedToken, TokenPair, TokenService};
pub use settings::TokenSettings;
