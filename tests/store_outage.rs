//! Redis faults under a running server: stopped, killed under load,
//! restarted empty, frozen with SIGSTOP, its pool exhausted. Protected routes
//! fail closed with 503 (never 401, never 500, never through) within the
//! store timeout, and work again once Redis is back, without restarting the
//! server.

// Test code: a panic is how a failed step reports itself.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use e2e::{Answer, CookieJar, Http, RedisServer, ServerProcess};
use serde_json::{json, Value};

const STORE_TIMEOUT_MS: u64 = 300;

fn start(redis: &RedisServer, extra: &[(&str, &str)]) -> ServerProcess {
    let (addr, timeout) = (redis.addr(), STORE_TIMEOUT_MS.to_string());
    let mut env = vec![
        ("APP_ENV", "development"),
        ("REDIS_ADDR", addr.as_str()),
        ("APP__STORE__TIMEOUT_MS", timeout.as_str()),
    ];
    env.extend_from_slice(extra);
    ServerProcess::start(&env)
}

async fn logged_in(http: &Http) -> CookieJar {
    let mut jar = CookieJar::default();
    let login = http.post("/login", &json!({"username": "user", "password": "pass"}), &jar).await;
    assert_eq!(login.status, 200, "login: {}", login.body);
    jar.store(&login);
    jar
}

async fn todo(http: &Http, jar: &CookieJar) -> Answer {
    http.post("/todo", &json!({"title": "under fault"}), jar).await
}

fn unavailable() -> Value {
    json!({"error": "session store unavailable"})
}

/// The server is the one started by the test, still up, and never panicked.
async fn assert_unharmed(server: &mut ServerProcess, http: &Http) {
    assert!(server.is_running(), "the server exited");
    let health =
        http.send(reqwest::Method::GET, "/healthz", None, &CookieJar::default(), &[]).await;
    assert_eq!(health.status, 200);
    let logs = server.logs();
    assert!(!logs.contains("panicked"), "the server panicked:\n{logs}");
    assert_eq!(
        logs.matches("todo_server: listening").count(),
        1,
        "the server started twice:\n{logs}"
    );
}

#[tokio::test]
async fn redis_outage_answers_503_and_recovery_needs_no_restart() {
    let mut redis = RedisServer::start();
    let server = ServerProcess::start(&[
        ("APP_ENV", "development"),
        ("REDIS_ADDR", &redis.addr()),
        ("APP__STORE__TIMEOUT_MS", "300"),
    ]);
    let http = Http::new(&server);
    let credentials = json!({"username": "user", "password": "pass"});
    let todo = json!({"title": "survive an outage"});
    let unavailable = json!({"error": "session store unavailable"});

    let mut jar = CookieJar::default();
    let login = http.post("/login", &credentials, &jar).await;
    jar.store(&login);
    assert_eq!(http.post("/todo", &todo, &jar).await.status, 201);

    redis.stop();
    let outage = Instant::now();

    let answer = http.post("/todo", &todo, &jar).await;
    assert_eq!((answer.status, &answer.body), (503, &unavailable), "todo during the outage");
    let answer = http.post("/login", &credentials, &CookieJar::default()).await;
    assert_eq!((answer.status, &answer.body), (503, &unavailable), "login during the outage");
    assert!(answer.cookies.is_empty(), "login must not hand out unrecorded tokens");
    let answer = http.post("/token/refresh", &json!({}), &jar).await;
    assert_eq!((answer.status, &answer.body), (503, &unavailable), "refresh during the outage");
    let ready = http.send(reqwest::Method::GET, "/readyz", None, &CookieJar::default(), &[]).await;
    assert_eq!(ready.status, 503);
    assert!(server.logs().contains("session store unavailable"), "the outage is not logged");
    // Every refused request is not an error line of its own: at most one a
    // second, each counting the ones it stands for.
    for _ in 0..100 {
        assert_eq!(http.post("/todo", &todo, &jar).await.status, 503);
    }
    let logs = server.logs();
    let error_lines = logs
        .lines()
        .filter(|line| line.contains("ERROR") && line.contains("session store unavailable"))
        .count();
    let most = 2 + usize::try_from(outage.elapsed().as_secs()).unwrap();
    assert!(
        (1..=most).contains(&error_lines),
        "{error_lines} error lines, at most {most}:\n{logs}"
    );

    redis.restart();

    // The restarted Redis is empty, so the old session is gone...
    let answer = http.post("/todo", &todo, &jar).await;
    assert_eq!((answer.status, &answer.body), (401, &json!({"error": "token revoked"})));
    // ...and a new login works without restarting the server.
    let mut jar = CookieJar::default();
    let login = http.post("/login", &credentials, &jar).await;
    assert_eq!(login.status, 200);
    jar.store(&login);
    assert_eq!(http.post("/todo", &todo, &jar).await.status, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_under_load_gives_503_never_500_or_401() {
    let mut redis = RedisServer::start();
    let mut server = start(&redis, &[]);
    let http = Http::new(&server);
    let jar = logged_in(&http).await;

    // Eight clients, each at most 150 requests or 4 seconds.
    let started = Instant::now();
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let (http, jar) = (http.clone(), jar.clone());
            tokio::spawn(async move {
                let mut seen = Vec::new();
                for _ in 0..150 {
                    if started.elapsed() > Duration::from_secs(4) {
                        break;
                    }
                    let sent = started.elapsed();
                    let answer = todo(&http, &jar).await;
                    seen.push((sent, answer.status, answer.body));
                }
                seen
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let killed = started.elapsed();
    redis.stop();

    let mut seen = Vec::new();
    for client in clients {
        seen.extend(client.await.unwrap());
    }
    let odd: Vec<_> = seen
        .iter()
        .filter(|(_, status, body)| !(*status == 201 || (*status == 503 && *body == unavailable())))
        .collect();
    assert!(odd.is_empty(), "answers other than 201 or 503: {odd:?}");
    assert!(
        seen.iter().any(|(_, status, _)| *status == 201),
        "no request succeeded before the kill"
    );
    let after: Vec<_> = seen.iter().filter(|(sent, ..)| *sent > killed).collect();
    assert!(after.len() >= 8, "too few requests after the kill: {}", after.len());
    assert!(after.iter().all(|(_, status, _)| *status == 503), "a request passed without Redis");
    assert_unharmed(&mut server, &http).await;
}

#[tokio::test]
async fn a_restart_empties_the_store_and_refuses_every_old_token() {
    let mut redis = RedisServer::start();
    let mut server = start(&redis, &[]);
    let http = Http::new(&server);
    let mut jars = Vec::new();
    for _ in 0..3 {
        jars.push(logged_in(&http).await);
    }
    let refreshed = http.post("/token/refresh", &json!({}), &jars[0]).await;
    assert_eq!(refreshed.status, 201);
    jars[0].store(&refreshed);

    redis.restart();

    for jar in &jars {
        let answer = todo(&http, jar).await;
        assert_eq!((answer.status, answer.body), (401, json!({"error": "token revoked"})));
        let bearer = format!("Bearer {}", jar.get("access_token").unwrap());
        let access_only = http
            .send(
                reqwest::Method::POST,
                "/todo",
                Some(&json!({"title": "t"})),
                &CookieJar::default(),
                &[("Authorization", &bearer)],
            )
            .await;
        assert_eq!(access_only.status, 401, "old Bearer token: {}", access_only.body);
        let answer = http.post("/token/refresh", &json!({}), jar).await;
        assert_eq!(answer.status, 401, "old refresh token: {}", answer.body);
        assert!(answer.cookies.iter().all(|c| c.value.is_empty()), "new tokens for an old session");
    }
    let jar = logged_in(&http).await;
    assert_eq!(todo(&http, &jar).await.status, 201);
    assert_unharmed(&mut server, &http).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_redis_gives_503_within_the_store_timeout_and_recovers_on_sigcont() {
    let mut redis = RedisServer::start();
    let mut server = start(&redis, &[]);
    let http = Http::new(&server);
    let jar = logged_in(&http).await;
    assert_eq!(todo(&http, &jar).await.status, 201);

    redis.pause();

    let timeout = Duration::from_millis(STORE_TIMEOUT_MS);
    for _ in 0..3 {
        let asked = Instant::now();
        let answer = todo(&http, &jar).await;
        let took = asked.elapsed();
        assert_eq!((answer.status, &answer.body), (503, &unavailable()));
        assert!(took >= timeout / 2, "503 after {took:?}: the store was not even asked");
        assert!(took < timeout * 2 + Duration::from_millis(200), "503 only after {took:?}");
    }

    redis.resume();

    // The data survived the freeze: the same session works again at once.
    let answer = todo(&http, &jar).await;
    assert_eq!(answer.status, 201, "after SIGCONT: {}", answer.body);
    assert_unharmed(&mut server, &http).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_pool_answers_503_quickly_instead_of_hanging() {
    let mut redis = RedisServer::start();
    let mut server = start(&redis, &[("APP__STORE__POOL_MAX_SIZE", "2")]);
    let http = Http::new(&server);
    let jar = logged_in(&http).await;

    // Both connections get stuck on a frozen Redis; 30 more requests queue for them.
    redis.pause();
    let asked = Instant::now();
    let requests: Vec<_> = (0..32)
        .map(|_| {
            let (http, jar) = (http.clone(), jar.clone());
            tokio::spawn(async move {
                let answer = todo(&http, &jar).await;
                (answer.status, answer.body)
            })
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.unwrap(), (503, unavailable()));
    }
    let took = asked.elapsed();
    let bound = Duration::from_millis(STORE_TIMEOUT_MS * 4 + 500);
    assert!(took < bound, "32 requests on a pool of 2 took {took:?}");

    redis.resume();
    let answer = todo(&http, &jar).await;
    assert_eq!(answer.status, 201, "after the pool drained: {}", answer.body);
    assert_unharmed(&mut server, &http).await;
}
