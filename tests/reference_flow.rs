//! The reference service's own end-to-end check, step for step, through a
//! cookie jar against the real binary: once with the embedded store and once
//! with a real Redis.

// Test code: a panic is how a failed step reports itself.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use e2e::{Answer, CookieJar, Http, RedisServer, ServerProcess};
use serde_json::json;

fn assert_token_cookies(answer: &Answer) {
    for (name, max_age) in [("access_token", 900), ("refresh_token", 604_800)] {
        let cookie = answer.cookie(name);
        assert!(!cookie.value.is_empty(), "{name} is empty");
        for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
            assert!(cookie.has(attribute), "{name} lacks {attribute}: {cookie:?}");
        }
        let age = cookie.max_age.unwrap_or_else(|| panic!("{name} has no Max-Age"));
        assert!((max_age - 5..=max_age).contains(&age), "{name} Max-Age {age}");
    }
}

fn assert_cleared_cookies(answer: &Answer) {
    for name in ["access_token", "refresh_token"] {
        let cookie = answer.cookie(name);
        assert_eq!(cookie.value, "", "{name} not emptied");
        assert_eq!(cookie.max_age, Some(0), "{name} Max-Age");
        for attribute in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
            assert!(cookie.has(attribute), "cleared {name} lacks {attribute}");
        }
    }
}

async fn reference_check(server: &ServerProcess) {
    let http = Http::new(server);
    let credentials = json!({"username": "user", "password": "pass"});
    let todo = json!({"title": "write secure JWT blog"});
    let mut jar = CookieJar::default();
    let mut seen_tokens = Vec::new();

    // 1. Log in, saving cookies.
    let login = http.post("/login", &credentials, &jar).await;
    assert_eq!((login.status, &login.body), (200, &json!({"ok": true})));
    assert_eq!(login.cookies.len(), 2);
    assert_token_cookies(&login);
    jar.store(&login);
    seen_tokens.extend(login.cookies.iter().map(|c| c.value.clone()));

    // 2. Create a todo with the cookies.
    let created = http.post("/todo", &todo, &jar).await;
    assert_eq!(created.status, 201);
    assert_eq!(created.body["user_id"], "1");
    assert_eq!(created.body["title"], "write secure JWT blog");
    assert!(created.body["id"].is_string(), "the stored todo's id: {}", created.body);

    // 3. Log out; the jar is not updated.
    let logout = http.post("/logout", &json!({}), &jar).await;
    assert_eq!((logout.status, &logout.body), (200, &json!({"ok": true})));
    assert_cleared_cookies(&logout);

    // 4. The old cookies no longer work.
    let refused = http.post("/todo", &todo, &jar).await;
    assert_eq!((refused.status, &refused.body), (401, &json!({"error": "token revoked"})));
    let refused = http.post("/token/refresh", &json!({}), &jar).await;
    assert_eq!((refused.status, &refused.body), (401, &json!({"error": "refresh revoked"})));

    // 5. Log in again, then refresh, reading and writing the jar.
    let login = http.post("/login", &credentials, &jar).await;
    assert_eq!(login.status, 200);
    jar.store(&login);
    let old_refresh = jar.get("refresh_token").map(str::to_owned);
    let refreshed = http.post("/token/refresh", &json!({}), &jar).await;
    assert_eq!((refreshed.status, &refreshed.body), (201, &json!({"ok": true})));
    assert_eq!(refreshed.cookies.len(), 2);
    assert_token_cookies(&refreshed);
    jar.store(&refreshed);
    assert_ne!(jar.get("refresh_token").map(str::to_owned), old_refresh);
    seen_tokens.extend(refreshed.cookies.iter().map(|c| c.value.clone()));

    // The new pair works; the rotated refresh token, replayed at once (inside
    // the grace window, as a racing tab would), gets that same pair again.
    assert_eq!(http.post("/todo", &todo, &jar).await.status, 201);
    let mut stale = jar.clone();
    stale.set("refresh_token", old_refresh.as_deref().unwrap_or_default());
    let replay = http.post("/token/refresh", &json!({}), &stale).await;
    assert_eq!(replay.status, 201);
    for name in ["access_token", "refresh_token"] {
        assert_eq!(Some(replay.cookie(name).value.as_str()), jar.get(name), "{name}");
    }

    // Nothing the server logged contains a token.
    let logs = server.logs();
    for token in &seen_tokens {
        assert!(!logs.contains(token.as_str()), "a token appears in the logs");
    }
    assert!(logs.contains("status=201"), "request log lines are missing:\n{logs}");
}

#[tokio::test]
async fn reference_check_passes_with_the_embedded_store() {
    let server = ServerProcess::start(&[("APP_ENV", "development")]);
    reference_check(&server).await;
}

#[tokio::test]
async fn reference_check_passes_with_redis() {
    let redis = RedisServer::start();
    let server = ServerProcess::start(&[("APP_ENV", "development"), ("REDIS_ADDR", &redis.addr())]);
    reference_check(&server).await;
    assert!(server.logs().contains("store=\"redis\""));
}

#[tokio::test]
async fn bearer_header_works_like_the_cookie() {
    let server = ServerProcess::start(&[("APP_ENV", "development")]);
    let http = Http::new(&server);
    let login = http
        .post("/login", &json!({"username": "user", "password": "pass"}), &CookieJar::default())
        .await;
    let bearer = format!("Bearer {}", login.cookie("access_token").value);

    let created = http
        .send(
            reqwest::Method::POST,
            "/todo",
            Some(&json!({"title": "t"})),
            &CookieJar::default(),
            &[("Authorization", &bearer)],
        )
        .await;

    assert_eq!(created.status, 201);
}

#[tokio::test]
async fn wrong_credentials_and_bad_bodies_get_the_reference_errors() {
    let server = ServerProcess::start(&[("APP_ENV", "development")]);
    let http = Http::new(&server);
    let jar = CookieJar::default();

    let wrong = http.post("/login", &json!({"username": "user", "password": "nope"}), &jar).await;
    assert_eq!((wrong.status, &wrong.body), (401, &json!({"error": "invalid credentials"})));
    assert!(wrong.cookies.is_empty());

    let not_json = http
        .send(reqwest::Method::POST, "/login", None, &jar, &[("Content-Type", "application/json")])
        .await;
    assert_eq!((not_json.status, &not_json.body), (422, &json!({"error": "invalid json"})));

    let missing = http.post("/token/refresh", &json!({}), &jar).await;
    assert_eq!((missing.status, &missing.body), (401, &json!({"error": "missing refresh token"})));

    let no_token = http.post("/todo", &json!({"title": "t"}), &jar).await;
    assert_eq!((no_token.status, &no_token.body), (401, &json!({"error": "missing token"})));

    let huge = json!({"username": "u".repeat(20_000), "password": "p"});
    let too_large = http.post("/login", &huge, &jar).await;
    assert_eq!(
        (too_large.status, &too_large.body),
        (413, &json!({"error": "request body too large"}))
    );

    let unknown = http.send(reqwest::Method::GET, "/nowhere", None, &jar, &[]).await;
    assert_eq!((unknown.status, &unknown.body), (404, &json!({"error": "not found"})));
}

#[tokio::test]
async fn cors_allows_the_frontend_origin_with_credentials_only() {
    let origin = "http://localhost:5173";
    let server = ServerProcess::start(&[("APP_ENV", "development"), ("FRONTEND_ORIGIN", origin)]);
    let http = Http::new(&server);
    let jar = CookieJar::default();
    let preflight = |from: &'static str| {
        let http = http.clone();
        let jar = jar.clone();
        async move {
            http.send(
                reqwest::Method::OPTIONS,
                "/todo",
                None,
                &jar,
                &[
                    ("Origin", from),
                    ("Access-Control-Request-Method", "POST"),
                    ("Access-Control-Request-Headers", "content-type,authorization"),
                ],
            )
            .await
        }
    };

    let allowed = preflight(origin).await;
    let header = |answer: &Answer, name: &str| {
        answer.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
    };
    assert_eq!(header(&allowed, "access-control-allow-origin").as_deref(), Some(origin));
    assert_eq!(header(&allowed, "access-control-allow-credentials").as_deref(), Some("true"));

    let foreign = preflight("https://evil.example").await;
    assert_eq!(header(&foreign, "access-control-allow-origin"), None);
    assert_eq!(
        (foreign.status, &foreign.body),
        (400, &json!({"error": "cors: origin not allowed"}))
    );

    let put = http
        .send(
            reqwest::Method::OPTIONS,
            "/todos/1",
            None,
            &jar,
            &[("Origin", origin), ("Access-Control-Request-Method", "PUT")],
        )
        .await;
    assert_eq!((put.status, &put.body), (400, &json!({"error": "cors: method not allowed"})));
    assert!(header(&put, "x-request-id").is_some());
}

#[tokio::test]
async fn sigterm_stops_the_server_gracefully() {
    let mut server = ServerProcess::start(&[("APP_ENV", "development")]);
    let status = server.terminate(Duration::from_secs(20));
    assert!(status.success(), "{status:?}");
    assert!(server.logs().contains("stopped"));
}

#[tokio::test]
async fn production_refuses_to_start_without_secrets_naming_the_variable() {
    let output = std::process::Command::new(e2e::server_binary())
        .env_clear()
        .env("APP_ENV", "production")
        .env("APP_CONFIG_DIR", e2e::workspace_root().join("config"))
        .env("REFRESH_SECRET", "r".repeat(32))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("ACCESS_SECRET is not set"), "{stderr}");
}
