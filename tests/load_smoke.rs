//! The load generator works: two seconds of `todo-load` against the real
//! server and Redis pass every check of its report. The load test itself
//! (`scripts/load`, a minute against a release build) is not run here, and
//! neither is the memory comparison: two seconds of a debug build say
//! nothing about a leak.

// Test code: a panic is how a failed step reports itself.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use e2e::{load_binary, RedisServer, ServerProcess};

#[test]
fn a_short_load_run_passes_every_check() {
    let redis = RedisServer::start();
    let server = ServerProcess::start(&[("APP_ENV", "development"), ("REDIS_ADDR", &redis.addr())]);
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("load.md");

    let output = Command::new(load_binary())
        .args(["--base-url", &server.base_url])
        .args(["--users", "6", "--concurrency", "6", "--duration", "2s", "--warmup", "500ms"])
        .args(["--verify-timeout", "20s", "--report"])
        .arg(&report)
        .output()
        .unwrap();
    let report = std::fs::read_to_string(&report).unwrap_or_default();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "todo-load failed: {stderr}\n{report}\n{}", server.logs());

    assert!(report.contains("**PASS**"), "{report}");
    assert!(report.contains("| lost writes (404 on read-back) | 0 | 0 | ok |"), "{report}");
    for route in ["POST /register", "POST /login", "POST /todo", "POST /token/refresh"] {
        assert!(report.contains(&format!("| {route} | ")), "{route} missing:\n{report}");
    }
}
