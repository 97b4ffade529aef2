//! What ending sessions leaves in a real `redis-server`: neither the session
//! nor its current access token's key, so a logout frees its memory at once.

// Test code: a panic is how a failed step reports itself.
#![allow(clippy::unwrap_used)]

use jwt_session_store::{
    AccessGrant, NewSession, RedisStore, RedisStoreConfig, SessionLifetime, SessionStore,
};
use jwt_session_testkit::RedisServer;
use jwt_session_token::{new_id, unix_now};

const LIFETIME: SessionLifetime = SessionLifetime { idle_secs: 3600, absolute_secs: 86_400 };

async fn start(store: &RedisStore, subject: &str) -> String {
    let (sid, jti, refresh) = (new_id(), new_id(), new_id());
    let now = unix_now();
    store
        .start(&NewSession {
            subject,
            sid: &sid,
            device: "test",
            ip: "127.0.0.1",
            now,
            access: AccessGrant { jti: &jti, expires_at: now + 900 },
            refresh_jti: &refresh,
            lifetime: LIFETIME,
            max_sessions: None,
        })
        .await
        .unwrap();
    sid
}

async fn keys(server: &RedisServer) -> Vec<String> {
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let mut keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(&mut conn).await.unwrap();
    keys.sort();
    keys
}

#[tokio::test]
async fn ending_sessions_deletes_their_access_keys_too() {
    let server = RedisServer::start();
    let store = RedisStore::new(&RedisStoreConfig::new(server.url())).unwrap();

    let one = start(&store, "alice").await;
    assert!(store.end_session("alice", &one).await.unwrap());
    assert_eq!(keys(&server).await, Vec::<String>::new(), "left after end_session");

    let kept = start(&store, "bob").await;
    for _ in 0..3 {
        start(&store, "bob").await;
    }
    assert_eq!(store.end_sessions("bob", Some(&kept)).await.unwrap(), 3);
    let left = keys(&server).await;
    assert_eq!(left.len(), 3, "the kept session, its access key and the index: {left:?}");
    assert!(left.iter().all(|key| key.contains(&kept) || key.contains("sessions:")), "{left:?}");
}
