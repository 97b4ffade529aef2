//! Redis stopped under a running server: protected routes fail closed with
//! 503 (never 401, never through), and work again once Redis is back,
//! without restarting the server.

// Test code: a panic is how a failed step reports itself.
#![allow(clippy::unwrap_used)]

use e2e::{CookieJar, Http, RedisServer, ServerProcess};
use serde_json::json;

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
