//! The server on a Redis that speaks TLS (`rediss://`): the certificate is
//! checked against the trusted authorities, which `SSL_CERT_FILE` can name.

// Test code: a panic is how a failed step reports itself.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use e2e::TestCertificates;
use e2e::{server_binary, workspace_root, CookieJar, Http, RedisServer, ServerProcess};
use serde_json::json;

const ACCESS: &str = "access-secret-for-the-redis-tls-tests-0123456";
const REFRESH: &str = "refresh-secret-for-the-redis-tls-tests-012345";

#[tokio::test]
async fn sessions_work_over_tls_with_the_authority_trusted() {
    let certs = TestCertificates::generate();
    let redis = RedisServer::start_tls(&certs);
    let url = redis.tls_url().unwrap();
    let ca = certs.ca_file().display().to_string();
    let server = ServerProcess::start(&[
        ("APP_ENV", "production"),
        ("ACCESS_SECRET", ACCESS),
        ("REFRESH_SECRET", REFRESH),
        ("REDIS_URL", &url),
        ("SSL_CERT_FILE", &ca),
        ("APP__ACCOUNTS__REGISTRATION", "true"),
    ]);
    let http = Http::new(&server);
    let credentials = json!({"username": "tls-user", "password": "a-password-long-enough"});
    let jar = CookieJar::default();
    assert_eq!(http.post("/register", &credentials, &jar).await.status, 201);
    let login = http.post("/login", &credentials, &jar).await;
    assert_eq!(login.status, 200, "{}", login.body);
    let mut jar = CookieJar::default();
    jar.store(&login);
    assert_eq!(http.post("/todo", &json!({"title": "over TLS"}), &jar).await.status, 201);
    assert_eq!(http.post("/logout", &json!({}), &jar).await.status, 200);
    let refused = http.post("/todo", &json!({"title": "after logout"}), &jar).await;
    assert_eq!((refused.status, &refused.body), (401, &json!({"error": "token revoked"})));
}

#[test]
fn a_certificate_no_trusted_authority_signed_is_refused() {
    let certs = TestCertificates::generate();
    let redis = RedisServer::start_tls(&certs);
    let url = redis.tls_url().unwrap();
    let output = Command::new(server_binary())
        .arg("--check-config")
        .env_clear()
        .env("APP_CONFIG_DIR", workspace_root().join("config"))
        .env("APP_ENV", "production")
        .env("ACCESS_SECRET", ACCESS)
        .env("REFRESH_SECRET", REFRESH)
        .env("REDIS_URL", &url)
        // An empty bundle: no authority is trusted.
        .env("SSL_CERT_FILE", "/dev/null")
        .env("SSL_CERT_DIR", "/nonexistent")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("the session store does not answer"), "{stderr}");
    assert!(stderr.contains("certificate verify failed"), "{stderr}");
}

#[test]
fn a_url_that_would_skip_the_certificate_check_is_refused() {
    let certs = TestCertificates::generate();
    let redis = RedisServer::start_tls(&certs);
    let url = format!("{}#insecure", redis.tls_url().unwrap());
    let output = Command::new(server_binary())
        .arg("--check-config")
        .env_clear()
        .env("APP_CONFIG_DIR", workspace_root().join("config"))
        .env("REDIS_URL", &url)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`#insecure` would turn TLS certificate checks off"), "{stderr}");
}
