use crate::{LiveToken, MemoryStore, StoreError, TokenId, TokenStore};

/// One of the bundled backends, chosen at run time (from configuration, say)
/// without boxing every call.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum AnyStore {
    /// The embedded in-process store.
    Memory(MemoryStore),
    /// The Redis store.
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

impl TokenStore for AnyStore {
    async fn record(&self, tokens: &[LiveToken<'_>]) -> Result<(), StoreError> {
        delegate!(self, store => store.record(tokens))
    }

    async fn is_live(&self, id: TokenId<'_>) -> Result<bool, StoreError> {
        delegate!(self, store => store.is_live(id))
    }

    async fn revoke(&self, ids: &[TokenId<'_>]) -> Result<usize, StoreError> {
        delegate!(self, store => store.revoke(ids))
    }

    async fn consume(&self, id: TokenId<'_>) -> Result<bool, StoreError> {
        delegate!(self, store => store.consume(id))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        delegate!(self, store => store.ping())
    }
}
