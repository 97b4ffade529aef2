//! The web page (`web/`) in a real headless Chromium: starts the real server
//! and runs the Playwright tests of `tests/browser/` with node's test runner.
//!
//! The page is served from `http://localhost:<port>` (the server's
//! `FRONTEND_ORIGIN`) by a small static server inside the node tests, and
//! calls the API on `http://localhost:<another port>`: two origins of one
//! site, as a deployment on `app.example.com` and `api.example.com` would be.
//! The access tokens live 3 seconds, so the tests can wait for one to expire.
//!
//! Needs `node` (20 or later), Debian's `chromium` and `npm ci` in
//! `tests/browser`; `./scripts/test` installs them. Without them this test
//! says so loudly and passes, except under CI (`CI=true`), where it fails.

// Test code: a panic is how a failed step reports itself.
#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use e2e::{workspace_root, ServerProcess};

const ACCESS_TTL_SECS: &str = "3";

fn browser_dir() -> PathBuf {
    workspace_root().join("tests/browser")
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM_BIN")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// The major version of `node`, if it runs.
fn node_major() -> Option<u32> {
    let output = Command::new("node").arg("--version").output().ok()?;
    let version = String::from_utf8_lossy(&output.stdout);
    version.trim().trim_start_matches('v').split('.').next()?.parse().ok()
}

/// What is missing to run the browser tests, with how to get it.
fn missing() -> Vec<String> {
    let mut missing = Vec::new();
    match node_major() {
        None => missing.push("node (apt-get install nodejs npm)".to_owned()),
        Some(major) if major < 20 => missing.push(format!("node 20 or later (found {major})")),
        Some(_) => {}
    }
    if !chromium().is_file() {
        missing.push(format!("{} (apt-get install chromium)", chromium().display()));
    }
    if !browser_dir().join("node_modules/playwright-core/package.json").is_file() {
        missing.push("playwright-core (npm ci --prefix tests/browser)".to_owned());
    }
    missing
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

#[test]
fn the_web_page_works_in_headless_chromium_across_origins() {
    let missing = missing();
    if !missing.is_empty() {
        let message = format!(
            "the browser tests cannot run: missing {}. ./scripts/test installs them.",
            missing.join(", ")
        );
        assert!(!in_ci(), "{message}");
        // Written to the real stderr, past the test harness's capture, so
        // that the skip shows in every run.
        let bar = "!".repeat(78);
        let banner = format!("\n{bar}\nSKIPPED: {message}\n{bar}\n");
        let _ = std::io::stderr().write_all(banner.as_bytes());
        return;
    }

    let frontend_port = jwt_session_testkit::free_port().to_string();
    let frontend_origin = format!("http://localhost:{frontend_port}");
    let server = ServerProcess::start(&[
        ("APP_ENV", "development"),
        ("ACCESS_SECRET", "access-secret-for-the-browser-tests-0123456789"),
        ("REFRESH_SECRET", "refresh-secret-for-the-browser-tests-012345678"),
        ("FRONTEND_ORIGIN", &frontend_origin),
        ("APP__TOKENS__ACCESS_TTL_SECS", ACCESS_TTL_SECS),
    ]);
    let port = server.addr().rsplit(':').next().unwrap();
    let api = format!("http://localhost:{port}");

    let mut node = Command::new("node");
    node.args(["--test", "--test-reporter=spec", "todo.test.js"])
        .current_dir(browser_dir())
        .env("TODO_API_URL", &api)
        .env("FRONTEND_PORT", &frontend_port)
        .env("ACCESS_TTL_SECS", ACCESS_TTL_SECS)
        .env("WEB_DIR", workspace_root().join("web"))
        .env("CHROMIUM_BIN", chromium())
        .env("NO_COLOR", "1");
    // SCREENSHOT=docs/screenshot.png (relative to the repository) saves one.
    if let Some(path) = std::env::var_os("SCREENSHOT") {
        node.env("SCREENSHOT", absolute(Path::new(&path)));
    }
    let output = node.output().unwrap_or_else(|e| panic!("cannot run node: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}\n{stderr}");
    assert!(
        output.status.success(),
        "the browser tests failed ({}):\n{stdout}\n{stderr}\n--- server logs (tail) ---\n{}",
        output.status,
        tail(&server.logs(), 60)
    );
    assert!(
        stdout.contains("fail 0") && !stdout.contains("tests 0"),
        "node ran no test or reported failures:\n{stdout}"
    );
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_owned()
    } else {
        workspace_root().join(path)
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
