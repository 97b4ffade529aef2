//! A connection pool over standalone Redis, a Redis Cluster or a master found
//! through Redis Sentinel, with one timeout for every operation and errors
//! mapped to [`StoreError`].

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use deadpool_redis::{cluster, sentinel, Manager, Pool, Runtime};
use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster_async::ClusterConnection;
use redis::{AsyncConnectionConfig, Cmd, Pipeline, RedisError, RedisFuture, Value};

use super::RedisStoreConfig;
use crate::StoreError;

/// A pool of Redis connections, standalone or Cluster, as configured by
/// [`RedisStoreConfig`]. Applications that keep their own data in the same
/// Redis can share it (see [`RedisStore::pool`](super::RedisStore::pool)) and
/// so fail and recover exactly as the session store does.
///
/// Connections are multiplexed: many operations share one at once, each
/// command pipelined behind the others. So the pool is not asked for a
/// connection per operation (deadpool checks a connection with a round trip
/// of its own each time it lends it out); operations share one connection
/// lent once, and the pool is asked again only after that connection failed
/// or timed out.
#[derive(Clone)]
pub struct RedisPool {
    backend: Backend,
    timeout: Duration,
    /// One shared connection per slot; a thread uses its own slot, so that
    /// on a runtime per thread (actix-web's workers) a connection's driver
    /// runs on the thread that sends on it, with no wake-up across threads.
    shared: Arc<[Mutex<Option<Shared>>]>,
}

/// How many connections operations share: one per core, within the pool's
/// size.
fn shared_slots(pool_max_size: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    cores.min(pool_max_size).max(1)
}

/// Each thread's slot number, handed out in the order threads first use one.
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static THREAD_SLOT: usize = NEXT_SLOT.fetch_add(1, Ordering::Relaxed);
}

fn lock(slot: &Mutex<Option<Shared>>) -> std::sync::MutexGuard<'_, Option<Shared>> {
    // Nothing panics while the lock is held; a poisoned one is taken over.
    slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Numbers the shared connections, so a retired one is never mistaken for
/// its successor.
static GENERATIONS: AtomicU64 = AtomicU64::new(0);

/// The connection operations share, and which one it is, so that a failed
/// operation retires only the connection it used.
struct Shared {
    connection: RedisConnection,
    generation: u64,
}

#[derive(Clone)]
enum Backend {
    Standalone(Pool),
    Cluster(cluster::Pool),
    Sentinel(sentinel::Pool),
}

/// How many connections a [`RedisPool`] holds, for a gauge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStatus {
    /// Connections open, busy or idle.
    pub size: usize,
    /// Open connections idle in the pool.
    pub available: usize,
    /// Most connections the pool opens.
    pub max_size: usize,
}

impl PoolStatus {
    /// Connections lent out to an operation right now.
    pub fn in_use(&self) -> usize {
        self.size.saturating_sub(self.available)
    }
}

/// A handle on a shared, multiplexed connection: to a standalone server, to
/// the master that Sentinel names, or to a Cluster. Use it as any
/// [`redis::aio::ConnectionLike`].
#[derive(Clone)]
#[allow(missing_debug_implementations)] // the Cluster connection has no Debug
pub enum RedisConnection {
    /// One server: standalone, or the master that Sentinel names.
    Multiplexed(MultiplexedConnection),
    /// A Cluster.
    Cluster(ClusterConnection),
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
        Ok(Self {
            backend: Backend::new(config, timeout)?,
            timeout,
            shared: (0..shared_slots(config.pool_max_size)).map(|_| Mutex::new(None)).collect(),
        })
    }

    /// The shared connection, lent by the pool when there is none yet; and
    /// whether it was shared before this call.
    async fn connection(&self) -> Result<(RedisConnection, u64, bool), StoreError> {
        if let Some(shared) = self.lock_shared().as_ref() {
            return Ok((shared.connection.clone(), shared.generation, true));
        }
        let connection = self.backend.get().await?;
        let mut slot = self.lock_shared();
        // Another operation may have put one in while this one waited.
        if let Some(shared) = slot.as_ref() {
            return Ok((shared.connection.clone(), shared.generation, true));
        }
        let generation = GENERATIONS.fetch_add(1, Ordering::Relaxed);
        *slot = Some(Shared { connection: connection.clone(), generation });
        Ok((connection, generation, false))
    }

    /// Stops sharing the connection of `generation`, if it is still the
    /// shared one: the next operation asks the pool, which checks it.
    fn retire(&self, generation: u64) {
        for slot in self.shared.iter() {
            let mut slot = lock(slot);
            if slot.as_ref().is_some_and(|shared| shared.generation == generation) {
                *slot = None;
            }
        }
    }

    /// The calling thread's slot, locked.
    fn lock_shared(&self) -> std::sync::MutexGuard<'_, Option<Shared>> {
        let index = THREAD_SLOT.with(|slot| *slot) % self.shared.len();
        lock(&self.shared[index])
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
        self.run_once(op).await.0
    }

    /// One operation on the shared connection, and whether that connection
    /// had been shared before it (rather than just checked by the pool).
    async fn run_once<T, F, Fut>(&self, op: F) -> (Result<T, StoreError>, bool)
    where
        F: FnOnce(RedisConnection) -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>>,
    {
        let started = Instant::now();
        let used = AtomicU64::new(u64::MAX);
        let reused = AtomicBool::new(false);
        let work = async {
            let (conn, generation, was_shared) = self.connection().await?;
            used.store(generation, Ordering::Relaxed);
            reused.store(was_shared, Ordering::Relaxed);
            op(conn).await
        };
        let result = match tokio::time::timeout(self.timeout, work).await {
            Ok(result) => result,
            Err(elapsed) => Err(StoreError::Timeout(elapsed.into())),
        };
        if matches!(result, Err(StoreError::Timeout(_) | StoreError::Unavailable(_))) {
            self.retire(used.load(Ordering::Relaxed));
        }
        record(started, result.as_ref().err());
        (result, reused.load(Ordering::Relaxed))
    }

    /// Whether this is a Redis Cluster, where one script reaches only the
    /// keys of one hash slot.
    pub fn is_cluster(&self) -> bool {
        matches!(self.backend, Backend::Cluster(_))
    }

    /// As [`run`](Self::run), for an operation that is safe to repeat, such
    /// as a read: when it fails because the shared connection had died (a
    /// Redis restart closes it, and the first operation after is the one to
    /// find out), it runs once more, on a fresh connection from the pool.
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run), from the second try when there is one.
    pub async fn run_repeatable<T, F, Fut>(&self, op: F) -> Result<T, StoreError>
    where
        F: Fn(RedisConnection) -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>>,
    {
        match self.run_once(&op).await {
            // A connection that was shared may have died since its last use:
            // one more try, on a connection the pool checks first. A fresh
            // connection's failure is Redis's own, and is final.
            (Err(StoreError::Unavailable(_)), true) => self.run(&op).await,
            (result, _) => result,
        }
    }

    /// How many connections the pool holds now.
    pub fn status(&self) -> PoolStatus {
        let status = match &self.backend {
            Backend::Standalone(pool) => pool.status(),
            Backend::Cluster(pool) => pool.status(),
            Backend::Sentinel(pool) => pool.status(),
        };
        PoolStatus { size: status.size, available: status.available, max_size: status.max_size }
    }
}

/// Records one operation through the `metrics` facade: its latency, and its
/// error kind if it failed. The facade does nothing until the application
/// installs a recorder, so the store depends on no exporter.
#[cfg(feature = "metrics")]
fn record(started: Instant, error: Option<&StoreError>) {
    let outcome = match error {
        None => "ok",
        Some(StoreError::Timeout(_)) => "timeout",
        Some(StoreError::Unavailable(_)) => "unavailable",
        Some(StoreError::Command(_)) => "command",
        Some(_) => "other",
    };
    metrics::histogram!("jwt_session_store_command_duration_seconds", "outcome" => outcome)
        .record(started.elapsed().as_secs_f64());
    if error.is_some() {
        metrics::counter!("jwt_session_store_errors_total", "kind" => outcome).increment(1);
    }
}

#[cfg(not(feature = "metrics"))]
fn record(_started: Instant, _error: Option<&StoreError>) {}

impl fmt::Debug for RedisPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisPool")
            .field("backend", &self.backend)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Builds a deadpool pool of any of the three kinds with the same size and
/// timeouts; the pool types differ, so a macro rather than a function.
macro_rules! pool {
    ($pool:ty, $manager:expr, $config:expr, $timeout:expr) => {
        <$pool>::builder($manager)
            .max_size($config.pool_max_size)
            .wait_timeout(Some($timeout))
            .create_timeout(Some($timeout))
            .recycle_timeout(Some($timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Config(format!("redis pool: {e}")))
    };
}

/// The comma-separated node URLs of a cluster or a set of Sentinels.
fn nodes<'a>(urls: &'a str, what: &str) -> Result<Vec<&'a str>, StoreError> {
    let nodes: Vec<&str> = urls.split(',').map(str::trim).filter(|u| !u.is_empty()).collect();
    if nodes.is_empty() {
        return Err(StoreError::Config(format!("{what} needs at least one node")));
    }
    Ok(nodes)
}

impl Backend {
    fn new(config: &RedisStoreConfig, timeout: Duration) -> Result<Self, StoreError> {
        let bad_url = |e: RedisError| StoreError::Config(format!("redis url: {e}"));
        if config.cluster {
            let manager =
                cluster::Manager::new(nodes(&config.url, "a cluster")?, false).map_err(bad_url)?;
            return Ok(Self::Cluster(pool!(cluster::Pool, manager, config, timeout)?));
        }
        if let Some(master) = &config.sentinel_master {
            let manager = sentinel::Manager::new(
                nodes(&config.url, "Sentinel")?,
                master.clone(),
                None,
                sentinel::SentinelServerType::Master,
            )
            .map_err(bad_url)?;
            return Ok(Self::Sentinel(pool!(sentinel::Pool, manager, config, timeout)?));
        }
        let connection = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout));
        let manager = Manager::new_with_config(config.url.as_str(), connection).map_err(bad_url)?;
        Ok(Self::Standalone(pool!(Pool, manager, config, timeout)?))
    }

    /// A connection the pool has checked, as a handle to share; the pooled
    /// object goes back to the pool at once.
    async fn get(&self) -> Result<RedisConnection, StoreError> {
        Ok(match self {
            Self::Standalone(pool) => {
                RedisConnection::Multiplexed((*pool.get().await.map_err(pool_error)?).clone())
            }
            Self::Cluster(pool) => {
                RedisConnection::Cluster((*pool.get().await.map_err(pool_error)?).clone())
            }
            Self::Sentinel(pool) => {
                RedisConnection::Multiplexed((*pool.get().await.map_err(pool_error)?).clone())
            }
        })
    }
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (mode, status) = match self {
            Self::Standalone(pool) => ("standalone", pool.status()),
            Self::Cluster(pool) => ("cluster", pool.status()),
            Self::Sentinel(pool) => ("sentinel", pool.status()),
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
            Self::Multiplexed(conn) => conn.req_packed_command(cmd),
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
            Self::Multiplexed(conn) => conn.req_packed_commands(cmd, offset, count),
            Self::Cluster(conn) => conn.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Multiplexed(conn) => conn.get_db(),
            Self::Cluster(conn) => conn.get_db(),
        }
    }
}
