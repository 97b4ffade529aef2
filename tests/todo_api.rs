//! The todo API and accounts over HTTP against the real binary, on both
//! stores: stored todos, registration, token bodies for clients without
//! cookies, cross-site refusal, login throttling, RFC 6750 challenges,
//! limits, the OpenAPI document, and a restart against the same Redis.

// Test code: a panic is how a failed step reports itself.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use e2e::{Answer, CookieJar, Http, RedisServer, ServerProcess};
use reqwest::Method;
use serde_json::{json, Value};

const SECRETS: [(&str, &str); 2] = [
    ("ACCESS_SECRET", "access-secret-for-the-todo-api-tests-0123456"),
    ("REFRESH_SECRET", "refresh-secret-for-the-todo-api-tests-012345"),
];

/// A server on the embedded store (`redis` None) or on Redis.
fn start(redis: Option<&RedisServer>, extra: &[(&str, &str)]) -> ServerProcess {
    let addr = redis.map(RedisServer::addr);
    let mut env = vec![("APP_ENV", "development")];
    env.extend(SECRETS);
    if let Some(addr) = &addr {
        env.push(("REDIS_ADDR", addr));
    }
    env.extend(extra);
    ServerProcess::start(&env)
}

async fn register(http: &Http, username: &str, password: &str) -> Answer {
    http.post(
        "/register",
        &json!({"username": username, "password": password}),
        &CookieJar::default(),
    )
    .await
}

async fn login(http: &Http, username: &str, password: &str) -> CookieJar {
    let answer = http
        .post("/login", &json!({"username": username, "password": password}), &CookieJar::default())
        .await;
    assert_eq!(answer.status, 200, "login {username}: {}", answer.body);
    let mut jar = CookieJar::default();
    jar.store(&answer);
    jar
}

async fn get(http: &Http, path: &str, jar: &CookieJar) -> Answer {
    http.send(Method::GET, path, None, jar, &[]).await
}

async fn todos_round_trip(redis: Option<&RedisServer>) {
    let server = start(redis, &[]);
    let http = Http::new(&server);
    let jar = login(&http, "user", "pass").await;

    let mut ids = Vec::new();
    for n in 1..=25 {
        let created = http.post("/todo", &json!({"title": format!("  todo {n}  ")}), &jar).await;
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(
            (created.body["user_id"].as_str(), created.body["title"].as_str()),
            (Some("1"), Some(format!("todo {n}").as_str()))
        );
        ids.push(created.body["id"].as_str().unwrap().to_owned());
    }

    let first = get(&http, "/todos", &jar).await;
    assert_eq!(first.status, 200);
    assert_eq!((first.body["total"].as_u64(), first.body["limit"].as_u64()), (Some(25), Some(20)));
    let titles: Vec<&str> = first.body["todos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles.len(), 20);
    assert_eq!((titles[0], titles[19]), ("todo 25", "todo 6"), "newest first");
    let rest = get(&http, "/todos?offset=20&limit=10", &jar).await;
    let rest: Vec<&str> = rest.body["todos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(rest, ["todo 5", "todo 4", "todo 3", "todo 2", "todo 1"]);

    let one = get(&http, &format!("/todos/{}", ids[0]), &jar).await;
    assert_eq!(
        (one.status, &one.body["title"], &one.body["done"]),
        (200, &json!("todo 1"), &json!(false))
    );

    let path = format!("/todos/{}", ids[0]);
    let changed = http
        .send(Method::PATCH, &path, Some(&json!({"done": true, "title": "renamed"})), &jar, &[])
        .await;
    assert_eq!(
        (changed.status, &changed.body["title"], &changed.body["done"]),
        (200, &json!("renamed"), &json!(true))
    );
    let again = get(&http, &path, &jar).await;
    assert_eq!(again.body["done"], true);

    let deleted = http.send(Method::DELETE, &path, None, &jar, &[]).await;
    assert_eq!((deleted.status, &deleted.body), (200, &json!({"ok": true})));
    let gone = get(&http, &path, &jar).await;
    assert_eq!((gone.status, &gone.body), (404, &json!({"error": "todo not found"})));
    assert_eq!(get(&http, "/todos", &jar).await.body["total"], 24);

    // Titles out of their rules name the field.
    for bad in [json!({"title": "   "}), json!({"title": "x".repeat(501)})] {
        let refused = http.post("/todo", &bad, &jar).await;
        assert_eq!(refused.status, 422);
        assert!(
            refused.body["error"].as_str().unwrap().starts_with("title must be"),
            "{}",
            refused.body
        );
    }
    let refused = http
        .send(Method::PATCH, &format!("/todos/{}", ids[1]), Some(&json!({"title": ""})), &jar, &[])
        .await;
    assert_eq!(refused.status, 422);
    // A change that sets nothing (or only misspelt fields) is refused and
    // leaves the todo as it was, `updated_at` included.
    let before = get(&http, &format!("/todos/{}", ids[1]), &jar).await;
    for empty in [json!({}), json!({"titel": "typo"})] {
        let path = format!("/todos/{}", ids[1]);
        let refused = http.send(Method::PATCH, &path, Some(&empty), &jar, &[]).await;
        assert_eq!(
            (refused.status, &refused.body),
            (422, &json!({"error": "a change must set title, done or both"})),
            "{empty}"
        );
    }
    assert_eq!(get(&http, &format!("/todos/{}", ids[1]), &jar).await.body, before.body);
    for query in ["?limit=0", "?limit=101", "?limit=-1", "?offset=x"] {
        let refused = get(&http, &format!("/todos{query}"), &jar).await;
        assert_eq!(refused.status, 422, "{query}: {}", refused.body);
    }

    // Another user sees none of it, and gets 404 (never 403) for its ids.
    assert_eq!(register(&http, "mallory", "mallory-password").await.status, 201);
    let mallory = login(&http, "mallory", "mallory-password").await;
    assert_eq!(get(&http, "/todos", &mallory).await.body["total"], 0);
    let other = format!("/todos/{}", ids[1]);
    for method in [Method::GET, Method::DELETE] {
        let answer = http.send(method.clone(), &other, None, &mallory, &[]).await;
        assert_eq!(
            (answer.status, &answer.body),
            (404, &json!({"error": "todo not found"})),
            "{method}"
        );
    }
    let answer =
        http.send(Method::PATCH, &other, Some(&json!({"done": true})), &mallory, &[]).await;
    assert_eq!(answer.status, 404);
    assert_eq!(get(&http, &other, &jar).await.body["done"], false, "the owner's todo is untouched");
}

#[tokio::test]
async fn todos_round_trip_with_the_embedded_store() {
    todos_round_trip(None).await;
}

#[tokio::test]
async fn todos_round_trip_with_redis() {
    let redis = RedisServer::start();
    todos_round_trip(Some(&redis)).await;
}

async fn registration(redis: Option<&RedisServer>) {
    let server = start(redis, &[]);
    let http = Http::new(&server);

    let registered = register(&http, "  Alice@Example ", "a long password").await;
    assert_eq!(registered.status, 201, "{}", registered.body);
    assert_eq!(registered.body["username"], "alice@example");
    assert!(registered.body["id"].is_string());

    let taken = register(&http, "ALICE@example", "another password").await;
    assert_eq!((taken.status, &taken.body), (409, &json!({"error": "username taken"})));
    let demo = register(&http, "user", "another password").await;
    assert_eq!(demo.status, 409);
    let short = register(&http, "bob", "short").await;
    assert_eq!(short.status, 422);
    assert!(short.body["error"].as_str().unwrap().starts_with("password must be"));
    let bad_name = register(&http, "bad name!", "a long password").await;
    assert!(bad_name.body["error"].as_str().unwrap().starts_with("username must be"));

    let jar = login(&http, "Alice@Example", "a long password").await;
    let created = http.post("/todo", &json!({"title": "mine"}), &jar).await;
    assert_eq!(
        created.body["user_id"], registered.body["id"],
        "the todo belongs to the new account"
    );
}

#[tokio::test]
async fn registration_with_the_embedded_store() {
    registration(None).await;
}

#[tokio::test]
async fn registration_with_redis() {
    let redis = RedisServer::start();
    registration(Some(&redis)).await;
}

#[tokio::test]
async fn production_closes_registration_by_default() {
    let redis = RedisServer::start();
    let server = start(Some(&redis), &[("APP_ENV", "production")]);
    let http = Http::new(&server);
    let answer = register(&http, "alice", "a long password").await;
    assert_eq!((answer.status, &answer.body), (403, &json!({"error": "registration is disabled"})));
    let answer = http
        .post("/login", &json!({"username": "user", "password": "pass"}), &CookieJar::default())
        .await;
    assert_eq!(answer.status, 401, "no demo user in production");
}

#[tokio::test]
async fn clients_without_cookies_get_tokens_in_the_body() {
    let server = start(None, &[]);
    let http = Http::new(&server);
    let jar = CookieJar::default();

    let login = http
        .post(
            "/login",
            &json!({"username": "user", "password": "pass", "token_delivery": "body"}),
            &jar,
        )
        .await;
    assert_eq!(login.status, 200, "{}", login.body);
    assert!(login.cookies.is_empty(), "no cookies in body delivery");
    assert_eq!(login.body["token_type"], "Bearer");
    // Seconds until the token expires, like the cookies' Max-Age (within 5 s).
    let expires_in = login.body["expires_in"].as_u64().unwrap();
    assert!((895..=900).contains(&expires_in), "expires_in {expires_in}");
    assert!(login.body["refresh_expires_in"].as_u64().unwrap() > 604_000);
    assert_eq!(login.headers.get("cache-control").unwrap(), "no-store");
    let access = login.body["access_token"].as_str().unwrap().to_owned();
    let refresh = login.body["refresh_token"].as_str().unwrap().to_owned();

    let bearer = format!("Bearer {access}");
    let created = http
        .send(
            Method::POST,
            "/todo",
            Some(&json!({"title": "t"})),
            &jar,
            &[("Authorization", &bearer)],
        )
        .await;
    assert_eq!(created.status, 201);

    let refreshed = http.post("/token/refresh", &json!({"refresh_token": refresh}), &jar).await;
    assert_eq!(refreshed.status, 201, "{}", refreshed.body);
    assert!(refreshed.cookies.is_empty());
    let next_access = refreshed.body["access_token"].as_str().unwrap().to_owned();
    let next_refresh = refreshed.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(next_refresh, refresh);

    let bearer = format!("Bearer {next_access}");
    let logout = http
        .send(
            Method::POST,
            "/logout",
            Some(&json!({"refresh_token": next_refresh})),
            &jar,
            &[("Authorization", &bearer)],
        )
        .await;
    assert_eq!(logout.status, 200);
    let refused = http.post("/token/refresh", &json!({"refresh_token": next_refresh}), &jar).await;
    assert_eq!((refused.status, &refused.body), (401, &json!({"error": "refresh revoked"})));

    // A delivery we do not have is refused by name, before the password is
    // checked; null is the default, cookies.
    let named = json!({"error": "token_delivery must be \"cookie\" or \"body\""});
    for delivery in [json!("carrier-pigeon"), json!("BODY"), json!(5), json!(["body"])] {
        let body = json!({"username": "user", "password": "pass", "token_delivery": delivery});
        let bad = http.post("/login", &body, &jar).await;
        assert_eq!((bad.status, &bad.body), (422, &named), "{delivery}");
    }
    let body = json!({"username": "user", "password": "pass", "token_delivery": null});
    let by_cookie = http.post("/login", &body, &jar).await;
    assert_eq!((by_cookie.status, &by_cookie.body), (200, &json!({"ok": true})));
}

#[tokio::test]
async fn a_cross_site_form_post_with_cookies_is_refused_and_changes_nothing() {
    let server = start(None, &[("FRONTEND_ORIGIN", "http://localhost:5173")]);
    let http = Http::new(&server);
    let jar = login(&http, "user", "pass").await;
    let before = get(&http, "/todos", &jar).await.body["total"].clone();

    let form =
        [("Origin", "https://evil.example"), ("Content-Type", "application/x-www-form-urlencoded")];
    for (method, path) in [
        (Method::POST, "/todo"),
        (Method::POST, "/logout"),
        (Method::POST, "/token/refresh"),
        (Method::POST, "/logout/all"),
    ] {
        let answer = http.send(method, path, Some(&json!({"title": "csrf"})), &jar, &form).await;
        assert_eq!(
            (answer.status, &answer.body),
            (403, &json!({"error": "cross-site request refused"})),
            "{path}"
        );
    }
    let referer = [("Referer", "https://evil.example/attack.html")];
    let answer =
        http.send(Method::POST, "/todo", Some(&json!({"title": "csrf"})), &jar, &referer).await;
    assert_eq!(answer.status, 403);

    assert_eq!(get(&http, "/todos", &jar).await.body["total"], before, "nothing changed");
    assert_eq!(http.post("/todo", &json!({"title": "still logged in"}), &jar).await.status, 201);

    // Any page can send these, so they do not get a warn line each: at most
    // one a second, counting the others.
    let flood = Instant::now();
    for _ in 0..100 {
        let answer = http.send(Method::POST, "/login", Some(&json!({})), &jar, &form).await;
        assert_eq!(answer.status, 403);
    }
    let logs = server.logs();
    let warned = logs
        .lines()
        .filter(|line| line.contains("WARN") && line.contains("cross-site request refused"))
        .count();
    let most = 7 + usize::try_from(flood.elapsed().as_secs()).unwrap();
    assert!((1..=most).contains(&warned), "{warned} warn lines, at most {most}");
    assert!(logs.contains("suppressed="), "the warn lines count the refusals they stand for");

    // The allowed origin, and the same request with a Bearer token, work.
    let allowed = [("Origin", "http://localhost:5173")];
    let answer = http
        .send(Method::POST, "/todo", Some(&json!({"title": "from the app"})), &jar, &allowed)
        .await;
    assert_eq!(answer.status, 201);
    let bearer = format!("Bearer {}", jar.get("access_token").unwrap());
    let with_bearer = [("Origin", "https://evil.example"), ("Authorization", bearer.as_str())];
    let answer = http
        .send(
            Method::POST,
            "/todo",
            Some(&json!({"title": "api client"})),
            &CookieJar::default(),
            &with_bearer,
        )
        .await;
    assert_eq!(answer.status, 201);
}

async fn throttling(redis: Option<&RedisServer>) {
    let server = start(redis, &[("APP__LOGIN__WINDOW_SECS", "2")]);
    let http = Http::new(&server);
    let jar = CookieJar::default();
    let wrong = json!({"username": "user", "password": "wrong"});

    for attempt in 1..=5 {
        let answer = http.post("/login", &wrong, &jar).await;
        assert_eq!(answer.status, 401, "attempt {attempt}");
    }
    let sixth = http.post("/login", &wrong, &jar).await;
    assert_eq!(
        (sixth.status, &sixth.body),
        (429, &json!({"error": "too many failed logins; try again later"}))
    );
    let retry_after: u64 =
        sixth.headers.get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry_after), "Retry-After {retry_after}");
    let right_too_soon =
        http.post("/login", &json!({"username": "user", "password": "pass"}), &jar).await;
    assert_eq!(right_too_soon.status, 429, "the right password does not lift the throttle early");

    tokio::time::sleep(Duration::from_millis(2500)).await;

    let right = http.post("/login", &json!({"username": "user", "password": "pass"}), &jar).await;
    assert_eq!(right.status, 200, "after the window the right password succeeds");
    assert!(server.logs().contains("login throttled"));
    assert!(server.logs().contains("throttled=\"user\""), "the per-user counter is named");
}

#[tokio::test]
async fn six_wrong_passwords_are_throttled_with_the_embedded_store() {
    throttling(None).await;
}

#[tokio::test]
async fn six_wrong_passwords_are_throttled_with_redis() {
    let redis = RedisServer::start();
    throttling(Some(&redis)).await;
}

#[tokio::test]
async fn a_client_throttled_by_its_ip_neither_locks_users_out_nor_stores_junk_names() {
    let redis = RedisServer::start();
    let server = start(Some(&redis), &[("APP__LOGIN__MAX_FAILURES_PER_IP", "3")]);
    let http = Http::new(&server);
    let jar = CookieJar::default();
    let junk = "x".repeat(5000);

    for name in ["ghost-1", "ghost-2", junk.as_str()] {
        let answer =
            http.post("/login", &json!({"username": name, "password": "wrong"}), &jar).await;
        assert_eq!(answer.status, 401, "{}", answer.body);
    }
    // The IP is spent: these are refused before anything else is counted.
    for _ in 0..6 {
        for name in ["user", junk.as_str()] {
            let answer =
                http.post("/login", &json!({"username": name, "password": "wrong"}), &jar).await;
            assert_eq!(answer.status, 429, "{}", answer.body);
        }
    }
    assert!(server.logs().contains("throttled=\"ip\""), "the per-IP counter is named");

    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let mut keys: Vec<String> = redis::cmd("KEYS").arg("*throttle*").query(&mut conn).unwrap();
    keys.sort();
    assert_eq!(keys.len(), 3, "the IP and the two valid names only: {keys:?}");
    assert!(keys.iter().any(|k| k.contains("ip:127.0.0.1")), "{keys:?}");
    assert!(keys.iter().any(|k| k.contains("user:ghost-1")), "{keys:?}");
    assert!(keys.iter().any(|k| k.contains("user:ghost-2")), "{keys:?}");
}

#[tokio::test]
async fn bearer_401s_carry_an_rfc6750_challenge() {
    let server = start(None, &[]);
    let http = Http::new(&server);
    let jar = CookieJar::default();

    let none = http.post("/todo", &json!({"title": "t"}), &jar).await;
    assert_eq!(none.headers.get("www-authenticate").unwrap(), "Bearer");
    let bad = http
        .send(
            Method::POST,
            "/todo",
            Some(&json!({"title": "t"})),
            &jar,
            &[("Authorization", "Bearer a.b.c")],
        )
        .await;
    assert_eq!((bad.status, &bad.body), (401, &json!({"error": "invalid token"})));
    assert_eq!(bad.headers.get("www-authenticate").unwrap(), r#"Bearer error="invalid_token""#);
}

#[tokio::test]
async fn health_limits_and_unknown_routes_answer_json() {
    let server = start(None, &[]);
    let http = Http::new(&server);
    let jar = login(&http, "user", "pass").await;

    assert_eq!(get(&http, "/healthz", &jar).await.body, json!({"status": "ok"}));
    assert_eq!(get(&http, "/readyz", &jar).await.body, json!({"status": "ready"}));
    let big = http.post("/todo", &json!({"title": "x".repeat(17 * 1024)}), &jar).await;
    assert_eq!((big.status, &big.body), (413, &json!({"error": "request body too large"})));
    let unknown = get(&http, "/nope", &jar).await;
    assert_eq!((unknown.status, &unknown.body), (404, &json!({"error": "not found"})));
    let wrong_method = http.send(Method::PUT, "/todos", None, &jar, &[]).await;
    assert_eq!(
        (wrong_method.status, &wrong_method.body),
        (405, &json!({"error": "method not allowed"}))
    );
    let not_json =
        http.send(Method::POST, "/todo", None, &jar, &[("Content-Type", "application/json")]).await;
    assert_eq!((not_json.status, &not_json.body), (422, &json!({"error": "invalid json"})));
}

#[tokio::test]
async fn a_405_names_the_methods_its_route_takes_in_allow() {
    let server = start(None, &[]);
    let http = Http::new(&server);
    let jar = login(&http, "user", "pass").await;
    let mut paths: Vec<&str> =
        ROUTES.iter().filter_map(|r| r.split_once(' ')).map(|r| r.1).collect();
    paths.dedup();
    for path in paths {
        let mut allowed: Vec<&str> = ROUTES
            .iter()
            .filter_map(|r| r.split_once(' '))
            .filter(|(_, p)| *p == path)
            .map(|(m, _)| m)
            .collect();
        // Every GET resource answers HEAD too (RFC 9110 §9.3.2).
        if let Some(get) = allowed.iter().position(|m| *m == "GET") {
            allowed.insert(get + 1, "HEAD");
        }
        let uri = path.replace("{id}", "9b2f4c1e-0d3a-4e7b-8c55-2a1f6e9d0b73");
        for method in [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            if allowed.contains(&method.as_str()) {
                continue;
            }
            let answer = http.send(method.clone(), &uri, None, &jar, &[]).await;
            assert_eq!(answer.status, 405, "{method} {uri}");
            let allow = answer.headers.get("allow").and_then(|v| v.to_str().ok());
            assert_eq!(allow, Some(allowed.join(", ").as_str()), "{method} {uri}");
        }
    }
}

#[tokio::test]
async fn me_names_the_caller_and_its_session_until_logout() {
    let server = start(None, &[]);
    let http = Http::new(&server);
    let jar = login(&http, "user", "pass").await;

    let me = get(&http, "/me", &jar).await;
    assert_eq!((me.status, &me.body["user_id"]), (200, &json!("1")));
    let sessions = get(&http, "/sessions", &jar).await.body["sessions"].clone();
    let current = sessions.as_array().unwrap().iter().find(|s| s["current"] == true).unwrap();
    assert_eq!(me.body["session_id"], current["id"]);
    let expires_at = me.body["expires_at"].as_u64().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    assert!((now.as_secs() + 895..=now.as_secs() + 900).contains(&expires_at), "{expires_at}");

    assert_eq!(http.post("/logout", &json!({}), &jar).await.status, 200);
    let after = get(&http, "/me", &jar).await;
    assert_eq!((after.status, &after.body), (401, &json!({"error": "token revoked"})));
}

#[tokio::test]
async fn answers_are_kept_from_caches_and_content_sniffing() {
    let server = start(None, &[]);
    let http = Http::new(&server);
    let jar = login(&http, "user", "pass").await;
    let anonymous = CookieJar::default();
    let answers = [
        ("GET /todos", http.send(Method::GET, "/todos", None, &jar, &[]).await),
        ("GET /sessions", http.send(Method::GET, "/sessions", None, &jar, &[]).await),
        ("POST /todo", http.post("/todo", &json!({"title": "kept private"}), &jar).await),
        ("401", http.send(Method::GET, "/todos", None, &anonymous, &[]).await),
        ("404", http.send(Method::GET, "/nowhere", None, &anonymous, &[]).await),
    ];
    for (what, answer) in &answers {
        let header = |name: &str| answer.headers.get(name).and_then(|v| v.to_str().ok());
        assert_eq!(header("x-content-type-options"), Some("nosniff"), "{what}");
        assert_eq!(header("cache-control"), Some("no-store"), "{what}");
    }
}

#[tokio::test]
async fn head_answers_as_get_does_without_a_body() {
    let server = start(None, &[]);
    let http = Http::new(&server);
    let jar = login(&http, "user", "pass").await;
    let id = http.post("/todo", &json!({"title": "headed"}), &jar).await.body["id"].clone();
    let todo = format!("/todos/{}", id.as_str().unwrap());
    let paths =
        ["/healthz", "/readyz", "/openapi.json", "/todos", todo.as_str(), "/sessions", "/me"];
    for path in paths {
        let get = http.send(Method::GET, path, None, &jar, &[]).await;
        let head = http.send(Method::HEAD, path, None, &jar, &[]).await;
        assert_eq!((get.status, head.status), (200, 200), "{path}");
        // The same headers, and no body: had one been sent, the next request
        // on this kept-alive connection would read it as its answer.
        for name in ["content-type", "content-length"] {
            assert_eq!(head.headers.get(name), get.headers.get(name), "{name} of {path}");
        }
    }
    // A protected HEAD is authenticated like its GET.
    let anonymous = http.send(Method::HEAD, "/todos", None, &CookieJar::default(), &[]).await;
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.headers.contains_key("www-authenticate"));
}

/// Every route the server serves, as `METHOD path` in OpenAPI's notation.
const ROUTES: [&str; 18] = [
    "POST /login",
    "POST /register",
    "POST /token/refresh",
    "POST /logout",
    "POST /logout/others",
    "POST /logout/all",
    "GET /me",
    "GET /sessions",
    "DELETE /sessions/{id}",
    "POST /todo",
    "GET /todos",
    "GET /todos/{id}",
    "PATCH /todos/{id}",
    "DELETE /todos/{id}",
    "GET /healthz",
    "GET /readyz",
    "GET /openapi.json",
    "GET /.well-known/jwks.json",
];

#[tokio::test]
async fn the_openapi_document_validates_and_lists_every_route() {
    let server = start(None, &[]);
    let http = Http::new(&server);
    let document = get(&http, "/openapi.json", &CookieJar::default()).await;
    assert_eq!(document.status, 200);

    let mut documented: Vec<String> = Vec::new();
    for (path, item) in document.body["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    let served: Vec<&str> = ROUTES.to_vec();
    for route in &served {
        assert!(documented.iter().any(|d| d == route), "{route} is served but not documented");
    }
    for route in &documented {
        assert!(served.contains(&route.as_str()), "{route} is documented but not served");
    }

    let file = std::env::temp_dir().join(format!("todo-openapi-{}.json", std::process::id()));
    std::fs::write(&file, document.body.to_string()).unwrap();
    let check = std::process::Command::new("python3")
        .args(["-c", "import sys, json; from openapi_spec_validator import validate; validate(json.load(open(sys.argv[1]))); print('valid')"])
        .arg(&file)
        .output()
        .expect("python3 runs (./scripts/test installs openapi-spec-validator)");
    let _ = std::fs::remove_file(&file);
    assert!(
        check.status.success(),
        "the OpenAPI document does not validate:\n{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[tokio::test]
async fn a_restart_against_the_same_redis_keeps_users_todos_and_sessions() {
    let redis = RedisServer::start();
    let mut first = start(Some(&redis), &[]);
    let http = Http::new(&first);
    assert_eq!(register(&http, "carol", "carol-password").await.status, 201);
    let jar = login(&http, "carol", "carol-password").await;
    let created = http.post("/todo", &json!({"title": "survives restarts"}), &jar).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert!(first.terminate(Duration::from_secs(20)).success());

    let second = start(Some(&redis), &[]);
    let http = Http::new(&second);

    let todo: Value = get(&http, &format!("/todos/{id}"), &jar).await.body;
    assert_eq!(todo["title"], "survives restarts", "the session and the todo survived");
    assert_eq!(get(&http, "/sessions", &jar).await.body["sessions"].as_array().unwrap().len(), 1);
    let again = login(&http, "carol", "carol-password").await;
    assert_eq!(get(&http, "/todos", &again).await.body["total"], 1, "the user survived");
}

#[tokio::test]
async fn a_burst_of_concurrent_guesses_gets_no_more_checks_than_the_limit() {
    let redis = RedisServer::start();
    let server = start(Some(&redis), &[]);
    let http = Http::new(&server);
    assert_eq!(register(&http, "racer", "racer-password").await.status, 201);

    let mut guesses = tokio::task::JoinSet::new();
    for n in 0..30 {
        let http = http.clone();
        guesses.spawn(async move {
            let body = json!({"username": "racer", "password": format!("guess-{n}")});
            http.post("/login", &body, &CookieJar::default()).await.status
        });
    }
    let statuses = guesses.join_all().await;

    let checked = statuses.iter().filter(|s| **s == 401).count();
    let throttled = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((checked + throttled, checked <= 5), (30, true), "{statuses:?}");
    let right = http
        .post(
            "/login",
            &json!({"username": "racer", "password": "racer-password"}),
            &CookieJar::default(),
        )
        .await;
    assert_eq!(right.status, 429, "the right password waits for the window too");
}

#[tokio::test]
async fn login_and_registration_from_another_site_are_refused() {
    let server = start(None, &[]);
    let http = Http::new(&server);
    let form = [("Origin", "https://evil.example"), ("Content-Type", "text/plain")];
    let jar = CookieJar::default();

    let login = http
        .send(
            Method::POST,
            "/login",
            Some(&json!({"username": "user", "password": "pass"})),
            &jar,
            &form,
        )
        .await;
    assert_eq!((login.status, &login.body), (403, &json!({"error": "cross-site request refused"})));
    assert!(login.cookies.is_empty());
    let register = http
        .send(
            Method::POST,
            "/register",
            Some(&json!({"username": "planted", "password": "planted-pw"})),
            &jar,
            &form,
        )
        .await;
    assert_eq!(register.status, 403);
}

#[tokio::test]
async fn bodies_must_be_objects_and_titles_visible_text() {
    let redis = RedisServer::start();
    let server = start(Some(&redis), &[]);
    let http = Http::new(&server);
    let jar = login(&http, "user", "pass").await;

    let array = http.post("/login", &json!(["user", "pass"]), &CookieJar::default()).await;
    assert_eq!((array.status, &array.body), (422, &json!({"error": "invalid json"})));
    let array = http.post("/todo", &json!(["from an array"]), &jar).await;
    assert_eq!(array.status, 422);

    for title in [
        "bell\u{7}",
        "line\nbreak",
        "\u{200B}",
        "evil\u{202E}txt",
        "arabic\u{61C}mark",
        "soft\u{AD}hyphen",
        "tag\u{E0041}",
        "para\u{2029}graph",
        "filler\u{3164}",
    ] {
        let refused = http.post("/todo", &json!({ "title": title }), &jar).await;
        assert_eq!(refused.status, 422, "{title:?}");
        assert!(refused.body["error"].as_str().unwrap().starts_with("title must not contain"));
    }
    for title in ["\u{FE0F}", "\u{300}", "\u{2800}", "\u{FFFF}x"] {
        let refused = http.post("/todo", &json!({ "title": title }), &jar).await;
        assert_eq!(refused.status, 422, "{title:?}");
    }

    let far = get(&http, "/todos?offset=9223372036854775807", &jar).await;
    assert_eq!((far.status, &far.body), (422, &json!({"error": "offset must be 0 to 1000000"})));
}

#[tokio::test]
async fn a_user_at_the_todo_limit_gets_409_and_keeps_every_todo() {
    for redis in [None, Some(RedisServer::start())] {
        let server = start(redis.as_ref(), &[("APP__TODOS__MAX_PER_USER", "3")]);
        let http = Http::new(&server);
        let jar = login(&http, "user", "pass").await;
        for n in 0..3 {
            assert_eq!(
                http.post("/todo", &json!({"title": format!("t{n}")}), &jar).await.status,
                201
            );
        }
        let refused = http.post("/todo", &json!({"title": "one too many"}), &jar).await;
        let expected = json!({"error": "too many todos: at most 3 per user; delete some first"});
        assert_eq!((refused.status, &refused.body), (409, &expected));
        let list = get(&http, "/todos", &jar).await;
        assert_eq!(list.body["total"], 3, "{}", list.body);

        let id = list.body["todos"][0]["id"].as_str().unwrap().to_owned();
        let path = format!("/todos/{id}");
        assert_eq!(http.send(Method::DELETE, &path, None, &jar, &[]).await.status, 200);
        assert_eq!(http.post("/todo", &json!({"title": "room again"}), &jar).await.status, 201);
    }
}
