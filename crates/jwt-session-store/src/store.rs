use std::future::Future;

use crate::{AccessRef, NewSession, Rotation, RotationOutcome, SessionInfo, StoreError};

/// Where sessions and their live token ids are kept.
///
/// A session is one login on one device. Its refresh tokens form one family:
/// only the newest is current, and trading it for a successor
/// ([`rotate`](Self::rotate)) is atomic. An access token is accepted only
/// while both its id and its session are live, so ending a session revokes
/// all of its tokens at once.
///
/// "Not there" is `Ok(false)` or an empty answer, never an error; an error
/// means the store could not say, and callers must fail closed. Every method
/// is at most one round trip to the backend. Implementors write `async fn`; the
/// futures must be `Send`.
pub trait SessionStore: Send + Sync {
    /// Starts a session with its first access token and refresh token, and
    /// ends the user's older sessions beyond
    /// [`max_sessions`](NewSession::max_sessions); returns how many it ended.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend cannot be reached or refuses.
    fn start(
        &self,
        session: &NewSession<'_>,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// Whether an access token is live: its id is recorded and its session
    /// has not ended.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend cannot be reached or refuses.
    fn access_is_live(
        &self,
        token: AccessRef<'_>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Trades a refresh token for its successor, single-flight: of any number
    /// of concurrent calls with the current token, one rotates and the rest
    /// (within the grace window) are told to hand out the same successor.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend cannot be reached or refuses.
    fn rotate(
        &self,
        rotation: &Rotation<'_>,
    ) -> impl Future<Output = Result<RotationOutcome, StoreError>> + Send;

    /// Ends one session of `subject`; false if it was not live.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend cannot be reached or refuses.
    fn end_session(
        &self,
        subject: &str,
        sid: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Ends every session of `subject` except `keep`; returns how many ended.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend cannot be reached or refuses.
    fn end_sessions(
        &self,
        subject: &str,
        keep: Option<&str>,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// The live sessions of `subject` at `now`, oldest first.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when the backend cannot be reached or refuses.
    fn sessions(
        &self,
        subject: &str,
        now: u64,
    ) -> impl Future<Output = Result<Vec<SessionInfo>, StoreError>> + Send;

    /// Checks that the backend answers.
    ///
    /// # Errors
    ///
    /// [`StoreError`] when it does not.
    fn ping(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}
