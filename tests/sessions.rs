//! Sessions over HTTP against the real binary: single-flight refresh, reuse
//! detection, logout by Bearer, several devices, and two server instances
//! sharing one Redis.

// Test code: a panic is how a failed step reports itself.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use e2e::{Answer, CookieJar, Http, RedisServer, ServerProcess};
use serde_json::{json, Value};

const SECRETS: [(&str, &str); 2] = [
    ("ACCESS_SECRET", "access-secret-for-the-session-tests-0123456789"),
    ("REFRESH_SECRET", "refresh-secret-for-the-session-tests-012345678"),
];

fn start(extra: &[(&str, &str)]) -> ServerProcess {
    let mut env = vec![("APP_ENV", "development")];
    env.extend(SECRETS);
    env.extend(extra);
    ServerProcess::start(&env)
}

async fn login(http: &Http, device: &str) -> CookieJar {
    let credentials = json!({"username": "user", "password": "pass"});
    let answer = http
        .send(
            reqwest::Method::POST,
            "/login",
            Some(&credentials),
            &CookieJar::default(),
            &[("User-Agent", device)],
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let mut jar = CookieJar::default();
    jar.store(&answer);
    jar
}

async fn todo(http: &Http, jar: &CookieJar) -> Answer {
    http.post("/todo", &json!({"title": "t"}), jar).await
}

async fn sessions(http: &Http, jar: &CookieJar) -> Vec<Value> {
    let answer = http.send(reqwest::Method::GET, "/sessions", None, jar, &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body["sessions"].as_array().unwrap().clone()
}

fn bearer_jar(token: &str) -> (CookieJar, String) {
    (CookieJar::default(), format!("Bearer {token}"))
}

async fn fifty_concurrent_refreshes_share_one_successor(server: &ServerProcess) {
    let http = Http::new(server);
    let jar = login(&http, "tab-test").await;

    let mut racers = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let (http, jar) = (http.clone(), jar.clone());
        racers.spawn(async move { http.post("/token/refresh", &json!({}), &jar).await });
    }
    let answers: Vec<Answer> = racers.join_all().await;

    let first = &answers[0];
    for answer in &answers {
        assert_eq!((answer.status, &answer.body), (201, &json!({"ok": true})));
        for name in ["access_token", "refresh_token"] {
            assert_eq!(answer.cookie(name).value, first.cookie(name).value, "{name} differs");
        }
    }
    let mut next = jar.clone();
    next.store(first);
    assert_ne!(next.get("refresh_token"), jar.get("refresh_token"));
    assert_eq!(todo(&http, &next).await.status, 201, "the session stays alive");
    let listed = sessions(&http, &next).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["refresh_count"], 2, "the family grew by exactly one");
}

#[tokio::test]
async fn fifty_concurrent_refreshes_share_one_successor_with_the_embedded_store() {
    fifty_concurrent_refreshes_share_one_successor(&start(&[])).await;
}

#[tokio::test]
async fn fifty_concurrent_refreshes_share_one_successor_with_redis() {
    let redis = RedisServer::start();
    fifty_concurrent_refreshes_share_one_successor(&start(&[("REDIS_ADDR", &redis.addr())])).await;
}

#[tokio::test]
async fn a_replay_after_the_grace_window_revokes_the_whole_session() {
    let redis = RedisServer::start();
    let server = start(&[("REDIS_ADDR", &redis.addr()), ("APP__REFRESH__GRACE_SECS", "1")]);
    let http = Http::new(&server);
    let old = login(&http, "victim").await;
    let refreshed = http.post("/token/refresh", &json!({}), &old).await;
    assert_eq!(refreshed.status, 201);
    let mut successor = old.clone();
    successor.store(&refreshed);
    assert_eq!(todo(&http, &successor).await.status, 201);

    tokio::time::sleep(Duration::from_millis(2100)).await;
    let replay = http.post("/token/refresh", &json!({}), &old).await;

    assert_eq!((replay.status, &replay.body), (401, &json!({"error": "refresh revoked"})));
    let refused = todo(&http, &successor).await;
    assert_eq!((refused.status, &refused.body), (401, &json!({"error": "token revoked"})));
    let refused = http.post("/token/refresh", &json!({}), &successor).await;
    assert_eq!((refused.status, &refused.body), (401, &json!({"error": "refresh revoked"})));
    let logs = server.logs();
    let warning =
        logs.lines().find(|l| l.contains("refresh token reused")).expect("reuse is logged");
    for field in ["WARN", "sub=", "sid=", "ip=", "reuse_total=1"] {
        assert!(warning.contains(field), "{field} missing in: {warning}");
    }
}

#[tokio::test]
async fn logout_with_only_a_bearer_header_revokes_the_session() {
    let server = start(&[]);
    let http = Http::new(&server);
    let cookies = login(&http, "cli").await;
    let access = cookies.get("access_token").unwrap().to_owned();
    let refresh = cookies.get("refresh_token").unwrap().to_owned();
    let (empty, bearer) = bearer_jar(&access);

    let logout = http
        .send(
            reqwest::Method::POST,
            "/logout",
            Some(&json!({"refresh_token": refresh})),
            &empty,
            &[("Authorization", &bearer)],
        )
        .await;

    assert_eq!((logout.status, &logout.body), (200, &json!({"ok": true})));
    let refused = http
        .send(
            reqwest::Method::POST,
            "/todo",
            Some(&json!({"title": "t"})),
            &empty,
            &[("Authorization", &bearer)],
        )
        .await;
    assert_eq!((refused.status, &refused.body), (401, &json!({"error": "token revoked"})));
    let refused = http.post("/token/refresh", &json!({}), &cookies).await;
    assert_eq!((refused.status, &refused.body), (401, &json!({"error": "refresh revoked"})));
}

#[tokio::test]
async fn logout_on_one_instance_is_seen_by_another_sharing_redis() {
    let redis = RedisServer::start();
    let one = start(&[("REDIS_ADDR", &redis.addr())]);
    let two = start(&[("REDIS_ADDR", &redis.addr())]);
    let (http_one, http_two) = (Http::new(&one), Http::new(&two));
    let jar = login(&http_one, "laptop").await;
    assert_eq!(todo(&http_two, &jar).await.status, 201, "instance two accepts the token");

    let logout = http_one.post("/logout", &json!({}), &jar).await;
    assert_eq!(logout.status, 200);

    let refused = todo(&http_two, &jar).await;
    assert_eq!((refused.status, &refused.body), (401, &json!({"error": "token revoked"})));
}

#[tokio::test]
async fn logout_others_keeps_only_the_current_session() {
    let server = start(&[]);
    let http = Http::new(&server);
    let laptop = login(&http, "Laptop Browser/1.0").await;
    let phone = login(&http, "Phone App/2.0").await;
    let tablet = login(&http, "Tablet\tBrowser").await;

    let listed = sessions(&http, &laptop).await;
    assert_eq!(listed.len(), 3);
    let current: Vec<&Value> = listed.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["device"], "Laptop Browser/1.0");
    assert_eq!(current[0]["ip"], "127.0.0.1");
    assert!(
        listed.iter().any(|s| s["device"] == "TabletBrowser"),
        "control characters are dropped"
    );

    let answer = http.post("/logout/others", &json!({}), &laptop).await;
    assert_eq!((answer.status, &answer.body), (200, &json!({"ok": true, "ended": 2})));

    assert_eq!(todo(&http, &laptop).await.status, 201);
    for other in [&phone, &tablet] {
        let refused = todo(&http, other).await;
        assert_eq!((refused.status, &refused.body), (401, &json!({"error": "token revoked"})));
    }
    let listed = sessions(&http, &laptop).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["current"], true);
}

#[tokio::test]
async fn one_session_can_be_ended_by_id_and_unknown_ids_are_not_found() {
    let server = start(&[]);
    let http = Http::new(&server);
    let laptop = login(&http, "laptop").await;
    let phone = login(&http, "phone").await;
    let phone_id =
        sessions(&http, &phone).await.into_iter().find(|s| s["current"] == true).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned();

    let ended = http
        .send(reqwest::Method::DELETE, &format!("/sessions/{phone_id}"), None, &laptop, &[])
        .await;
    assert_eq!((ended.status, &ended.body), (200, &json!({"ok": true})));
    assert_eq!(todo(&http, &phone).await.status, 401);
    assert_eq!(todo(&http, &laptop).await.status, 201);

    for unknown in [phone_id.as_str(), "00000000-0000-0000-0000-000000000000", "..%2F..%2Fetc"] {
        let answer = http
            .send(reqwest::Method::DELETE, &format!("/sessions/{unknown}"), None, &laptop, &[])
            .await;
        assert_eq!(
            (answer.status, &answer.body),
            (404, &json!({"error": "session not found"})),
            "{unknown}"
        );
    }
}

#[tokio::test]
async fn logout_all_ends_every_session_and_clears_the_cookies() {
    let server = start(&[]);
    let http = Http::new(&server);
    let laptop = login(&http, "laptop").await;
    let phone = login(&http, "phone").await;

    let answer = http.post("/logout/all", &json!({}), &laptop).await;

    assert_eq!((answer.status, &answer.body), (200, &json!({"ok": true, "ended": 2})));
    assert_eq!(answer.cookie("access_token").max_age, Some(0));
    for jar in [&laptop, &phone] {
        assert_eq!(todo(&http, jar).await.status, 401);
    }
}

#[tokio::test]
async fn logout_and_refresh_ignore_a_body_they_cannot_use() {
    let server = start(&[]);
    let http = Http::new(&server);
    let addr = server.addr().to_owned();

    // Logout ends the session whatever the body, as the reference (which
    // reads none) does.
    for body in ["null", "[]", "a=b", r#"{"refresh_token":5}"#, "{"] {
        let cookies = login(&http, "cli").await;
        let access = cookies.get("access_token").unwrap().to_owned();
        let bearer = format!("Authorization: Bearer {access}").into_bytes();
        let answer = e2e::raw::post(&addr, "/logout", &[bearer], body);
        assert_eq!(answer.status(), Some(200), "{body}: {answer:?}");
        let (empty, bearer) = bearer_jar(&access);
        let headers = [("Authorization", bearer.as_str())];
        let me = http.send(reqwest::Method::GET, "/me", None, &empty, &headers).await;
        assert_eq!(me.status, 401, "{body}: the session outlived the logout");
    }

    // Refresh with the cookie does not read the body either.
    let cookies = login(&http, "cli").await;
    let refresh = cookies.get("refresh_token").unwrap().to_owned();
    let cookie = format!("Cookie: refresh_token={refresh}").into_bytes();
    let answer = e2e::raw::post(&addr, "/token/refresh", &[cookie], "a=b");
    assert_eq!(answer.status(), Some(201), "{answer:?}");

    // Without the cookie, the body is where the token must be.
    let answer = e2e::raw::post(&addr, "/token/refresh", &[], "null");
    assert_eq!(answer.status(), Some(422), "{answer:?}");
}

#[tokio::test]
async fn a_login_beyond_the_session_limit_ends_the_sessions_nearest_their_end() {
    let redis = RedisServer::start();
    let server = start(&[("REDIS_ADDR", &redis.addr()), ("APP__SESSIONS__MAX_PER_USER", "2")]);
    let http = Http::new(&server);
    let first = login(&http, "first").await;
    // A second apart, so the sessions' ends differ by the second the store counts in.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = login(&http, "second").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let third = login(&http, "third").await;

    let refused = todo(&http, &first).await;
    assert_eq!((refused.status, &refused.body), (401, &json!({"error": "token revoked"})));
    assert_eq!(todo(&http, &second).await.status, 201);
    let devices: Vec<Value> =
        sessions(&http, &third).await.iter().map(|s| s["device"].clone()).collect();
    assert_eq!(devices.len(), 2, "{devices:?}");
    assert!(!devices.contains(&json!("first")), "{devices:?}");
    assert!(server.logs().contains("session.evicted"));
}
