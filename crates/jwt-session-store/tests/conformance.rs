//! One acceptance suite for every backend: the embedded store and a real,
//! private `redis-server` behave the same.

// Test code: a panic is how a failed step reports itself.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use jwt_session_store::{
    AnyStore, LiveToken, MemoryStore, RedisStore, RedisStoreConfig, StoreError, TokenId, TokenStore,
};
use jwt_session_testkit::RedisServer;
use jwt_session_token::{new_id, unix_now, TokenKind};

/// A backend under test; keeps its Redis server alive for the test's length.
struct Backend {
    store: AnyStore,
    _redis: Option<RedisServer>,
}

fn memory() -> Backend {
    Backend { store: AnyStore::Memory(MemoryStore::new()), _redis: None }
}

fn redis() -> Backend {
    let server = RedisServer::start();
    let store = RedisStore::new(&RedisStoreConfig::new(server.url())).unwrap();
    Backend { store: AnyStore::Redis(store), _redis: Some(server) }
}

fn live(id: TokenId<'_>, ttl: u64) -> LiveToken<'_> {
    LiveToken { id, expires_at: unix_now() + ttl }
}

/// The cases, each a function of a store; `conformance!` runs them all per backend.
mod cases {
    use super::*;

    pub(super) async fn recorded_token_is_live_until_revoked(store: &AnyStore) {
        let jti = new_id();
        let id = TokenId { kind: TokenKind::Access, subject: "u1", jti: &jti };
        assert!(!store.is_live(id).await.unwrap());

        store.record(&[live(id, 60)]).await.unwrap();
        assert!(store.is_live(id).await.unwrap());

        assert_eq!(store.revoke(&[id]).await.unwrap(), 1);
        assert!(!store.is_live(id).await.unwrap());
        assert_eq!(store.revoke(&[id]).await.unwrap(), 0);
    }

    pub(super) async fn a_pair_is_recorded_together_and_kinds_do_not_mix(store: &AnyStore) {
        let (a, r) = (new_id(), new_id());
        let access = TokenId { kind: TokenKind::Access, subject: "u1", jti: &a };
        let refresh = TokenId { kind: TokenKind::Refresh, subject: "u1", jti: &r };

        store.record(&[live(access, 60), live(refresh, 600)]).await.unwrap();

        assert!(store.is_live(access).await.unwrap());
        assert!(store.is_live(refresh).await.unwrap());
        let crossed = TokenId { kind: TokenKind::Refresh, subject: "u1", jti: &a };
        assert!(!store.is_live(crossed).await.unwrap());
        assert_eq!(store.revoke(&[access, refresh]).await.unwrap(), 2);
    }

    pub(super) async fn a_token_is_live_only_under_its_own_subject(store: &AnyStore) {
        let jti = new_id();
        let id = TokenId { kind: TokenKind::Access, subject: "alice", jti: &jti };
        store.record(&[live(id, 60)]).await.unwrap();

        let other = TokenId { subject: "mallory", ..id };
        assert!(!store.is_live(other).await.unwrap());
        assert!(!store.consume(other).await.unwrap());
        assert!(store.is_live(id).await.unwrap());
    }

    pub(super) async fn consume_succeeds_once(store: &AnyStore) {
        let jti = new_id();
        let id = TokenId { kind: TokenKind::Refresh, subject: "u1", jti: &jti };
        store.record(&[live(id, 60)]).await.unwrap();

        assert!(store.consume(id).await.unwrap());
        assert!(!store.consume(id).await.unwrap());
        assert!(!store.is_live(id).await.unwrap());
    }

    pub(super) async fn of_fifty_concurrent_consumes_exactly_one_wins(store: &AnyStore) {
        let jti = new_id();
        let id = TokenId { kind: TokenKind::Refresh, subject: "u1", jti: &jti };
        store.record(&[live(id, 60)]).await.unwrap();

        let store = Arc::new(store.clone());
        let racers = (0..50).map(|_| {
            let (store, jti) = (store.clone(), jti.clone());
            tokio::spawn(async move {
                let id = TokenId { kind: TokenKind::Refresh, subject: "u1", jti: &jti };
                store.consume(id).await.unwrap()
            })
        });
        let results = futures_util::future::join_all(racers).await;

        let winners = results.into_iter().filter(|r| *r.as_ref().unwrap()).count();
        assert_eq!(winners, 1);
    }

    pub(super) async fn entries_vanish_at_their_expiry(store: &AnyStore) {
        let jti = new_id();
        let id = TokenId { kind: TokenKind::Access, subject: "u1", jti: &jti };
        store.record(&[live(id, 1)]).await.unwrap();
        assert!(store.is_live(id).await.unwrap());

        tokio::time::sleep(Duration::from_millis(2100)).await;

        assert!(!store.is_live(id).await.unwrap());
        assert!(!store.consume(id).await.unwrap());
    }

    pub(super) async fn tokens_already_expired_are_not_recorded(store: &AnyStore) {
        let jti = new_id();
        let id = TokenId { kind: TokenKind::Access, subject: "u1", jti: &jti };
        store.record(&[LiveToken { id, expires_at: unix_now() - 1 }]).await.unwrap();
        assert!(!store.is_live(id).await.unwrap());
    }

    pub(super) async fn subjects_with_braces_are_kept_apart(store: &AnyStore) {
        let jti = new_id();
        let tricky = TokenId { kind: TokenKind::Access, subject: "a}b", jti: &jti };
        store.record(&[live(tricky, 60)]).await.unwrap();
        let lookalike = TokenId { subject: "a%7Db", ..tricky };
        assert!(store.is_live(tricky).await.unwrap());
        assert!(!store.is_live(lookalike).await.unwrap());
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
    };
}

all_backends!(
    recorded_token_is_live_until_revoked,
    a_pair_is_recorded_together_and_kinds_do_not_mix,
    a_token_is_live_only_under_its_own_subject,
    consume_succeeds_once,
    of_fifty_concurrent_consumes_exactly_one_wins,
    entries_vanish_at_their_expiry,
    tokens_already_expired_are_not_recorded,
    subjects_with_braces_are_kept_apart,
    ping_answers,
);

mod redis_faults {
    use super::*;

    #[tokio::test]
    async fn a_stopped_redis_is_an_error_never_a_revoked_token_and_recovery_needs_no_restart() {
        let mut server = RedisServer::start();
        let mut config = RedisStoreConfig::new(server.url());
        config.timeout_ms = 300;
        let store = RedisStore::new(&config).unwrap();
        let jti = new_id();
        let id = TokenId { kind: TokenKind::Access, subject: "u1", jti: &jti };
        store.record(&[live(id, 60)]).await.unwrap();

        server.stop();
        for _ in 0..3 {
            let answer = store.is_live(id).await;
            assert!(
                matches!(answer, Err(StoreError::Unavailable(_) | StoreError::Timeout(_))),
                "{answer:?}"
            );
        }
        assert!(store.consume(id).await.is_err());
        assert!(store.ping().await.is_err());

        server.restart();
        store.ping().await.unwrap();
        // The restarted server is empty: the old token is gone, new ones work.
        assert!(!store.is_live(id).await.unwrap());
        store.record(&[live(id, 60)]).await.unwrap();
        assert!(store.is_live(id).await.unwrap());
    }

    #[tokio::test]
    async fn an_unparsable_url_is_a_config_error() {
        let refused = RedisStore::new(&RedisStoreConfig::new("not a url"));
        assert!(matches!(refused, Err(StoreError::Config(_))));
    }

    #[tokio::test]
    async fn keys_carry_the_prefix_and_a_ttl_from_the_expiry() {
        let server = RedisServer::start();
        let mut config = RedisStoreConfig::new(server.url());
        config.key_prefix = "todo:".into();
        let store = RedisStore::new(&config).unwrap();
        let id = TokenId { kind: TokenKind::Access, subject: "7", jti: "j1" };

        store.record(&[live(id, 900)]).await.unwrap();

        let client = ::redis::Client::open(server.url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let ttl: i64 =
            ::redis::cmd("TTL").arg("todo:access:{7}:j1").query_async(&mut conn).await.unwrap();
        let value: String =
            ::redis::cmd("GET").arg("todo:access:{7}:j1").query_async(&mut conn).await.unwrap();
        assert!((895..=900).contains(&ttl), "ttl {ttl}");
        assert_eq!(value, "7");
    }
}

mod memory_bounds {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[tokio::test]
    async fn memory_holds_only_live_tokens() {
        let now = Arc::new(AtomicU64::new(1_000));
        let clock = now.clone();
        let store = MemoryStore::with_clock(Arc::new(move || clock.load(Ordering::SeqCst)));
        let jtis: Vec<String> = (0..100).map(|_| new_id()).collect();
        let tokens: Vec<LiveToken<'_>> = jtis
            .iter()
            .enumerate()
            .map(|(i, jti)| LiveToken {
                id: TokenId { kind: TokenKind::Access, subject: "u", jti },
                expires_at: 1_000 + 10 + i as u64,
            })
            .collect();
        store.record(&tokens).await.unwrap();
        assert_eq!(store.len(), 100);

        // Expiries run 1010..=1109; an entry is gone once its expiry is reached.
        now.store(1_059, Ordering::SeqCst);
        assert_eq!(store.len(), 50);

        now.store(2_000, Ordering::SeqCst);
        assert!(store.is_empty());
    }

    #[tokio::test]
    async fn revoked_entries_free_their_memory_at_once() {
        let store = MemoryStore::new();
        let id = TokenId { kind: TokenKind::Access, subject: "u", jti: "j" };
        store.record(&[live(id, 600)]).await.unwrap();
        store.revoke(&[id]).await.unwrap();
        assert!(store.is_empty());
    }

    #[tokio::test]
    async fn recording_a_token_again_moves_its_expiry() {
        let now = Arc::new(AtomicU64::new(1_000));
        let clock = now.clone();
        let store = MemoryStore::with_clock(Arc::new(move || clock.load(Ordering::SeqCst)));
        let id = TokenId { kind: TokenKind::Access, subject: "u", jti: "j" };
        store.record(&[LiveToken { id, expires_at: 1_010 }]).await.unwrap();
        store.record(&[LiveToken { id, expires_at: 1_100 }]).await.unwrap();

        now.store(1_050, Ordering::SeqCst);
        assert!(store.is_live(id).await.unwrap());
        assert_eq!(store.len(), 1);
    }
}
