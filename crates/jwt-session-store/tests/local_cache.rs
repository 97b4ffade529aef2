//! The local cache of live tokens against a real `redis-server`: a hit costs
//! no Redis command, every way a token can stop being live in Redis reaches
//! the cache, and when tracking is lost the cache is bypassed, never trusted.

// Test code: a panic is how a failed step reports itself.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use jwt_session_store::{
    AccessGrant, AccessRef, LocalCacheConfig, NewSession, RedisStore, RedisStoreConfig,
    SessionLifetime, SessionStore, StoreError,
};
use jwt_session_testkit::RedisServer;
use jwt_session_token::{new_id, unix_now};
use redis::aio::MultiplexedConnection;

const LIFETIME: SessionLifetime = SessionLifetime { idle_secs: 3600, absolute_secs: 86_400 };
/// The documented default bound on staleness.
const BOUND: Duration = Duration::from_millis(100);

fn cached_store(server: &RedisServer) -> RedisStore {
    cached_store_with(server, LocalCacheConfig::default())
}

fn cached_store_with(server: &RedisServer, cache: LocalCacheConfig) -> RedisStore {
    let mut config = RedisStoreConfig::new(server.url()).with_local_cache(cache);
    config.timeout_ms = 300;
    RedisStore::new(&config).unwrap()
}

/// Waits until the store's cache is in use.
async fn tracking(store: &RedisStore) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !store.local_cache_status().unwrap().tracking {
        assert!(Instant::now() < deadline, "tracking never started: {store:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn raw(server: &RedisServer) -> MultiplexedConnection {
    let client = redis::Client::open(server.url()).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

/// Calls of the commands a liveness check can send, from `INFO commandstats`.
async fn check_commands(conn: &mut MultiplexedConnection) -> u64 {
    let info: String = redis::cmd("INFO").arg("commandstats").query_async(conn).await.unwrap();
    info.lines()
        .filter(|l| l.starts_with("cmdstat_exists:") || l.starts_with("cmdstat_pttl:"))
        .filter_map(|l| l.split("calls=").nth(1)?.split(',').next()?.parse::<u64>().ok())
        .sum()
}

struct Session {
    subject: String,
    sid: String,
    jti: String,
}

impl Session {
    async fn start(store: &RedisStore, subject: &str) -> Self {
        let s = Self { subject: subject.to_owned(), sid: new_id(), jti: new_id() };
        let now = unix_now();
        store
            .start(&NewSession {
                subject: &s.subject,
                sid: &s.sid,
                device: "test",
                ip: "192.0.2.1",
                now,
                access: AccessGrant { jti: &s.jti, expires_at: now + 900 },
                refresh_jti: &new_id(),
                lifetime: LIFETIME,
                max_sessions: None,
            })
            .await
            .unwrap();
        s
    }

    fn token(&self) -> AccessRef<'_> {
        AccessRef { subject: &self.subject, sid: &self.sid, jti: &self.jti }
    }

    async fn live(&self, store: &RedisStore) -> bool {
        store.access_is_live(self.token()).await.unwrap()
    }

    /// Polls until `store` says the token is no longer live; returns how long.
    async fn until_revoked(&self, store: &RedisStore, within: Duration) -> Duration {
        let started = Instant::now();
        while self.live(store).await {
            assert!(started.elapsed() < within, "still live after {within:?}");
            tokio::task::yield_now().await;
        }
        started.elapsed()
    }

    fn session_key(&self) -> String {
        format!("jwt-session:session:{{{}}}:{}", self.subject, self.sid)
    }

    fn access_key(&self) -> String {
        format!("jwt-session:access:{{{}}}:{}:{}", self.subject, self.sid, self.jti)
    }
}

#[tokio::test]
async fn a_hit_costs_no_redis_command() {
    let server = RedisServer::start();
    let store = cached_store(&server);
    tracking(&store).await;
    let s = Session::start(&store, "u1").await;
    let mut conn = raw(&server).await;

    let before = check_commands(&mut conn).await;
    assert!(s.live(&store).await);
    assert_eq!(check_commands(&mut conn).await, before + 2, "a miss reads both keys' PTTL");
    for _ in 0..100 {
        assert!(s.live(&store).await);
    }
    assert_eq!(check_commands(&mut conn).await, before + 2, "hits send nothing");
    assert_eq!(store.local_cache_status().unwrap().entries, 1);
}

#[tokio::test]
async fn without_the_cache_every_check_is_one_exists() {
    let server = RedisServer::start();
    let store = RedisStore::new(&RedisStoreConfig::new(server.url())).unwrap();
    let s = Session::start(&store, "u1").await;
    let mut conn = raw(&server).await;
    let before = check_commands(&mut conn).await;
    for _ in 0..3 {
        assert!(s.live(&store).await);
    }
    assert_eq!(check_commands(&mut conn).await, before + 3);
    assert_eq!(store.local_cache_status(), None);
}

#[tokio::test]
async fn a_session_ended_through_another_store_is_seen_within_the_bound() {
    let server = RedisServer::start();
    let (a, b) = (cached_store(&server), cached_store(&server));
    tracking(&a).await;
    tracking(&b).await;
    for _ in 0..20 {
        let s = Session::start(&a, "u1").await;
        assert!(s.live(&b).await);
        assert!(s.live(&b).await);
        assert!(a.end_session(&s.subject, &s.sid).await.unwrap());
        let took = s.until_revoked(&b, Duration::from_secs(2)).await;
        assert!(took < BOUND, "seen after {took:?}");
    }
}

#[tokio::test]
async fn the_store_that_revokes_never_serves_the_token_again() {
    let server = RedisServer::start();
    let store = cached_store(&server);
    tracking(&store).await;
    for end_all in [false, true] {
        let s = Session::start(&store, "u1").await;
        assert!(s.live(&store).await && s.live(&store).await);
        if end_all {
            assert_eq!(store.end_sessions(&s.subject, None).await.unwrap(), 1);
        } else {
            assert!(store.end_session(&s.subject, &s.sid).await.unwrap());
        }
        // No waiting for the invalidation message: the very next check.
        assert!(!s.live(&store).await);
    }
}

#[tokio::test]
async fn any_change_to_either_key_in_redis_evicts() {
    let server = RedisServer::start();
    let store = cached_store(&server);
    tracking(&store).await;
    let mut conn = raw(&server).await;
    for (command, key) in [("DEL", 0), ("DEL", 1), ("UNLINK", 0), ("PEXPIRE", 1)] {
        let s = Session::start(&store, "u1").await;
        assert!(s.live(&store).await && s.live(&store).await);
        let key = if key == 0 { s.access_key() } else { s.session_key() };
        let mut cmd = redis::cmd(command);
        cmd.arg(&key);
        if command == "PEXPIRE" {
            cmd.arg(1);
        }
        cmd.query_async::<()>(&mut conn).await.unwrap();
        let took = s.until_revoked(&store, Duration::from_secs(2)).await;
        assert!(took < BOUND, "{command} {key}: seen after {took:?}");
    }
}

#[tokio::test]
async fn flushall_empties_the_cache() {
    let server = RedisServer::start();
    let store = cached_store(&server);
    tracking(&store).await;
    let s = Session::start(&store, "u1").await;
    assert!(s.live(&store).await && s.live(&store).await);
    let mut conn = raw(&server).await;
    redis::cmd("FLUSHALL").query_async::<()>(&mut conn).await.unwrap();
    let took = s.until_revoked(&store, Duration::from_secs(2)).await;
    assert!(took < BOUND, "seen after {took:?}");
}

#[tokio::test]
async fn a_killed_tracking_connection_empties_the_cache_then_tracking_comes_back() {
    let server = RedisServer::start();
    let store = cached_store(&server);
    tracking(&store).await;
    let s = Session::start(&store, "u1").await;
    assert!(s.live(&store).await && s.live(&store).await);
    assert_eq!(store.local_cache_status().unwrap().entries, 1);

    // The tracking connection is the one with the `t` flag.
    let mut conn = raw(&server).await;
    let clients: String = redis::cmd("CLIENT").arg("LIST").query_async(&mut conn).await.unwrap();
    let id = clients
        .lines()
        .find(|l| l.split(' ').any(|f| f.starts_with("flags=") && f.contains('t')))
        .and_then(|l| l.split(' ').find_map(|f| f.strip_prefix("id=")))
        .unwrap_or_else(|| panic!("no tracking client in {clients}"))
        .to_owned();
    redis::cmd("CLIENT").arg("KILL").arg("ID").arg(&id).query_async::<()>(&mut conn).await.unwrap();
    // Revoked while no invalidation can reach the store.
    redis::cmd("DEL").arg(s.session_key()).query_async::<()>(&mut conn).await.unwrap();
    let took = s.until_revoked(&store, Duration::from_secs(2)).await;
    assert!(took < BOUND, "seen after {took:?}");

    tracking(&store).await;
    let fresh = Session::start(&store, "u1").await;
    assert!(fresh.live(&store).await);
    let before = check_commands(&mut conn).await;
    assert!(fresh.live(&store).await);
    assert_eq!(check_commands(&mut conn).await, before, "served from the cache again");
}

#[tokio::test]
async fn a_hung_redis_is_never_answered_from_the_cache_past_the_bound() {
    let mut server = RedisServer::start();
    let store = cached_store(&server);
    tracking(&store).await;
    let s = Session::start(&store, "u1").await;
    assert!(s.live(&store).await && s.live(&store).await);

    // Frozen: the tracking connection stays open but nothing arrives on it,
    // as with a lost message the TCP connection did not notice.
    server.pause();
    let paused = Instant::now();
    let outcome = loop {
        match store.access_is_live(s.token()).await {
            Ok(true) => {
                assert!(paused.elapsed() < BOUND, "served from the cache past the bound");
                tokio::task::yield_now().await;
            }
            other => break other,
        }
    };
    assert!(paused.elapsed() < BOUND + Duration::from_millis(400), "{:?}", paused.elapsed());
    assert!(
        matches!(outcome, Err(StoreError::Timeout(_) | StoreError::Unavailable(_))),
        "{outcome:?}"
    );
    assert!(!store.local_cache_status().unwrap().tracking);

    server.resume();
    tracking(&store).await;
    assert!(s.live(&store).await);
}

#[tokio::test]
async fn a_restarted_redis_forgets_its_tokens_and_so_does_the_cache() {
    let mut server = RedisServer::start();
    let store = cached_store(&server);
    tracking(&store).await;
    let s = Session::start(&store, "u1").await;
    assert!(s.live(&store).await && s.live(&store).await);

    let stopped = Instant::now();
    server.restart();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match store.access_is_live(s.token()).await {
            Ok(false) => break,
            Ok(true) => {
                assert!(stopped.elapsed() < BOUND, "the restarted, empty Redis was not asked");
                tokio::task::yield_now().await;
            }
            Err(_) => assert!(Instant::now() < deadline, "Redis never came back"),
        }
    }
    tracking(&store).await;
    let fresh = Session::start(&store, "u1").await;
    assert!(fresh.live(&store).await && fresh.live(&store).await);
}

#[tokio::test]
async fn the_cache_holds_at_most_max_entries() {
    let server = RedisServer::start();
    let store =
        cached_store_with(&server, LocalCacheConfig { max_entries: 2, ..Default::default() });
    tracking(&store).await;
    let mut sessions = Vec::new();
    for _ in 0..4 {
        let s = Session::start(&store, "u1").await;
        assert!(s.live(&store).await);
        sessions.push(s);
    }
    assert_eq!(store.local_cache_status().unwrap().entries, 2);
    for s in &sessions {
        assert!(s.live(&store).await, "the ones not cached are still answered by Redis");
    }
}

#[test]
fn the_cache_is_refused_with_cluster_or_sentinel() {
    let cache = LocalCacheConfig::default();
    let cluster =
        RedisStoreConfig::cluster(&["redis://127.0.0.1:7000/"]).with_local_cache(cache.clone());
    let sentinel =
        RedisStoreConfig::sentinel(&["redis://127.0.0.1:26379/"], "m").with_local_cache(cache);
    for config in [cluster, sentinel] {
        let err = RedisStore::new(&config).unwrap_err();
        assert!(err.to_string().contains("standalone Redis"), "{err}");
    }
}

#[test]
fn unusable_cache_settings_are_refused() {
    let url = "redis://127.0.0.1:1/";
    for cache in [
        LocalCacheConfig { max_entries: 0, ..Default::default() },
        LocalCacheConfig { max_age_ms: 0, ..Default::default() },
    ] {
        let err = RedisStore::new(&RedisStoreConfig::new(url).with_local_cache(cache)).unwrap_err();
        assert!(matches!(err, StoreError::Config(_)), "{err}");
    }
}
