//! SIGTERM under load: requests already in flight finish with a complete
//! answer, none sees its connection reset, and the process exits 0 within
//! the drain timeout.
//!
//! The server has no slow route, so a frozen Redis (SIGSTOP) keeps requests
//! in flight: each protected request waits on the store while the signal
//! arrives, and Redis is let go during the drain.

// Test code: a panic is how a failed step reports itself.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use e2e::{CookieJar, Http, RedisServer, ServerProcess};
use serde_json::json;

const DRAIN_SECS: u64 = 10;
const IN_FLIGHT: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_every_in_flight_request_finish_and_exits_zero() {
    let mut redis = RedisServer::start();
    let drain = DRAIN_SECS.to_string();
    let mut server = ServerProcess::start(&[
        ("APP_ENV", "development"),
        ("REDIS_ADDR", &redis.addr()),
        ("APP__STORE__TIMEOUT_MS", "5000"),
        ("APP__STORE__POOL_MAX_SIZE", "64"),
        ("APP__SERVER__SHUTDOWN_TIMEOUT_SECS", &drain),
    ]);
    let http = Http::new(&server);
    let mut jar = CookieJar::default();
    let login = http.post("/login", &json!({"username": "user", "password": "pass"}), &jar).await;
    jar.store(&login);

    redis.pause();
    let requests: Vec<_> = (0..IN_FLIGHT)
        .map(|i| {
            let (http, jar) = (http.clone(), jar.clone());
            tokio::spawn(async move {
                let answer =
                    http.post("/todo", &json!({ "title": format!("todo {i}") }), &jar).await;
                (answer.status, answer.body)
            })
        })
        .collect();
    // Let every request reach the server and wait on the frozen store.
    tokio::time::sleep(Duration::from_millis(700)).await;

    server.send_sigterm();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(server.is_running(), "the server quit with requests in flight");
    redis.resume();

    for (i, request) in requests.into_iter().enumerate() {
        // `Http` panics on a reset or closed connection; the task then fails.
        let (status, body) = request.await.unwrap_or_else(|e| panic!("request {i}: {e}"));
        assert_eq!(status, 201, "request {i}: {body}");
    }
    let status = tokio::task::spawn_blocking(move || {
        let status = server.wait(Duration::from_secs(DRAIN_SECS));
        (status, server.logs())
    })
    .await
    .unwrap();
    assert!(status.0.success(), "exit {:?}; logs:\n{}", status.0, status.1);
    assert!(status.1.contains("draining in-flight requests"), "{}", status.1);
}
