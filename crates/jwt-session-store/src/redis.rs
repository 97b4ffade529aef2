use std::fmt;
use std::time::Duration;

use deadpool_redis::{Manager, Pool, Runtime};
use jwt_session_token::unix_now;
use redis::aio::ConnectionLike;
use redis::{AsyncConnectionConfig, RedisError, Script};

use crate::{LiveToken, StoreError, TokenId, TokenStore};

/// Sets each key with its own value and time to live, all at once.
/// KEYS: the token keys. ARGV: value and TTL in seconds for each key, in turn.
const RECORD_SCRIPT: &str = r"
for i, key in ipairs(KEYS) do
  redis.call('SET', key, ARGV[2 * i - 1], 'EX', ARGV[2 * i])
end
return #KEYS
";

/// How to reach Redis and how to name keys there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisStoreConfig {
    /// `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS.
    pub url: String,
    /// Prepended to every key, so that several applications can share one
    /// Redis. Default: `jwt-session:`.
    pub key_prefix: String,
    /// Most connections the pool opens. Default: 16.
    pub pool_max_size: usize,
    /// Longest wait for a connection, for connecting, and for any one
    /// command's answer, in milliseconds. Default: 1000.
    pub timeout_ms: u64,
}

impl RedisStoreConfig {
    /// The defaults for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            key_prefix: "jwt-session:".to_owned(),
            pool_max_size: 16,
            timeout_ms: 1000,
        }
    }
}

/// A store on Redis through a deadpool-redis connection pool.
///
/// Every operation is one round trip and one command (`SET` or a Lua script,
/// `EXISTS`, `DEL`), so it is atomic on its own. Entries carry a time to live
/// computed from the token's expiry and vanish with it. Clones share the pool.
#[derive(Clone)]
pub struct RedisStore {
    pool: Pool,
    prefix: String,
    timeout: Duration,
    record_script: Script,
}

impl RedisStore {
    /// Builds the pool. No connection is made yet: a Redis that is down now
    /// makes requests fail (closed) until it is back, not the start-up.
    ///
    /// # Errors
    ///
    /// [`StoreError::Config`] for an unusable URL, pool size or timeout.
    pub fn new(config: &RedisStoreConfig) -> Result<Self, StoreError> {
        if config.pool_max_size == 0 || config.timeout_ms == 0 {
            return Err(StoreError::Config("pool_max_size and timeout_ms must be above 0".into()));
        }
        let timeout = Duration::from_millis(config.timeout_ms);
        let connection = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout));
        let manager = Manager::new_with_config(config.url.as_str(), connection)
            .map_err(|e| StoreError::Config(format!("redis url: {e}")))?;
        let pool = Pool::builder(manager)
            .max_size(config.pool_max_size)
            .wait_timeout(Some(timeout))
            .create_timeout(Some(timeout))
            .recycle_timeout(Some(timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Config(format!("redis pool: {e}")))?;
        Ok(Self {
            pool,
            prefix: config.key_prefix.clone(),
            timeout,
            record_script: Script::new(RECORD_SCRIPT),
        })
    }

    async fn connection(&self) -> Result<deadpool_redis::Connection, StoreError> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_redis::PoolError::Timeout(_) => StoreError::Timeout(e.into()),
            other => StoreError::Unavailable(other.into()),
        })
    }

    fn keys(&self, ids: &[TokenId<'_>]) -> Vec<String> {
        ids.iter().map(|id| id.key(&self.prefix)).collect()
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.pool.status();
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("pool_size", &status.size)
            .field("pool_max_size", &status.max_size)
            .finish()
    }
}

fn command_error(error: RedisError) -> StoreError {
    if error.is_timeout() {
        StoreError::Timeout(error.into())
    } else if error.is_io_error() || error.is_connection_dropped() || error.is_connection_refusal()
    {
        StoreError::Unavailable(error.into())
    } else {
        StoreError::Command(error.into())
    }
}

async fn query<T: redis::FromRedisValue>(
    conn: &mut impl ConnectionLike,
    cmd: &redis::Cmd,
) -> Result<T, StoreError> {
    cmd.query_async(conn).await.map_err(command_error)
}

impl TokenStore for RedisStore {
    async fn record(&self, tokens: &[LiveToken<'_>]) -> Result<(), StoreError> {
        let now = unix_now();
        let live: Vec<_> = tokens.iter().filter(|t| t.expires_at > now).collect();
        let mut conn = self.connection().await?;
        match live.as_slice() {
            [] => Ok(()),
            [one] => {
                let mut cmd = redis::cmd("SET");
                cmd.arg(one.id.key(&self.prefix)).arg(one.id.subject);
                cmd.arg("EX").arg(one.expires_at - now);
                query::<()>(&mut conn, &cmd).await
            }
            many => {
                let mut invocation = self.record_script.prepare_invoke();
                for token in many {
                    invocation.key(token.id.key(&self.prefix));
                    invocation.arg(token.id.subject).arg(token.expires_at - now);
                }
                invocation.invoke_async::<()>(&mut conn).await.map_err(command_error)
            }
        }
    }

    async fn is_live(&self, id: TokenId<'_>) -> Result<bool, StoreError> {
        let mut conn = self.connection().await?;
        query(&mut conn, redis::cmd("EXISTS").arg(id.key(&self.prefix))).await
    }

    async fn revoke(&self, ids: &[TokenId<'_>]) -> Result<usize, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut conn = self.connection().await?;
        query(&mut conn, redis::cmd("DEL").arg(self.keys(ids))).await
    }

    async fn consume(&self, id: TokenId<'_>) -> Result<bool, StoreError> {
        let mut conn = self.connection().await?;
        let deleted: u32 = query(&mut conn, redis::cmd("DEL").arg(id.key(&self.prefix))).await?;
        Ok(deleted == 1)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.connection().await?;
        query::<String>(&mut conn, &redis::cmd("PING")).await.map(drop)
    }
}
