//! One acceptance suite for every backend: the embedded store, a real
//! standalone `redis-server` and a local three-master Redis Cluster behave
//! the same.

// Test code: a panic is how a failed step reports itself.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use jwt_session_store::{
    AccessGrant, AccessRef, AnyStore, LocalCacheConfig, MemoryStore, NewSession, RedisStore,
    RedisStoreConfig, ReusePolicy, Rotation, RotationOutcome, SessionLifetime, SessionStore,
    StoreError,
};
use jwt_session_testkit::{RedisCluster, RedisServer};
use jwt_session_token::{new_id, unix_now};

/// A backend under test; keeps its Redis processes alive for the test's length.
struct Backend {
    store: AnyStore,
    _redis: Option<RedisServer>,
    _cluster: Option<RedisCluster>,
}

fn memory() -> Backend {
    Backend { store: AnyStore::Memory(MemoryStore::new()), _redis: None, _cluster: None }
}

fn redis() -> Backend {
    let server = RedisServer::start();
    let store = RedisStore::new(&RedisStoreConfig::new(server.url())).unwrap();
    Backend { store: AnyStore::Redis(store), _redis: Some(server), _cluster: None }
}

/// Standalone Redis with the local cache of live tokens on; the cases run
/// once tracking is up, so hits are served from the cache.
fn redis_cached() -> Backend {
    let server = RedisServer::start();
    let config = RedisStoreConfig::new(server.url()).with_local_cache(LocalCacheConfig::default());
    let store = RedisStore::new(&config).unwrap();
    Backend { store: AnyStore::Redis(store), _redis: Some(server), _cluster: None }
}

impl Backend {
    /// Waits until a local cache, if any, is in use.
    async fn ready(&self) {
        let AnyStore::Redis(store) = &self.store else { return };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while store.local_cache_status().is_some_and(|status| !status.tracking) {
            assert!(std::time::Instant::now() < deadline, "tracking never started");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn cluster() -> Backend {
    let cluster = RedisCluster::start();
    let store = RedisStore::new(&RedisStoreConfig::cluster(&cluster.urls())).unwrap();
    Backend { store: AnyStore::Redis(store), _redis: None, _cluster: Some(cluster) }
}

const LONG: SessionLifetime = SessionLifetime { idle_secs: 3600, absolute_secs: 86_400 };

/// A session with fresh ids, and helpers to act on it.
#[derive(Clone)]
struct Session {
    subject: String,
    sid: String,
    access: String,
    refresh: String,
}

impl Session {
    async fn start(store: &AnyStore, subject: &str, lifetime: SessionLifetime) -> Self {
        Self::start_limited(store, subject, lifetime, None).await.0
    }

    /// As [`start`](Self::start), with at most `max_sessions` for the user;
    /// also returns how many older sessions the start ended.
    async fn start_limited(
        store: &AnyStore,
        subject: &str,
        lifetime: SessionLifetime,
        max_sessions: Option<usize>,
    ) -> (Self, usize) {
        let session = Self {
            subject: subject.to_owned(),
            sid: new_id(),
            access: new_id(),
            refresh: new_id(),
        };
        let now = unix_now();
        let access_ttl = lifetime.idle_secs.min(900);
        let ended = store
            .start(&NewSession {
                subject: &session.subject,
                sid: &session.sid,
                device: "test-agent/1.0",
                ip: "192.0.2.1",
                now,
                access: AccessGrant { jti: &session.access, expires_at: now + access_ttl },
                refresh_jti: &session.refresh,
                lifetime,
                max_sessions,
            })
            .await
            .unwrap();
        (session, ended)
    }

    fn access_ref<'a>(&'a self, jti: &'a str) -> AccessRef<'a> {
        AccessRef { subject: &self.subject, sid: &self.sid, jti }
    }

    async fn live(&self, store: &AnyStore, jti: &str) -> bool {
        store.access_is_live(self.access_ref(jti)).await.unwrap()
    }

    /// Presents refresh token `presented`, offering `successor` (refresh, access) ids.
    async fn rotate(
        &self,
        store: &AnyStore,
        presented: &str,
        successor: (&str, &str),
        grace_secs: u64,
        on_reuse: ReusePolicy,
    ) -> RotationOutcome {
        let now = unix_now();
        store
            .rotate(&Rotation {
                subject: &self.subject,
                sid: &self.sid,
                presented_jti: presented,
                successor_refresh_jti: successor.0,
                successor_access: AccessGrant { jti: successor.1, expires_at: now + 900 },
                now,
                grace_secs,
                idle_secs: LONG.idle_secs,
                on_reuse,
            })
            .await
            .unwrap()
    }
}

/// The cases, each a function of a store; `conformance!` runs them all per backend.
mod cases {
    use super::*;

    const DEFAULT: ReusePolicy = ReusePolicy::RevokeSession;

    pub(super) async fn a_started_session_makes_its_access_token_live(store: &AnyStore) {
        let s = Session::start(store, "u1", LONG).await;

        assert!(s.live(store, &s.access).await);
        assert!(!s.live(store, "never-issued").await);
        let other_subject = AccessRef { subject: "u2", sid: &s.sid, jti: &s.access };
        assert!(!store.access_is_live(other_subject).await.unwrap());
        let other_session = AccessRef { subject: "u1", sid: "other", jti: &s.access };
        assert!(!store.access_is_live(other_session).await.unwrap());
        // A token id is live only with its own session, even when the other
        // session of the same user is live too.
        let second = Session::start(store, "u1", LONG).await;
        let crossed = AccessRef { subject: "u1", sid: &second.sid, jti: &s.access };
        assert!(!store.access_is_live(crossed).await.unwrap());
    }

    pub(super) async fn the_current_token_rotates_once_then_replays_the_same_successor(
        store: &AnyStore,
    ) {
        let s = Session::start(store, "u1", LONG).await;
        let (next_refresh, next_access) = (new_id(), new_id());

        let first = s.rotate(store, &s.refresh, (&next_refresh, &next_access), 10, DEFAULT).await;
        let again = s.rotate(store, &s.refresh, (&next_refresh, &next_access), 10, DEFAULT).await;

        assert_eq!(first, RotationOutcome::Rotated);
        assert!(
            matches!(again, RotationOutcome::Replayed { issued_at } if issued_at + 5 >= unix_now())
        );
        assert!(s.live(store, &next_access).await);
        let listed = store.sessions("u1", unix_now()).await.unwrap();
        assert_eq!(listed[0].refresh_count, 2);
        // The successor is now current and rotates in its turn.
        let third = s.rotate(store, &next_refresh, (&new_id(), &new_id()), 10, DEFAULT).await;
        assert_eq!(third, RotationOutcome::Rotated);
    }

    pub(super) async fn a_login_beyond_the_limit_ends_the_sessions_nearest_their_end(
        store: &AnyStore,
    ) {
        let short = |idle_secs| SessionLifetime { idle_secs, absolute_secs: 86_400 };
        let refreshed = Session::start(store, "u1", short(1000)).await;
        let idle = Session::start(store, "u1", short(2000)).await;
        let other_user = Session::start(store, "u2", short(10)).await;
        // The refresh moves `refreshed` to the back of the queue.
        let (r2, a2) = (new_id(), new_id());
        refreshed.rotate(store, &refreshed.refresh, (&r2, &a2), 60, DEFAULT).await;

        let (newest, ended) = Session::start_limited(store, "u1", LONG, Some(2)).await;

        assert_eq!(ended, 1);
        assert!(!idle.live(store, &idle.access).await, "the session nearest its end ends");
        assert!(refreshed.live(store, &a2).await && newest.live(store, &newest.access).await);
        assert!(other_user.live(store, &other_user.access).await, "other users are untouched");

        let (last, ended) = Session::start_limited(store, "u1", LONG, Some(1)).await;
        assert_eq!(ended, 2);
        assert!(last.live(store, &last.access).await, "the new session always stays");
        assert!(!refreshed.live(store, &a2).await && !newest.live(store, &newest.access).await);
        assert_eq!(store.sessions("u1", unix_now()).await.unwrap().len(), 1);
    }

    pub(super) async fn a_session_keeps_at_most_two_live_access_tokens(store: &AnyStore) {
        let s = Session::start(store, "u1", LONG).await;
        let mut accesses = vec![s.access.clone()];
        let mut refresh = s.refresh.clone();
        for _ in 0..5 {
            let (next_refresh, next_access) = (new_id(), new_id());
            let outcome =
                s.rotate(store, &refresh, (&next_refresh, &next_access), 10, DEFAULT).await;
            assert_eq!(outcome, RotationOutcome::Rotated);
            accesses.push(next_access);
            refresh = next_refresh;
        }
        // The current access token and the one before it (a client may still
        // be sending it) stay live; every older one ended at a rotation.
        let (older, recent) = accesses.split_at(accesses.len() - 2);
        for jti in recent {
            assert!(s.live(store, jti).await, "a recent access token was revoked");
        }
        for jti in older {
            assert!(!s.live(store, jti).await, "an access token two rotations old is live");
        }

        // Ending the session ends both of them.
        assert!(store.end_session("u1", &s.sid).await.unwrap());
        for jti in recent {
            assert!(!s.live(store, jti).await);
        }
    }

    pub(super) async fn fifty_concurrent_rotations_make_one_successor(store: &AnyStore) {
        let s = Session::start(store, "u1", LONG).await;
        let (next_refresh, next_access) = (new_id(), new_id());
        let store = Arc::new(store.clone());

        let racers = (0..50).map(|_| {
            let (store, s) = (store.clone(), s.clone());
            let (next_refresh, next_access) = (next_refresh.clone(), next_access.clone());
            tokio::spawn(async move {
                s.rotate(&store, &s.refresh, (&next_refresh, &next_access), 10, DEFAULT).await
            })
        });
        let outcomes: Vec<RotationOutcome> =
            futures_util::future::join_all(racers).await.into_iter().map(Result::unwrap).collect();

        let rotated = outcomes.iter().filter(|o| **o == RotationOutcome::Rotated).count();
        let replayed =
            outcomes.iter().filter(|o| matches!(o, RotationOutcome::Replayed { .. })).count();
        assert_eq!((rotated, replayed), (1, 49));
        let listed = store.sessions("u1", unix_now()).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].refresh_count, 2, "the family grew by exactly one");
    }

    pub(super) async fn a_replay_after_the_grace_window_ends_the_session(store: &AnyStore) {
        let s = Session::start(store, "u1", LONG).await;
        let (next_refresh, next_access) = (new_id(), new_id());
        s.rotate(store, &s.refresh, (&next_refresh, &next_access), 0, DEFAULT).await;
        tokio::time::sleep(Duration::from_millis(1100)).await;

        let replay = s.rotate(store, &s.refresh, (&next_refresh, &next_access), 0, DEFAULT).await;

        assert_eq!(replay, RotationOutcome::Reused);
        assert!(!s.live(store, &s.access).await);
        assert!(!s.live(store, &next_access).await, "the successor must stop working too");
        let after = s.rotate(store, &next_refresh, (&new_id(), &new_id()), 0, DEFAULT).await;
        assert_eq!(after, RotationOutcome::SessionGone);
    }

    pub(super) async fn a_token_older_than_the_previous_one_is_reuse_even_within_grace(
        store: &AnyStore,
    ) {
        let s = Session::start(store, "u1", LONG).await;
        let (r2, a2, r3, a3) = (new_id(), new_id(), new_id(), new_id());
        s.rotate(store, &s.refresh, (&r2, &a2), 60, DEFAULT).await;
        s.rotate(store, &r2, (&r3, &a3), 60, DEFAULT).await;

        let replay = s.rotate(store, &s.refresh, (&r2, &a2), 60, DEFAULT).await;

        assert_eq!(replay, RotationOutcome::Reused);
        assert!(!s.live(store, &a3).await);
    }

    pub(super) async fn revoke_successor_revokes_only_the_current_pair(store: &AnyStore) {
        let s = Session::start(store, "u1", LONG).await;
        let (r2, a2) = (new_id(), new_id());
        s.rotate(store, &s.refresh, (&r2, &a2), 0, ReusePolicy::RevokeSuccessor).await;
        tokio::time::sleep(Duration::from_millis(1100)).await;

        let replay = s.rotate(store, &s.refresh, (&r2, &a2), 0, ReusePolicy::RevokeSuccessor).await;

        assert_eq!(replay, RotationOutcome::Reused);
        assert!(!s.live(store, &a2).await, "the successor access token is revoked");
        assert!(s.live(store, &s.access).await, "older access tokens run out on their own");
        let next =
            s.rotate(store, &r2, (&new_id(), &new_id()), 0, ReusePolicy::RevokeSuccessor).await;
        assert_eq!(next, RotationOutcome::Reused, "the successor refresh token is revoked");
    }

    pub(super) async fn alert_only_refuses_the_reused_token_and_changes_nothing(store: &AnyStore) {
        let s = Session::start(store, "u1", LONG).await;
        let (r2, a2) = (new_id(), new_id());
        s.rotate(store, &s.refresh, (&r2, &a2), 0, ReusePolicy::AlertOnly).await;
        tokio::time::sleep(Duration::from_millis(1100)).await;

        let replay = s.rotate(store, &s.refresh, (&r2, &a2), 0, ReusePolicy::AlertOnly).await;

        assert_eq!(replay, RotationOutcome::Reused);
        assert!(s.live(store, &a2).await);
        let next = s.rotate(store, &r2, (&new_id(), &new_id()), 0, ReusePolicy::AlertOnly).await;
        assert_eq!(next, RotationOutcome::Rotated);
    }

    pub(super) async fn ending_a_session_revokes_all_its_tokens_at_once(store: &AnyStore) {
        let s = Session::start(store, "u1", LONG).await;
        let (r2, a2) = (new_id(), new_id());
        s.rotate(store, &s.refresh, (&r2, &a2), 10, DEFAULT).await;

        assert!(store.end_session("u1", &s.sid).await.unwrap());

        assert!(!s.live(store, &s.access).await);
        assert!(!s.live(store, &a2).await);
        assert_eq!(
            s.rotate(store, &r2, (&new_id(), &new_id()), 10, DEFAULT).await,
            RotationOutcome::SessionGone
        );
        assert!(!store.end_session("u1", &s.sid).await.unwrap());
        assert!(store.sessions("u1", unix_now()).await.unwrap().is_empty());
    }

    pub(super) async fn another_users_session_cannot_be_ended_or_listed(store: &AnyStore) {
        let s = Session::start(store, "alice", LONG).await;

        assert!(!store.end_session("mallory", &s.sid).await.unwrap());
        assert_eq!(store.end_sessions("mallory", None).await.unwrap(), 0);
        assert!(store.sessions("mallory", unix_now()).await.unwrap().is_empty());
        assert!(s.live(store, &s.access).await);
    }

    pub(super) async fn ending_all_but_one_keeps_only_that_one(store: &AnyStore) {
        let keep = Session::start(store, "u1", LONG).await;
        let others =
            [Session::start(store, "u1", LONG).await, Session::start(store, "u1", LONG).await];
        let stranger = Session::start(store, "u2", LONG).await;

        assert_eq!(store.end_sessions("u1", Some(&keep.sid)).await.unwrap(), 2);

        assert!(keep.live(store, &keep.access).await);
        for other in &others {
            assert!(!other.live(store, &other.access).await);
        }
        assert!(stranger.live(store, &stranger.access).await);
        let listed = store.sessions("u1", unix_now()).await.unwrap();
        assert_eq!(listed.iter().map(|s| s.sid.as_str()).collect::<Vec<_>>(), [keep.sid.as_str()]);
        assert_eq!(store.end_sessions("u1", None).await.unwrap(), 1);
    }

    pub(super) async fn sessions_are_listed_with_their_details(store: &AnyStore) {
        let before = unix_now();
        let first = Session::start(store, "u1", LONG).await;
        let second = Session::start(store, "u1", LONG).await;

        let listed = store.sessions("u1", unix_now()).await.unwrap();

        assert_eq!(listed.len(), 2);
        let mine = listed.iter().find(|s| s.sid == first.sid).unwrap();
        assert_eq!((mine.device.as_str(), mine.ip.as_str()), ("test-agent/1.0", "192.0.2.1"));
        assert!(mine.created_at >= before && mine.last_used_at >= mine.created_at);
        assert_eq!(mine.refresh_count, 1);
        assert!(mine.expires_at >= mine.created_at + LONG.idle_secs);
        assert!(listed.iter().any(|s| s.sid == second.sid));
    }

    pub(super) async fn an_idle_session_ends_and_leaves_nothing_listed(store: &AnyStore) {
        let short = SessionLifetime { idle_secs: 1, absolute_secs: 60 };
        let s = Session::start(store, "u1", short).await;
        assert!(s.live(store, &s.access).await);

        tokio::time::sleep(Duration::from_millis(2100)).await;

        assert!(!s.live(store, &s.access).await);
        assert_eq!(
            s.rotate(store, &s.refresh, (&new_id(), &new_id()), 10, DEFAULT).await,
            RotationOutcome::SessionGone
        );
        assert!(store.sessions("u1", unix_now()).await.unwrap().is_empty());
    }

    pub(super) async fn the_absolute_lifetime_caps_the_idle_one(store: &AnyStore) {
        let capped = SessionLifetime { idle_secs: 3600, absolute_secs: 1 };
        let s = Session::start(store, "u1", capped).await;
        let listed = store.sessions("u1", unix_now()).await.unwrap();
        assert!(listed[0].expires_at <= listed[0].created_at + 1);

        tokio::time::sleep(Duration::from_millis(2100)).await;

        assert!(!s.live(store, &s.access).await);
    }

    pub(super) async fn subjects_with_braces_stay_apart(store: &AnyStore) {
        let tricky = Session::start(store, "a}b", LONG).await;
        let lookalike = AccessRef { subject: "a%7Db", sid: &tricky.sid, jti: &tricky.access };
        assert!(tricky.live(store, &tricky.access).await);
        assert!(!store.access_is_live(lookalike).await.unwrap());
    }

    pub(super) async fn ping_answers(store: &AnyStore) {
        store.ping().await.unwrap();
    }
}

macro_rules! conformance {
    ($backend:ident: $($case:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    let backend = super::$backend();
                    backend.ready().await;
                    super::cases::$case(&backend.store).await;
                }
            )*
        }
    };
}

macro_rules! all_backends {
    ($($case:ident),* $(,)?) => {
        conformance!(memory: $($case),*);
        conformance!(redis: $($case),*);
        conformance!(redis_cached: $($case),*);
        conformance!(cluster: $($case),*);
    };
}

all_backends!(
    a_started_session_makes_its_access_token_live,
    the_current_token_rotates_once_then_replays_the_same_successor,
    a_session_keeps_at_most_two_live_access_tokens,
    a_login_beyond_the_limit_ends_the_sessions_nearest_their_end,
    fifty_concurrent_rotations_make_one_successor,
    a_replay_after_the_grace_window_ends_the_session,
    a_token_older_than_the_previous_one_is_reuse_even_within_grace,
    revoke_successor_revokes_only_the_current_pair,
    alert_only_refuses_the_reused_token_and_changes_nothing,
    ending_a_session_revokes_all_its_tokens_at_once,
    another_users_session_cannot_be_ended_or_listed,
    ending_all_but_one_keeps_only_that_one,
    sessions_are_listed_with_their_details,
    an_idle_session_ends_and_leaves_nothing_listed,
    the_absolute_lifetime_caps_the_idle_one,
    subjects_with_braces_stay_apart,
    ping_answers,
);

mod redis_only {
    use super::*;

    #[tokio::test]
    async fn a_stopped_redis_is_an_error_never_a_revoked_token_and_recovery_needs_no_restart() {
        let mut server = RedisServer::start();
        let mut config = RedisStoreConfig::new(server.url());
        config.timeout_ms = 300;
        let store = AnyStore::Redis(RedisStore::new(&config).unwrap());
        let s = Session::start(&store, "u1", LONG).await;

        server.stop();
        for _ in 0..3 {
            let answer = store.access_is_live(s.access_ref(&s.access)).await;
            assert!(
                matches!(answer, Err(StoreError::Unavailable(_) | StoreError::Timeout(_))),
                "{answer:?}"
            );
        }
        assert!(store.ping().await.is_err());

        server.restart();
        store.ping().await.unwrap();
        // The restarted server is empty: the old session is gone, new ones work.
        assert!(!s.live(&store, &s.access).await);
        let fresh = Session::start(&store, "u1", LONG).await;
        assert!(fresh.live(&store, &fresh.access).await);
    }

    #[tokio::test]
    async fn expired_sessions_leave_no_key_behind() {
        let server = RedisServer::start();
        let store = AnyStore::Redis(RedisStore::new(&RedisStoreConfig::new(server.url())).unwrap());
        let short = SessionLifetime { idle_secs: 1, absolute_secs: 60 };
        for user in ["u1", "u1", "u2"] {
            Session::start(&store, user, short).await;
        }
        let client = ::redis::Client::open(server.url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = ::redis::cmd("KEYS").arg("*").query_async(&mut conn).await.unwrap();
        assert_eq!(keys.len(), 3 + 3 + 2, "{keys:?}");

        tokio::time::sleep(Duration::from_millis(2100)).await;

        // KEYS checks each key's expiry, so it lists only what is still there.
        let keys: Vec<String> = ::redis::cmd("KEYS").arg("*").query_async(&mut conn).await.unwrap();
        assert!(keys.is_empty(), "{keys:?}");
    }

    #[tokio::test]
    async fn an_unparsable_url_is_a_config_error() {
        let refused = RedisStore::new(&RedisStoreConfig::new("not a url"));
        assert!(matches!(refused, Err(StoreError::Config(_))));
    }
}

mod memory_only {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[tokio::test]
    async fn memory_holds_only_what_is_live() {
        let now = Arc::new(AtomicU64::new(unix_now()));
        let clock = now.clone();
        let store = AnyStore::Memory(MemoryStore::with_clock(Arc::new(move || {
            clock.load(Ordering::SeqCst)
        })));
        let short = SessionLifetime { idle_secs: 60, absolute_secs: 600 };
        for _ in 0..10 {
            Session::start(&store, "u1", short).await;
        }
        let AnyStore::Memory(memory) = &store else { unreachable!() };
        assert_eq!(memory.len(), 20);

        now.fetch_add(61, Ordering::SeqCst);

        assert!(memory.is_empty());
    }
}
