//! A connection pool over standalone Redis or a Redis Cluster, with one
//! timeout for every operation and errors mapped to [`StoreError`].

use std::fmt;
use std::time::Duration;

use deadpool_redis::{cluster, Manager, Pool, Runtime};
use redis::aio::ConnectionLike;
use redis::{AsyncConnectionConfig, Cmd, Pipeline, RedisError, RedisFuture, Value};

use super::RedisStoreConfig;
use crate::StoreError;

/// A pool of Redis connections, standalone or Cluster, as configured by
/// [`RedisStoreConfig`]. Applications that keep their own data in the same
/// Redis can share it (see [`RedisStore::pool`](super::RedisStore::pool)) and
/// so fail and recover exactly as the session store does.
#[derive(Clone)]
pub struct RedisPool {
    backend: Backend,
    timeout: Duration,
}

#[derive(Clone)]
enum Backend {
    Standalone(Pool),
    Cluster(cluster::Pool),
}

/// A pooled connection, standalone or Cluster; use it as any
/// [`redis::aio::ConnectionLike`].
#[allow(missing_debug_implementations)] // the Cluster connection has no Debug
pub enum RedisConnection {
    /// A standalone (multiplexed) connection.
    Standalone(deadpool_redis::Connection),
    /// A Cluster connection.
    Cluster(cluster::Connection),
}

impl RedisPool {
    /// Builds the pool; connects lazily.
    ///
    /// # Errors
    ///
    /// [`StoreError::Config`] for an unusable URL, pool size or timeout.
    pub fn new(config: &RedisStoreConfig) -> Result<Self, StoreError> {
        if config.pool_max_size == 0 || config.timeout_ms == 0 {
            return Err(StoreError::Config("pool_max_size and timeout_ms must be above 0".into()));
        }
        let timeout = Duration::from_millis(config.timeout_ms);
        Ok(Self { backend: Backend::new(config, timeout)?, timeout })
    }

    /// Runs one operation with a connection; the whole of it, waiting for the
    /// connection included, must finish within the configured timeout.
    ///
    /// # Errors
    ///
    /// [`StoreError::Timeout`] past the timeout, [`StoreError::Unavailable`]
    /// without a connection, or whatever `op` returns.
    pub async fn run<T, F, Fut>(&self, op: F) -> Result<T, StoreError>
    where
        F: FnOnce(RedisConnection) -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>>,
    {
        let work = async {
            let conn = self.backend.get().await?;
            op(conn).await
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(result) => result,
            Err(elapsed) => Err(StoreError::Timeout(elapsed.into())),
        }
    }
}

impl fmt::Debug for RedisPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisPool")
            .field("backend", &self.backend)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Backend {
    fn new(config: &RedisStoreConfig, timeout: Duration) -> Result<Self, StoreError> {
        let bad_url = |e: RedisError| StoreError::Config(format!("redis url: {e}"));
        let bad_pool =
            |e: deadpool_redis::BuildError| StoreError::Config(format!("redis pool: {e}"));
        if config.cluster {
            let seeds: Vec<&str> =
                config.url.split(',').map(str::trim).filter(|u| !u.is_empty()).collect();
            if seeds.is_empty() {
                return Err(StoreError::Config("a cluster needs at least one seed node".into()));
            }
            let manager = cluster::Manager::new(seeds, false).map_err(bad_url)?;
            let pool = cluster::Pool::builder(manager)
                .max_size(config.pool_max_size)
                .wait_timeout(Some(timeout))
                .create_timeout(Some(timeout))
                .recycle_timeout(Some(timeout))
                .runtime(Runtime::Tokio1)
                .build()
                .map_err(bad_pool)?;
            return Ok(Self::Cluster(pool));
        }
        let connection = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout));
        let manager = Manager::new_with_config(config.url.as_str(), connection).map_err(bad_url)?;
        let pool = Pool::builder(manager)
            .max_size(config.pool_max_size)
            .wait_timeout(Some(timeout))
            .create_timeout(Some(timeout))
            .recycle_timeout(Some(timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(bad_pool)?;
        Ok(Self::Standalone(pool))
    }

    async fn get(&self) -> Result<RedisConnection, StoreError> {
        match self {
            Self::Standalone(pool) => {
                pool.get().await.map(RedisConnection::Standalone).map_err(pool_error)
            }
            Self::Cluster(pool) => {
                pool.get().await.map(RedisConnection::Cluster).map_err(pool_error)
            }
        }
    }
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (mode, status) = match self {
            Self::Standalone(pool) => ("standalone", pool.status()),
            Self::Cluster(pool) => ("cluster", pool.status()),
        };
        f.debug_struct("Backend")
            .field("mode", &mode)
            .field("pool_size", &status.size)
            .field("pool_max_size", &status.max_size)
            .finish()
    }
}

fn pool_error(error: deadpool_redis::PoolError) -> StoreError {
    match error {
        deadpool_redis::PoolError::Timeout(_) => StoreError::Timeout(error.into()),
        other => StoreError::Unavailable(other.into()),
    }
}

/// Maps a Redis error to the [`StoreError`] a caller acts on: timeouts and
/// connection failures apart from refused commands.
pub fn command_error(error: RedisError) -> StoreError {
    if error.is_timeout() {
        StoreError::Timeout(error.into())
    } else if error.is_io_error() || error.is_connection_dropped() || error.is_connection_refusal()
    {
        StoreError::Unavailable(error.into())
    } else {
        StoreError::Command(error.into())
    }
}

impl ConnectionLike for RedisConnection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Standalone(conn) => conn.req_packed_command(cmd),
            Self::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Standalone(conn) => conn.req_packed_commands(cmd, offset, count),
            Self::Cluster(conn) => conn.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Standalone(conn) => conn.get_db(),
            Self::Cluster(conn) => conn.get_db(),
        }
    }
}
