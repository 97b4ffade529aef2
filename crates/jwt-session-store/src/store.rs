use std::future::Future;

use crate::{LiveToken, StoreError, TokenId};

/// Where issued token ids live until they expire or are revoked.
///
/// A token is accepted only while its id is live here, so deleting the id
/// revokes the token at once. "Not there" is `Ok(false)`, never an error; an
/// error means the store could not say, and callers must fail closed.
///
/// Implementors write `async fn`; the futures must be `Send`. Every method is
/// one round trip to the backend.
pub trait TokenStore: Send + Sync {
    /// Records tokens as live until their `expires_at`; entries already past
    /// it are skipped. All tokens are recorded together or not at all.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend cannot be reached or refuses.
    fn record(
        &self,
        tokens: &[LiveToken<'_>],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Whether a token is still live.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend cannot be reached or refuses.
    fn is_live(&self, id: TokenId<'_>) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Revokes tokens; returns how many of them were live.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend cannot be reached or refuses.
    fn revoke(&self, ids: &[TokenId<'_>])
        -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// Revokes a token and says whether this call was the one that did: of
    /// any number of concurrent calls for one live token, exactly one gets
    /// `true`.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend cannot be reached or refuses.
    fn consume(&self, id: TokenId<'_>) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Checks that the backend answers.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when it does not.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}
