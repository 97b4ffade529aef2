//! Past one machine: two server instances sharing a Redis Cluster, and a
//! Sentinel failover of a standalone Redis while requests flow.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use e2e::{CookieJar, Http, RedisCluster, RedisSentinel, ServerProcess};
use serde_json::json;

const ACCESS: &str = "access-secret-for-the-scale-out-tests-012345";
const REFRESH: &str = "refresh-secret-for-the-scale-out-tests-01234";

#[tokio::test]
async fn two_instances_on_one_cluster_share_sessions_revocations_and_todos() {
    let cluster = RedisCluster::start();
    let nodes = cluster.nodes_env();
    let env = [
        ("APP_ENV", "development"),
        ("ACCESS_SECRET", ACCESS),
        ("REFRESH_SECRET", REFRESH),
        ("REDIS_CLUSTER_NODES", nodes.as_str()),
    ];
    let (one, two) = (ServerProcess::start(&env), ServerProcess::start(&env));
    let (a, b) = (Http::new(&one), Http::new(&two));

    let mut jar = CookieJar::default();
    jar.store(&a.post("/login", &json!({"username": "user", "password": "pass"}), &jar).await);
    let created = b.post("/todo", &json!({"title": "written on two"}), &jar).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let id = created.body["id"].as_str().unwrap();
    let read = a.send(reqwest::Method::GET, &format!("/todos/{id}"), None, &jar, &[]).await;
    assert_eq!((read.status, &read.body["title"]), (200, &json!("written on two")));

    let refreshed = b.post("/token/refresh", &json!({}), &jar).await;
    assert_eq!(refreshed.status, 201);
    jar.store(&refreshed);
    assert_eq!(a.post("/logout", &json!({}), &jar).await.status, 200);

    let after = b.post("/todo", &json!({"title": "too late"}), &jar).await;
    assert_eq!((after.status, &after.body), (401, &json!({"error": "token revoked"})));
}

#[tokio::test]
async fn a_sentinel_failover_fails_closed_then_recovers_without_a_restart() {
    let mut redis = RedisSentinel::start();
    let nodes = redis.nodes_env();
    let server = ServerProcess::start(&[
        ("APP_ENV", "development"),
        ("ACCESS_SECRET", ACCESS),
        ("REFRESH_SECRET", REFRESH),
        ("REDIS_SENTINEL_NODES", nodes.as_str()),
        ("REDIS_SENTINEL_MASTER", RedisSentinel::MASTER_NAME),
        ("APP__STORE__TIMEOUT_MS", "300"),
    ]);
    let http = Http::new(&server);
    let mut jar = CookieJar::default();
    jar.store(&http.post("/login", &json!({"username": "user", "password": "pass"}), &jar).await);
    assert_eq!(http.post("/todo", &json!({"title": "before"}), &jar).await.status, 201);
    // Replication is asynchronous: only acknowledged writes survive a failover.
    redis.sync_replica();

    redis.kill_master();
    let mut statuses = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut ok_in_a_row = 0;
    while ok_in_a_row < 5 {
        assert!(Instant::now() < deadline, "no recovery within 30 s: {statuses:?}");
        let answer = http.send(reqwest::Method::GET, "/todos", None, &jar, &[]).await;
        assert!(
            matches!(answer.status, 200 | 503),
            "{} {:?} during the failover; so far {statuses:?}",
            answer.status,
            answer.body
        );
        ok_in_a_row = if answer.status == 200 { ok_in_a_row + 1 } else { 0 };
        statuses.push(answer.status);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(statuses.contains(&503), "the switch was never seen: {statuses:?}");
    redis.wait_for_promotion();

    let created = http.post("/todo", &json!({"title": "after"}), &jar).await;
    assert_eq!(created.status, 201, "writes go to the promoted replica");
    let list = http.send(reqwest::Method::GET, "/todos", None, &jar, &[]).await;
    assert_eq!(list.body["todos"].as_array().map(Vec::len), Some(2), "{:?}", list.body);
}
