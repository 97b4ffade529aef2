use serde::de::DeserializeOwned;

use crate::claims::{Claims, Verified};
use crate::service::unix_now;
use crate::verify::{claims_from, verified_from, verify_token};
use crate::{KeySet, TokenError, TokenKind, TokenSettings};

/// Verifies tokens another service issues, with public keys only: from a
/// JWKS document, or any verify-only [`KeySet`].
///
/// The checks are those of [`TokenService::verify_at`], so a token passes
/// here exactly when it would pass at its issuer. To fetch the JWKS from a
/// URL and follow the issuer's rotations, see `RemoteJwks` (cargo feature
/// `jwks-fetch`).
///
/// [`TokenService::verify_at`]: crate::TokenService::verify_at
#[derive(Debug)]
pub struct JwksVerifier {
    settings: TokenSettings,
    keys: KeySet,
}

impl JwksVerifier {
    /// A verifier with these settings (`issuer`, `audience`, `leeway_secs`
    /// and `max_token_bytes` are used) and keys.
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidSettings`] naming the first setting out of range.
    pub fn new(settings: TokenSettings, keys: KeySet) -> Result<Self, TokenError> {
        settings.validate()?;
        Ok(Self { settings, keys })
    }

    /// A verifier for the keys of a JWKS document.
    ///
    /// # Errors
    ///
    /// As [`KeySet::from_jwks`] and [`new`](Self::new).
    pub fn from_jwks(settings: TokenSettings, jwks: &str) -> Result<Self, TokenError> {
        Self::new(settings, KeySet::from_jwks(jwks)?)
    }

    /// The keys tokens are checked against.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// Verifies `token` as a token of `kind` now and returns its claims.
    ///
    /// # Errors
    ///
    /// A [`TokenError`] variant saying why the token was refused.
    pub fn verify(&self, token: &str, kind: TokenKind) -> Result<Claims, TokenError> {
        self.verify_at(token, kind, unix_now())
    }

    /// Verifies `token` as a token of `kind` at `now` (seconds since the Unix
    /// epoch).
    ///
    /// # Errors
    ///
    /// A [`TokenError`] variant saying why the token was refused.
    pub fn verify_at(&self, token: &str, kind: TokenKind, now: u64) -> Result<Claims, TokenError> {
        let payload = verify_token(&self.keys, &self.settings, token, kind, now)?;
        claims_from(&payload, &self.settings, now)
    }

    /// As [`verify_at`](Self::verify_at), also reading the caller's own
    /// claims of type `C`.
    ///
    /// # Errors
    ///
    /// As [`verify_at`](Self::verify_at); [`TokenError::CustomClaims`] when
    /// the payload does not deserialize into `C`.
    pub fn verify_custom_at<C: DeserializeOwned>(
        &self,
        token: &str,
        kind: TokenKind,
        now: u64,
    ) -> Result<Verified<C>, TokenError> {
        let payload = verify_token(&self.keys, &self.settings, token, kind, now)?;
        verified_from(&payload, &self.settings, now)
    }
}
