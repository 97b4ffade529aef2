use crate::{
    AccessRef, MemoryStore, NewSession, Rotation, RotationOutcome, SessionInfo, SessionStore,
    StoreError,
};

/// One of the bundled backends, chosen at run time (from configuration, say)
/// without boxing every call.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum AnyStore {
    /// The embedded in-process store.
    Memory(MemoryStore),
    /// The Redis store, standalone or Cluster.
    #[cfg(feature = "redis")]
    Redis(crate::RedisStore),
}

impl AnyStore {
    /// A short name of the backend for logs: `memory` or `redis`.
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Memory(_) => "memory",
            #[cfg(feature = "redis")]
            Self::Redis(_) => "redis",
        }
    }
}

macro_rules! delegate {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            AnyStore::Memory($store) => $call.await,
            #[cfg(feature = "redis")]
            AnyStore::Redis($store) => $call.await,
        }
    };
}

impl SessionStore for AnyStore {
    async fn start(&self, session: &NewSession<'_>) -> Result<usize, StoreError> {
        delegate!(self, store => store.start(session))
    }

    async fn access_is_live(&self, token: AccessRef<'_>) -> Result<bool, StoreError> {
        delegate!(self, store => store.access_is_live(token))
    }

    async fn rotate(&self, rotation: &Rotation<'_>) -> Result<RotationOutcome, StoreError> {
        delegate!(self, store => store.rotate(rotation))
    }

    async fn end_session(&self, subject: &str, sid: &str) -> Result<bool, StoreError> {
        delegate!(self, store => store.end_session(subject, sid))
    }

    async fn end_sessions(&self, subject: &str, keep: Option<&str>) -> Result<usize, StoreError> {
        delegate!(self, store => store.end_sessions(subject, keep))
    }

    async fn sessions(&self, subject: &str, now: u64) -> Result<Vec<SessionInfo>, StoreError> {
        delegate!(self, store => store.sessions(subject, now))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        delegate!(self, store => store.ping())
    }
}
