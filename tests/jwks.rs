//! Asymmetric access tokens end to end: the server signs with RS256, ES256
//! or EdDSA and publishes its JWKS; PyJWT verifies with nothing but that
//! JWKS; keys rotate by configuration without logging anyone out; a second
//! service verifies through the JWKS.

// Test code: a panic is how a failed step reports itself.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use e2e::{CookieJar, Http, RedisServer, ServerProcess};
use reqwest::Method;
use serde_json::{json, Value};

const REFRESH_SECRET: &str = "refresh-secret-for-the-jwks-tests-0123456789";

/// A fresh private key in PKCS#8 PEM, made by python's `cryptography`
/// (installed with PyJWT by ./scripts/test).
fn private_key(alg: &str, dir: &Path, name: &str) -> PathBuf {
    let make = match alg {
        "RS256" => "rsa.generate_private_key(public_exponent=65537, key_size=2048)",
        "ES256" => "ec.generate_private_key(ec.SECP256R1())",
        "EdDSA" => "ed25519.Ed25519PrivateKey.generate()",
        other => panic!("no key recipe for {other}"),
    };
    let script = format!(
        "from cryptography.hazmat.primitives.asymmetric import rsa, ec, ed25519\n\
         from cryptography.hazmat.primitives import serialization as s\n\
         key = {make}\n\
         print(key.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()).decode())"
    );
    let output = Command::new("python3").args(["-c", &script]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let path = dir.join(name);
    std::fs::write(&path, &output.stdout).unwrap();
    path
}

fn start(alg: &str, key_files: &[&Path], redis: Option<&RedisServer>) -> ServerProcess {
    let files = key_files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(",");
    let addr = redis.map(RedisServer::addr);
    let mut env = vec![
        ("APP_ENV", "development"),
        ("REFRESH_SECRET", REFRESH_SECRET),
        ("APP__TOKENS__ACCESS_ALGORITHM", alg),
        ("APP__TOKENS__ACCESS_KEY_FILES", files.as_str()),
    ];
    if let Some(addr) = &addr {
        env.push(("REDIS_ADDR", addr));
    }
    ServerProcess::start(&env)
}

async fn login(http: &Http) -> CookieJar {
    let answer = http
        .post("/login", &json!({"username": "user", "password": "pass"}), &CookieJar::default())
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let mut jar = CookieJar::default();
    jar.store(&answer);
    jar
}

fn header(token: &str) -> Value {
    let first = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(first).unwrap()).unwrap()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("todo-jwks-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Verifies `token` with PyJWT, given only the JWKS document.
fn pyjwt_verifies(token: &str, jwks: &Value) -> Result<String, String> {
    let script = "import sys, json, jwt\n\
        token, jwks = sys.argv[1], json.loads(sys.argv[2])\n\
        kid = jwt.get_unverified_header(token)['kid']\n\
        key = next(k for k in jwt.PyJWKSet.from_dict(jwks).keys if k.key_id == kid)\n\
        claims = jwt.decode(token, key.key, algorithms=[key.algorithm_name], \
            audience='jwt-todo-client', issuer='jwt-todo-app')\n\
        print(claims['sub'])";
    let output =
        Command::new("python3").args(["-c", script, token, &jwks.to_string()]).output().unwrap();
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[tokio::test]
async fn pyjwt_verifies_server_tokens_with_only_the_served_jwks() {
    let dir = temp_dir("pyjwt");
    for alg in ["RS256", "ES256", "EdDSA"] {
        let key = private_key(alg, &dir, &format!("{alg}.pem"));
        let server = start(alg, &[&key], None);
        let http = Http::new(&server);
        let jar = login(&http).await;
        let token = jar.get("access_token").unwrap();

        let served = http
            .send(Method::GET, "/.well-known/jwks.json", None, &CookieJar::default(), &[])
            .await;

        assert_eq!(served.status, 200);
        assert_eq!(served.headers.get("cache-control").unwrap(), "public, max-age=300");
        let keys = served.body["keys"].as_array().unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!((keys[0]["alg"].as_str(), keys[0]["use"].as_str()), (Some(alg), Some("sig")));
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(keys[0].get(private).is_none(), "{alg} JWKS leaks {private}");
        }
        assert_eq!(header(token)["kid"], keys[0]["kid"]);
        assert_eq!(pyjwt_verifies(token, &served.body), Ok("1".to_owned()), "{alg}");
        assert_eq!(http.post("/todo", &json!({"title": alg}), &jar).await.status, 201);
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn hmac_access_keys_publish_no_jwks() {
    let server = ServerProcess::start(&[("APP_ENV", "development")]);
    let http = Http::new(&server);
    let answer =
        http.send(Method::GET, "/.well-known/jwks.json", None, &CookieJar::default(), &[]).await;
    assert_eq!((answer.status, &answer.body), (404, &json!({"error": "not found"})));
}

#[tokio::test]
async fn rotating_the_signing_key_logs_nobody_out() {
    let dir = temp_dir("rotation");
    let old = private_key("ES256", &dir, "old.pem");
    let new = private_key("ES256", &dir, "new.pem");
    let redis = RedisServer::start();

    let mut before = start("ES256", &[&old], Some(&redis));
    let jar = login(&Http::new(&before)).await;
    let old_kid = header(jar.get("access_token").unwrap())["kid"].clone();
    assert!(before.terminate(std::time::Duration::from_secs(20)).success());

    // The new key signs; the old one stays configured until its tokens expire.
    let after = start("ES256", &[&new, &old], Some(&redis));
    let http = Http::new(&after);

    assert_eq!(http.post("/todo", &json!({"title": "still in"}), &jar).await.status, 201);
    let refreshed = http.post("/token/refresh", &json!({}), &jar).await;
    assert_eq!(refreshed.status, 201, "{}", refreshed.body);
    let mut next = jar.clone();
    next.store(&refreshed);
    let new_kid = header(next.get("access_token").unwrap())["kid"].clone();
    assert_ne!(new_kid, old_kid, "new tokens are signed with the new key");
    assert_eq!(http.post("/todo", &json!({"title": "new key"}), &next).await.status, 201);
    let served =
        http.send(Method::GET, "/.well-known/jwks.json", None, &CookieJar::default(), &[]).await;
    let kids: Vec<&Value> =
        served.body["keys"].as_array().unwrap().iter().map(|k| &k["kid"]).collect();
    assert!(kids.contains(&&old_kid) && kids.contains(&&new_kid), "{kids:?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_second_service_verifies_access_tokens_through_the_jwks() {
    let dir = temp_dir("example");
    let key = private_key("EdDSA", &dir, "ed25519.pem");
    let server = start("EdDSA", &[&key], None);
    let http = Http::new(&server);
    let jar = login(&http).await;
    let jwks_url = format!("{}/.well-known/jwks.json", server.base_url);
    let example =
        ServerProcess::start_binary(e2e::example_binary(), &[("JWKS_URL", jwks_url.as_str())]);
    let other = Http::new(&example);
    let empty = CookieJar::default();

    let bearer = format!("Bearer {}", jar.get("access_token").unwrap());
    let answer =
        other.send(Method::GET, "/whoami", None, &empty, &[("Authorization", &bearer)]).await;
    assert_eq!((answer.status, &answer.body["sub"]), (200, &json!("1")), "{}", answer.body);

    let refresh = format!("Bearer {}", jar.get("refresh_token").unwrap());
    let answer =
        other.send(Method::GET, "/whoami", None, &empty, &[("Authorization", &refresh)]).await;
    assert_eq!((answer.status, &answer.body), (401, &json!({"error": "invalid token"})));
    let answer = other.send(Method::GET, "/whoami", None, &empty, &[]).await;
    assert_eq!(answer.status, 401);
    let _ = std::fs::remove_dir_all(dir);
}
