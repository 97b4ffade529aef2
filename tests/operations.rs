//! Operations: Prometheus metrics after a scripted session, request ids,
//! JSON logs, audit events and `todo-server --check-config`.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use e2e::{server_binary, workspace_root, CookieJar, Http, RedisServer, ServerProcess};
use serde_json::json;

const ACCESS: &str = "access-secret-for-the-operations-tests-01234";
const REFRESH: &str = "refresh-secret-for-the-operations-tests-0123";

/// The value of the sample `name{labels}` in Prometheus text, if present.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
        let all = labels.iter().all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
        (metric == name && all).then(|| value.parse().ok()).flatten()
    })
}

#[tokio::test]
async fn metrics_count_a_scripted_session_by_outcome() {
    let redis = RedisServer::start();
    let server = ServerProcess::start(&[
        ("APP_ENV", "development"),
        ("ACCESS_SECRET", ACCESS),
        ("REFRESH_SECRET", REFRESH),
        ("REDIS_ADDR", &redis.addr()),
        ("APP__REFRESH__GRACE_SECS", "0"),
        ("APP__METRICS__LISTEN_ADDR", "127.0.0.1:0"),
    ]);
    let http = Http::new(&server);
    let good = json!({"username": "user", "password": "pass"});

    // One failed login, then a session whose rotated refresh token is reused.
    let wrong = json!({"username": "user", "password": "nope"});
    assert_eq!(http.post("/login", &wrong, &CookieJar::default()).await.status, 401);
    let mut first = CookieJar::default();
    first.store(&http.post("/login", &good, &first).await);
    let stale = first.clone();
    let rotated = http.post("/token/refresh", &json!({}), &first).await;
    assert_eq!(rotated.status, 201);
    // The grace window is counted in whole seconds: leave it.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let reused = http.post("/token/refresh", &json!({}), &stale).await;
    assert_eq!(reused.status, 401);

    // A second session that logs out; a todo route by its pattern.
    let mut second = CookieJar::default();
    second.store(&http.post("/login", &good, &second).await);
    let missing = http.send(reqwest::Method::GET, "/todos/nope", None, &second, &[]).await;
    assert_eq!(missing.status, 404);
    assert_eq!(http.post("/logout", &json!({}), &second).await.status, 200);

    let text = reqwest::get(server.metrics_url()).await.unwrap().text().await.unwrap();
    let count = |name: &str, labels: &[(&str, &str)]| sample(&text, name, labels);
    assert_eq!(count("auth_logins_total", &[("outcome", "succeeded")]), Some(2.0), "{text}");
    assert_eq!(count("auth_logins_total", &[("outcome", "failed")]), Some(1.0));
    assert_eq!(count("auth_refreshes_total", &[("outcome", "rotated")]), Some(1.0));
    assert_eq!(count("auth_refreshes_total", &[("outcome", "reused")]), Some(1.0));
    assert_eq!(count("auth_refreshes_total", &[("outcome", "grace_replay")]), None);
    assert_eq!(count("auth_session_revocations_total", &[("reason", "reuse")]), Some(1.0));
    assert_eq!(count("auth_session_revocations_total", &[("reason", "logout")]), Some(1.0));
    let login_ok = [("method", "POST"), ("route", "/login"), ("status", "200")];
    assert_eq!(count("http_requests_total", &login_ok), Some(2.0));
    let by_pattern = [("method", "GET"), ("route", "/todos/{id}"), ("status", "404")];
    assert_eq!(count("http_requests_total", &by_pattern), Some(1.0));
    assert!(!text.contains("/todos/nope"), "a raw path became a label");
    assert!(count("http_request_duration_seconds_count", &login_ok).is_some());
    let store_ops = count("jwt_session_store_command_duration_seconds_count", &[("outcome", "ok")]);
    assert!(store_ops.is_some_and(|n| n > 5.0), "{text}");
    assert!(count("jwt_session_store_pool_connections", &[("state", "max")]) == Some(16.0));

    // The public listener has no /metrics.
    let jar = CookieJar::default();
    let public = http.send(reqwest::Method::GET, "/metrics", None, &jar, &[]).await;
    assert_eq!(public.status, 404);
}

#[tokio::test]
async fn audit_events_and_request_ids_are_logged_without_tokens() {
    let server = ServerProcess::start(&[
        ("APP_ENV", "development"),
        ("ACCESS_SECRET", ACCESS),
        ("REFRESH_SECRET", REFRESH),
        ("LOG_FORMAT", "json"),
    ]);
    let http = Http::new(&server);
    let good = json!({"username": "user", "password": "pass"});
    let jar = CookieJar::default();

    let given = [("X-Request-Id", "trace-42.a:b")];
    let login = http.send(reqwest::Method::POST, "/login", Some(&good), &jar, &given).await;
    assert_eq!(login.headers["x-request-id"], "trace-42.a:b");
    let forged = [("X-Request-Id", "bad id\\with spaces")];
    let other = http.send(reqwest::Method::POST, "/login", Some(&good), &jar, &forged).await;
    let generated = other.headers["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(generated.len(), 36, "{generated}");

    let mut jar = CookieJar::default();
    jar.store(&login);
    assert_eq!(http.post("/logout/all", &json!({}), &jar).await.status, 200);

    let logs = server.logs();
    let lines: Vec<serde_json::Value> =
        logs.lines().map(|l| serde_json::from_str(l).expect("a JSON log line")).collect();
    let event = |name: &str| lines.iter().find(|l| l["fields"]["event"] == name).cloned();
    let succeeded = event("login.succeeded").expect("login.succeeded is logged");
    assert_eq!(succeeded["span"]["request_id"], "trace-42.a:b");
    assert!(succeeded["fields"]["sub"].is_string() && succeeded["fields"]["sid"].is_string());
    assert_eq!(succeeded["fields"]["ip"], "127.0.0.1");
    let everywhere = event("logout.all").expect("logout.all is logged");
    assert_eq!(everywhere["fields"]["ended"], 2);
    let request_line = lines
        .iter()
        .find(|l| l["fields"]["message"] == "request" && l["span"]["request_id"] == generated);
    assert!(request_line.is_some(), "no request line with the generated id:\n{logs}");

    let token = jar.get("access_token").unwrap();
    assert!(!logs.contains(token) && !logs.contains("\"pass\""), "a secret was logged");
}

#[tokio::test]
async fn requests_that_do_not_parse_get_400_and_no_error_line_by_default() {
    // An empty RUST_LOG is taken as unset: the default filter applies.
    let server = ServerProcess::start(&[("APP_ENV", "development"), ("RUST_LOG", "")]);
    for _ in 0..20 {
        let answer = e2e::raw::exchange(server.addr(), b"GARBAGE\r\n\r\n");
        assert!(matches!(answer, e2e::raw::RawAnswer::Response { status: 400, .. }), "{answer:?}");
    }
    let http = Http::new(&server);
    let ready = http.send(reqwest::Method::GET, "/healthz", None, &CookieJar::default(), &[]).await;
    assert_eq!(ready.status, 200);

    let logs = server.logs();
    assert!(logs.contains("request"), "the default filter logs requests at info:\n{logs}");
    assert!(
        !logs.contains("ERROR"),
        "a client's malformed request was logged as an error:\n{logs}"
    );
}

#[test]
fn a_log_filter_that_does_not_parse_is_refused_at_start() {
    let output = Command::new(server_binary())
        .env_clear()
        .env("RUST_LOG", "todo_server=loud")
        .env("APP_CONFIG_DIR", workspace_root().join("config"))
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("RUST_LOG is not a log filter"), "{stderr}");
}

#[test]
fn a_port_in_use_is_reported_once_in_the_log_format_asked_for() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let run = |format: &str| {
        let output = Command::new(server_binary())
            .env_clear()
            .env("APP_CONFIG_DIR", workspace_root().join("config"))
            .env("LISTEN_ADDR", &addr)
            .env("LOG_FORMAT", format)
            .current_dir(std::env::temp_dir())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1));
        String::from_utf8_lossy(&output.stderr).into_owned()
    };

    let stderr = run("text");
    let reason = format!("cannot listen on {addr}");
    assert_eq!(stderr.matches(&reason).count(), 1, "{stderr}");
    assert!(stderr.contains(&format!("todo-server: {reason}")), "{stderr}");

    let stderr = run("json");
    assert_eq!(stderr.matches(&reason).count(), 1, "{stderr}");
    let lines: Vec<serde_json::Value> =
        stderr.lines().map(|l| serde_json::from_str(l).expect("a JSON log line")).collect();
    let fatal = lines.iter().find(|l| l["level"] == "ERROR").expect("an error line");
    assert_eq!(fatal["fields"]["message"], "server failed");
    assert!(fatal["fields"]["error"].as_str().unwrap().contains(&reason), "{fatal}");
}

#[test]
fn a_dotenv_line_that_does_not_parse_is_named_by_number_and_not_shown() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "correct horse battery staple";
    std::fs::write(
        dir.path().join(".env"),
        format!("APP_ENV=development\nACCESS_SECRET={secret}\n"),
    )
    .unwrap();
    let (code, stderr) = run_in(dir.path(), &[], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains(".env, line 2 does not parse"), "{stderr}");
    assert!(stderr.contains("KEY=\"a b\""), "{stderr}");
    assert!(!stderr.contains("horse"), "the line's secret was printed: {stderr}");
}

#[test]
fn variables_that_are_not_text_or_hold_nul_are_refused_by_name_without_a_panic() {
    use std::os::unix::ffi::OsStrExt;
    let not_text = std::ffi::OsStr::from_bytes(b"s3cr3t-\xff-value");
    let env = [("UNRELATED", not_text), ("ACCESS_SECRET", not_text)];
    let (code, stderr) = run_in(&std::env::temp_dir(), &["--check-config"], &env);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("ACCESS_SECRET is not valid UTF-8 text"), "{stderr}");
    assert!(!stderr.contains("s3cr3t") && !stderr.contains("panicked"), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "REFRESH_SECRET=s3cr3t\0tail\n").unwrap();
    let (code, stderr) = run_in(dir.path(), &[], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("the value of REFRESH_SECRET holds a NUL byte"), "{stderr}");
    assert!(!stderr.contains("s3cr3t") && !stderr.contains("panicked"), "{stderr}");
}

#[test]
fn help_and_version_answer_and_an_unknown_argument_is_named_alone() {
    let (code, _) = run_in(&std::env::temp_dir(), &["--version"], &[]);
    assert_eq!(code, Some(0));
    let output = Command::new(server_binary()).arg("--help").output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("--check-config") && stdout.contains("--version"), "{stdout}");
    let (code, stderr) = run_in(&std::env::temp_dir(), &["--check-config", "--bogus"], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains(r#"unknown arguments ["--bogus"]"#), "{stderr}");
}

/// Runs the server in `dir` with `args`, the config directory and only
/// `env`; its exit code and stderr.
fn run_in(
    dir: &std::path::Path,
    args: &[&str],
    env: &[(&str, &std::ffi::OsStr)],
) -> (Option<i32>, String) {
    let output = Command::new(server_binary())
        .args(args)
        .env_clear()
        .env("APP_CONFIG_DIR", workspace_root().join("config"))
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .unwrap();
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// Runs `todo-server --check-config` with only `env`.
fn check_config(env: &[(&str, &str)]) -> (i32, String, String) {
    let output = Command::new(server_binary())
        .arg("--check-config")
        .env_clear()
        .env("APP_CONFIG_DIR", workspace_root().join("config"))
        .envs(env.iter().copied())
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (output.status.code().unwrap_or(-1), text(&output.stdout), text(&output.stderr))
}

#[test]
fn check_config_prints_a_good_configuration_with_secrets_masked() {
    let redis = RedisServer::start();
    let addr = redis.addr();
    let env = [("APP_ENV", "production"), ("ACCESS_SECRET", ACCESS), ("REFRESH_SECRET", REFRESH)];
    let (code, stdout, stderr) = check_config(&[env[0], env[1], env[2], ("REDIS_ADDR", &addr)]);

    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("configuration ok"), "{stdout}");
    assert!(stdout.contains(&format!("store = redis redis://{addr}/")), "{stdout}");
    assert!(stdout.contains("tokens.access_secret = ******** (44 bytes)"), "{stdout}");
    assert!(!stdout.contains(ACCESS) && !stderr.contains(ACCESS), "a secret was printed");
}

#[test]
fn check_config_refuses_a_short_production_secret() {
    let env = [("APP_ENV", "production"), ("ACCESS_SECRET", "short"), ("REFRESH_SECRET", REFRESH)];
    let (code, _, stderr) = check_config(&env);
    assert_eq!(code, 2);
    assert!(stderr.contains("ACCESS_SECRET is 5 bytes long; it needs at least 32"), "{stderr}");
}

#[test]
fn check_config_refuses_listen_addresses_the_server_could_not_bind() {
    for (var, value) in [
        ("LISTEN_ADDR", "nonsense"),
        ("LISTEN_ADDR", "127.0.0.1:80800"),
        ("APP__METRICS__LISTEN_ADDR", "127.0.0.1"),
    ] {
        let (code, _, stderr) = check_config(&[("APP_ENV", "development"), (var, value)]);
        assert_eq!(code, 2, "{var}={value}: {stderr}");
        let expected = format!("{var} is {value:?}, which is not an address to listen on");
        assert!(stderr.contains(&expected), "{var}={value}: {stderr}");
    }
}

#[test]
fn check_config_refuses_numbers_that_break_the_service_or_turn_a_protection_off() {
    for (var, value, expected) in [
        ("APP__LOGIN__WINDOW_SECS", "0", "login.window_secs (APP__LOGIN__WINDOW_SECS) is 0"),
        ("APP__LOGIN__MAX_FAILURES_PER_USER", "0", "at 0 every login is throttled"),
        ("APP__LOGIN__MAX_FAILURES_PER_IP", "0", "at 0 every login is throttled"),
        (
            "APP__SESSIONS__IDLE_TTL_SECS",
            "0",
            "sessions.idle_ttl_secs (APP__SESSIONS__IDLE_TTL_SECS) is 0",
        ),
        ("APP__SESSIONS__ABSOLUTE_TTL_SECS", "60", "sessions end before their first access token"),
        ("APP__SERVER__MAX_BODY_BYTES", "0", "it must be 4096 to 16777216"),
        ("APP__REFRESH__GRACE_SECS", "99999999", "it must be 0 to 300"),
        ("APP__TOKENS__LEEWAY_SECS", "9223372036854775807", "accepts tokens long expired"),
        ("APP__LOGIN__WINDOW_SECS", "9223372036854775807", "it must be 1 to 86400"),
        ("APP__TOKENS__ACCESS_TTL_SECS", "90000", "it must be 1 to 86400"),
        ("APP__SESSIONS__ABSOLUTE_TTL_SECS", "9223372036854775807", "it must be 900 to 31622400"),
        ("APP__TOKENS__ISSUER", &"i".repeat(5000), "as it goes into every token"),
        ("APP__TOKENS__REFRESH_TTL_SECS", "600", "a refresh token outlives the access token"),
        (
            "APP__METRICS__LISTEN_ADDR",
            "127.0.0.1:8080",
            "give the metrics listener a port of its own",
        ),
    ] {
        let env = [("APP_ENV", "development"), ("LISTEN_ADDR", "127.0.0.1:8080"), (var, value)];
        let (code, _, stderr) = check_config(&env);
        assert_eq!(code, 2, "{var}={value}: {stderr}");
        assert!(stderr.contains(expected), "{var}={value}: {stderr}");
    }
}

#[test]
fn configuration_errors_name_the_place_but_never_show_a_value() {
    let dir = tempfile::tempdir().unwrap();
    for file in ["default.toml", "development.toml"] {
        std::fs::copy(workspace_root().join("config").join(file), dir.path().join(file)).unwrap();
    }
    let broken = dir.path().join("production.toml");
    std::fs::write(
        &broken,
        "[tokens]\naccess_secret = \"toml-secret-toml-secret-toml-secret\" x\n",
    )
    .unwrap();
    let config_dir = dir.path().display().to_string();
    let env = [("APP_ENV", "production"), ("APP_CONFIG_DIR", config_dir.as_str())];
    let (code, _, stderr) = check_config(&env);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("production.toml does not parse"), "{stderr}");
    assert!(stderr.contains("line 2, column"), "{stderr}");
    assert!(!stderr.contains("toml-secret"), "a secret was printed: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");

    let (code, _, stderr) = check_config(&[("APP__COOKIES__SECURE", "sekrit-value")]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("cookies.secure"), "{stderr}");
    assert!(!stderr.contains("sekrit"), "{stderr}");
}

#[test]
fn production_refuses_the_embedded_store_unless_asked_and_a_missing_config_dir() {
    let env = [("APP_ENV", "production"), ("ACCESS_SECRET", ACCESS), ("REFRESH_SECRET", REFRESH)];
    let (code, _, stderr) = check_config(&env);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("APP__STORE__ALLOW_EMBEDDED=true"), "{stderr}");
    let allowed = [env[0], env[1], env[2], ("APP__STORE__ALLOW_EMBEDDED", "true")];
    let (code, stdout, stderr) = check_config(&allowed);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("configuration ok"), "{stdout}");

    // The default directory, `config` under a working directory without one.
    let output = Command::new(server_binary())
        .arg("--check-config")
        .env_clear()
        .envs(allowed.iter().copied())
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("production.toml cannot be read"), "{stderr}");
}

#[test]
fn a_misspelt_app_env_or_config_dir_is_refused_naming_it() {
    let env = [("APP_ENV", "prod"), ("ACCESS_SECRET", ACCESS), ("REFRESH_SECRET", REFRESH)];
    let (code, _, stderr) = check_config(&env);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("APP_ENV is \"prod\", but there is no "), "{stderr}");
    assert!(stderr.contains("(development, production)"), "{stderr}");

    let env = [("APP_ENV", "development"), ("APP_CONFIG_DIR", "/nonexistent/todo-config")];
    let (code, _, stderr) = check_config(&env);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("APP_CONFIG_DIR is /nonexistent/todo-config, which is not a directory"));
}

#[test]
fn check_config_refuses_an_unreachable_redis() {
    let port = jwt_session_testkit::free_port().to_string();
    let addr = format!("127.0.0.1:{port}");
    let env = [
        ("APP_ENV", "production"),
        ("ACCESS_SECRET", ACCESS),
        ("REFRESH_SECRET", REFRESH),
        ("REDIS_ADDR", addr.as_str()),
        ("APP__STORE__TIMEOUT_MS", "300"),
    ];
    let (code, _, stderr) = check_config(&env);
    assert_eq!(code, 2);
    assert!(stderr.contains("the session store does not answer"), "{stderr}");
    assert!(stderr.contains(&addr), "{stderr}");
}

#[test]
fn check_config_refuses_a_key_file_of_the_wrong_type() {
    let dir = std::env::temp_dir().join(format!("todo-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("hmac.jwk.json");
    std::fs::write(&path, r#"{"kty":"oct","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}"#)
        .unwrap();
    let file = path.display().to_string();
    let env = [
        ("APP_ENV", "production"),
        ("REFRESH_SECRET", REFRESH),
        ("APP__TOKENS__ACCESS_ALGORITHM", "RS256"),
        ("APP__TOKENS__ACCESS_KEY_FILES", file.as_str()),
    ];
    let (code, _, stderr) = check_config(&env);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(code, 2);
    assert!(stderr.contains(&format!("access key file {file}")), "{stderr}");
}
