use thiserror::Error;

/// The cause behind a store error, kept for logs.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why the store could not answer.
///
/// Every variant means "unknown", never "revoked": callers must refuse the
/// request (fail closed) and report the store as unavailable.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No connection could be had: the backend is down or unreachable, or the
    /// pool is exhausted.
    #[error("store unavailable")]
    Unavailable(#[source] BoxError),
    /// The backend did not answer within the configured timeout.
    #[error("store did not answer in time")]
    Timeout(#[source] BoxError),
    /// The backend answered with an error.
    #[error("store command failed")]
    Command(#[source] BoxError),
    /// The store's configuration is unusable; the message says which part.
    #[error("invalid store configuration: {0}")]
    Config(String),
}
