//! The connection that keeps a [`LiveCache`] correct: Redis server-assisted
//! client-side caching in broadcasting mode (`CLIENT TRACKING ON BCAST
//! PREFIX <prefix>access: PREFIX <prefix>session:`) on a RESP3 connection of
//! its own, outside the pool, plus a heartbeat `PING` on that same
//! connection.
//!
//! Redis writes an invalidation push for every change to a tracked key
//! (write, delete, expiry, eviction) before answering any later command on
//! the tracking connection, and the client library hands pushes over before
//! it completes a later reply. So once the answer to a `PING` sent at `t`
//! is in, and the pushes received before it are applied, the cache reflects
//! every change Redis made before `t`: that renews the cache's lease to
//! `t + max_staleness`. When the heartbeat fails or the connection drops, the
//! cache is emptied and bypassed until tracking is set up again, with
//! backoff.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, ProtocolVersion, PushInfo, PushKind, Value};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use tokio::time::{sleep, timeout, MissedTickBehavior};

use super::cache::{LiveCache, LocalCacheConfig};
use crate::StoreError;

/// First wait before setting tracking up again; doubled up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// A [`LiveCache`] and the task that feeds it; the task runs while any
/// store clone holds this.
#[derive(Debug)]
pub(crate) struct Tracker {
    pub(crate) cache: LiveCache,
    client: Client,
    prefixes: Vec<String>,
    timeout: Duration,
    running: AtomicBool,
}

impl Tracker {
    pub(crate) fn new(
        url: &str,
        prefixes: Vec<String>,
        config: &LocalCacheConfig,
        timeout: Duration,
    ) -> Result<Arc<Self>, StoreError> {
        config.validate().map_err(StoreError::Config)?;
        let bad_url = |e: redis::RedisError| StoreError::Config(format!("redis url: {e}"));
        let info = Client::open(url).map_err(bad_url)?.get_connection_info().clone();
        let resp3 = info.redis_settings().clone().set_protocol(ProtocolVersion::RESP3);
        let client = Client::open(info.set_redis_settings(resp3)).map_err(bad_url)?;
        let tracker = Arc::new(Self {
            cache: LiveCache::new(config),
            client,
            prefixes,
            timeout,
            running: AtomicBool::new(false),
        });
        tracker.ensure_running();
        Ok(tracker)
    }

    /// Starts the tracking task on the current Tokio runtime unless it runs;
    /// outside a runtime, the next call from within one starts it.
    pub(crate) fn ensure_running(self: &Arc<Self>) {
        if self.running.load(Ordering::Acquire) || self.running.swap(true, Ordering::AcqRel) {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(run(Arc::downgrade(self)))),
            Err(_) => self.running.store(false, Ordering::Release),
        }
    }
}

/// Marks the task stopped however it ends (store dropped, runtime shut
/// down), so the cache is not served without it and a later call restarts it.
struct Running(Weak<Tracker>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(tracker) = self.0.upgrade() {
            tracker.cache.lose(None);
            set_gauge(false);
            tracker.running.store(false, Ordering::Release);
        }
    }
}

async fn run(tracker: Weak<Tracker>) {
    let _running = Running(tracker.clone());
    let mut backoff = MIN_BACKOFF;
    // Warn when tracking goes off, not at every failed retry.
    let mut warned = false;
    loop {
        let Some((client, prefixes, limit)) =
            tracker.upgrade().map(|t| (t.client.clone(), t.prefixes.clone(), t.timeout))
        else {
            return;
        };
        let error = match connect(&client, &prefixes, limit).await {
            Ok((conn, pushes)) => {
                if let Some(t) = tracker.upgrade() {
                    t.cache.lose(None);
                    tracing::info!("local token cache: invalidation tracking is on");
                }
                warned = false;
                let started = Instant::now();
                let result = serve(&tracker, conn, pushes, limit).await;
                if started.elapsed() > MAX_BACKOFF {
                    backoff = MIN_BACKOFF;
                }
                match result {
                    Ok(()) => return,
                    Err(error) => error,
                }
            }
            Err(error) => error,
        };
        let Some(t) = tracker.upgrade() else { return };
        if warned {
            tracing::debug!(%error, "local token cache: tracking still off");
        } else {
            tracing::warn!(
                %error,
                "local token cache: invalidation tracking is off; every check goes to Redis \
                 until it is back"
            );
            warned = true;
        }
        t.cache.lose(Some(error));
        set_gauge(false);
        drop(t);
        sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// A RESP3 connection with tracking on, and its pushes.
async fn connect(
    client: &Client,
    prefixes: &[String],
    limit: Duration,
) -> Result<(MultiplexedConnection, UnboundedReceiver<PushInfo>), String> {
    let (sender, pushes) = unbounded_channel();
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(limit))
        .set_response_timeout(Some(limit))
        .set_push_sender(sender);
    let connecting = client.get_multiplexed_async_connection_with_config(&config);
    let mut conn = match timeout(limit, connecting).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => return Err(format!("cannot connect: {e}")),
        Err(_) => return Err("cannot connect: timed out".into()),
    };
    let mut tracking = redis::cmd("CLIENT");
    tracking.arg("TRACKING").arg("ON").arg("BCAST");
    for prefix in prefixes {
        tracking.arg("PREFIX").arg(prefix);
    }
    match timeout(limit, tracking.query_async::<()>(&mut conn)).await {
        Ok(Ok(())) => Ok((conn, pushes)),
        Ok(Err(e)) => Err(format!("CLIENT TRACKING refused: {e}")),
        Err(_) => Err("CLIENT TRACKING timed out".into()),
    }
}

/// Applies pushes and beats until the connection fails (`Err`) or the store
/// is gone (`Ok`).
async fn serve(
    tracker: &Weak<Tracker>,
    mut conn: MultiplexedConnection,
    mut pushes: UnboundedReceiver<PushInfo>,
    limit: Duration,
) -> Result<(), String> {
    let Some(every) = tracker.upgrade().map(|t| t.cache.heartbeat_every()) else {
        return Ok(());
    };
    let mut beat = tokio::time::interval(every);
    beat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut announced = false;
    loop {
        tokio::select! {
            push = pushes.recv() => {
                let Some(t) = tracker.upgrade() else { return Ok(()) };
                apply(&t.cache, push)?;
            }
            _ = beat.tick() => {
                let sent = Instant::now();
                let ping = redis::cmd("PING");
                match timeout(limit.min(Duration::from_secs(1)), ping.query_async::<Value>(&mut conn)).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => return Err(format!("heartbeat failed: {e}")),
                    Err(_) => return Err("heartbeat timed out".into()),
                }
                let Some(t) = tracker.upgrade() else { return Ok(()) };
                // Every push Redis sent before the PONG is in the channel now.
                while let Ok(push) = pushes.try_recv() {
                    apply(&t.cache, Some(push))?;
                }
                t.cache.renew(sent);
                if !announced {
                    set_gauge(true);
                    announced = true;
                }
            }
        }
    }
}

/// Applies one push: evicts the invalidated keys, or everything for a null
/// invalidation (`FLUSHALL`, `FLUSHDB`); a disconnection is an error.
fn apply(cache: &LiveCache, push: Option<PushInfo>) -> Result<(), String> {
    let Some(push) = push else { return Err("tracking connection closed".into()) };
    match push.kind {
        PushKind::Disconnection => Err("tracking connection closed".into()),
        PushKind::Invalidate => {
            match push.data.first() {
                Some(Value::Array(keys)) => {
                    for key in keys {
                        match key {
                            Value::BulkString(bytes) => {
                                cache.invalidate(&String::from_utf8_lossy(bytes));
                            }
                            Value::SimpleString(text) => cache.invalidate(text),
                            _ => cache.flush(),
                        }
                    }
                    count("jwt_session_store_local_cache_invalidations_total", keys.len());
                }
                _ => {
                    cache.flush();
                    count("jwt_session_store_local_cache_flushes_total", 1);
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(feature = "metrics")]
fn count(name: &'static str, n: usize) {
    metrics::counter!(name).increment(n as u64);
}

#[cfg(not(feature = "metrics"))]
fn count(_name: &'static str, _n: usize) {}

#[cfg(feature = "metrics")]
fn set_gauge(on: bool) {
    metrics::gauge!("jwt_session_store_local_cache_tracking").set(if on { 1.0 } else { 0.0 });
}

#[cfg(not(feature = "metrics"))]
fn set_gauge(_on: bool) {}
