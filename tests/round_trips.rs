//! What each request costs the store, counted by Redis itself (INFO
//! commandstats): the protected route one `EXISTS` and its own write, a
//! refresh one script, a logout its check and one script, a login one script
//! before the password check and two after. No connection check (`PING`,
//! `UNWATCH`) rides along with any of them.

// Test code: a panic is how a failed step reports itself.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use e2e::{CookieJar, Http, RedisServer, ServerProcess};
use serde_json::json;

/// Commands the server only ever sends itself, never from inside a script:
/// any of them in a count below would be a round trip of its own.
const STANDALONE_ONLY: [&str; 6] = ["ping", "unwatch", "multi", "exec", "hgetall", "script|load"];

fn reset(redis: &redis::Client) {
    let mut conn = redis.get_connection().unwrap();
    redis::cmd("CONFIG").arg("RESETSTAT").query::<()>(&mut conn).unwrap();
}

/// Calls per command since the last reset, the ones inside scripts included.
fn calls(redis: &redis::Client) -> HashMap<String, u64> {
    let mut conn = redis.get_connection().unwrap();
    let info: String = redis::cmd("INFO").arg("commandstats").query(&mut conn).unwrap();
    info.lines()
        .filter_map(|line| {
            let (name, rest) = line.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = rest.strip_prefix("calls=")?.split(',').next()?.parse().ok()?;
            Some((name.to_owned(), calls))
        })
        .filter(|(name, _)| name != "config|resetstat")
        .collect()
}

fn assert_cost(seen: &HashMap<String, u64>, what: &str, evalsha: u64, exists: u64) {
    let count = |name: &str| seen.get(name).copied().unwrap_or(0);
    assert_eq!(count("evalsha"), evalsha, "{what}: scripts run, in {seen:?}");
    assert_eq!(count("exists"), exists, "{what}: EXISTS checks, in {seen:?}");
    for name in STANDALONE_ONLY {
        assert_eq!(count(name), 0, "{what}: a round trip of its own ({name}), in {seen:?}");
    }
}

#[tokio::test]
async fn each_request_costs_the_store_the_round_trips_the_benchmarks_report() {
    let redis = RedisServer::start();
    let server = ServerProcess::start(&[("APP_ENV", "development"), ("REDIS_ADDR", &redis.addr())]);
    let http = Http::new(&server);
    let client = redis::Client::open(redis.url()).unwrap();
    let login = json!({"username": "user", "password": "pass"});
    let todo = json!({"title": "counted"});

    // Every script is loaded once, before anything is counted.
    let mut warm = CookieJar::default();
    warm.store(&http.post("/login", &login, &warm).await);
    warm.store(&http.post("/token/refresh", &json!({}), &warm).await);
    assert_eq!(http.post("/todo", &todo, &warm).await.status, 201);
    assert_eq!(http.post("/logout", &json!({}), &warm).await.status, 200);

    let mut jar = CookieJar::default();
    reset(&client);
    let answer = http.post("/login", &login, &jar).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_cost(&calls(&client), "login", 3, 0);
    jar.store(&answer);

    reset(&client);
    assert_eq!(http.post("/todo", &todo, &jar).await.status, 201);
    assert_cost(&calls(&client), "POST /todo", 1, 1);

    reset(&client);
    let answer = http.post("/token/refresh", &json!({}), &jar).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_cost(&calls(&client), "refresh", 1, 0);
    jar.store(&answer);

    reset(&client);
    assert_eq!(http.post("/logout", &json!({}), &jar).await.status, 200);
    assert_cost(&calls(&client), "logout", 1, 1);
}

#[tokio::test]
async fn with_the_local_cache_a_hot_token_costs_the_store_nothing_to_check() {
    let redis = RedisServer::start();
    let server = ServerProcess::start(&[
        ("APP_ENV", "development"),
        ("REDIS_ADDR", &redis.addr()),
        ("APP__STORE__LOCAL_CACHE", "true"),
    ]);
    let http = Http::new(&server);
    let client = redis::Client::open(redis.url()).unwrap();
    let mut jar = CookieJar::default();
    jar.store(&http.post("/login", &json!({"username": "user", "password": "pass"}), &jar).await);
    let todo = json!({"title": "counted"});

    // The first checks go to Redis (tracking starting, then a miss that reads
    // the keys' lifetimes); once cached, only the todo's own write is left.
    let mut last = HashMap::new();
    for _ in 0..50 {
        reset(&client);
        assert_eq!(http.post("/todo", &todo, &jar).await.status, 201);
        last = calls(&client);
        let checked = ["exists", "pttl"].iter().any(|name| last.contains_key(*name));
        if !checked {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_cost(&last, "POST /todo with a cached token", 1, 0);
    assert!(!last.contains_key("pttl"), "the check still reached Redis: {last:?}");
}
