//! One connection type over a standalone pool or a Cluster pool.

use std::fmt;
use std::time::Duration;

use deadpool_redis::{cluster, Manager, Pool, Runtime};
use redis::aio::ConnectionLike;
use redis::{AsyncConnectionConfig, Cmd, Pipeline, RedisError, RedisFuture, Value};

use super::RedisStoreConfig;
use crate::StoreError;

#[derive(Clone)]
pub(super) enum Backend {
    Standalone(Pool),
    Cluster(cluster::Pool),
}

pub(super) enum Conn {
    Standalone(deadpool_redis::Connection),
    Cluster(cluster::Connection),
}

impl Backend {
    pub(super) fn new(config: &RedisStoreConfig, timeout: Duration) -> Result<Self, StoreError> {
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

    pub(super) async fn get(&self) -> Result<Conn, StoreError> {
        match self {
            Self::Standalone(pool) => pool.get().await.map(Conn::Standalone).map_err(pool_error),
            Self::Cluster(pool) => pool.get().await.map(Conn::Cluster).map_err(pool_error),
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

pub(super) fn command_error(error: RedisError) -> StoreError {
    if error.is_timeout() {
        StoreError::Timeout(error.into())
    } else if error.is_io_error() || error.is_connection_dropped() || error.is_connection_refusal()
    {
        StoreError::Unavailable(error.into())
    } else {
        StoreError::Command(error.into())
    }
}

impl ConnectionLike for Conn {
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
