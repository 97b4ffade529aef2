//! Tokens forged with josekit's own JWT encoder, sent to the real server:
//! each refused as `invalid token` (a forged token that passes verification
//! is `token revoked`, since no store ever recorded its id).

// Test code: a panic is how a failed step reports itself.
#![allow(clippy::unwrap_used)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use e2e::{Answer, CookieJar, Http, ServerProcess};
use josekit::jws::{JwsHeader, JwsSigner, HS256, HS384, HS512};
use josekit::jwt::{self, JwtPayload};
use serde_json::{json, Map, Value};

const ACCESS_SECRET: &str = "access-secret-for-the-attack-tests-64-bytes-long-0123456789abcdef";
const REFRESH_SECRET: &str = "refresh-secret-for-the-attack-tests-64-bytes-long-0123456789abcd";

fn start() -> ServerProcess {
    ServerProcess::start(&[
        ("APP_ENV", "development"),
        ("ACCESS_SECRET", ACCESS_SECRET),
        ("REFRESH_SECRET", REFRESH_SECRET),
    ])
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

fn good_claims() -> Map<String, Value> {
    let now = now();
    let claims = json!({
        "iss": "jwt-todo-app", "aud": ["jwt-todo-client"], "sub": "1",
        "jti": "forged", "sid": "forged-session", "iat": now, "exp": now + 600,
    });
    claims.as_object().cloned().unwrap()
}

fn forge(signer: &dyn JwsSigner, typ: &str, claims: Map<String, Value>) -> String {
    let mut header = JwsHeader::new();
    header.set_token_type(typ);
    let payload = JwtPayload::from_map(claims).unwrap();
    jwt::encode_with_signer(&payload, &header, signer).unwrap()
}

fn forge_access(claims: Map<String, Value>) -> String {
    forge(&HS256.signer_from_bytes(ACCESS_SECRET).unwrap(), "at+jwt", claims)
}

async fn with_bearer(http: &Http, path: &str, token: &str) -> Answer {
    let header = format!("Bearer {token}");
    http.send(
        reqwest::Method::POST,
        path,
        Some(&json!({"title": "t"})),
        &CookieJar::default(),
        &[("Authorization", &header)],
    )
    .await
}

async fn with_cookie(http: &Http, path: &str, name: &str, token: &str) -> Answer {
    let mut jar = CookieJar::default();
    jar.set(name, token);
    http.post(path, &json!({"title": "t"}), &jar).await
}

fn invalid() -> (u16, Value) {
    (401, json!({"error": "invalid token"}))
}

#[tokio::test]
async fn a_well_forged_token_passes_verification_and_stops_at_the_store() {
    let server = start();
    let http = Http::new(&server);
    let answer = with_bearer(&http, "/todo", &forge_access(good_claims())).await;
    assert_eq!((answer.status, answer.body), (401, json!({"error": "token revoked"})));
}

#[tokio::test]
async fn forged_tokens_are_invalid() {
    let server = start();
    let http = Http::new(&server);
    let hs = |alg: &str| -> Box<dyn JwsSigner> {
        match alg {
            "HS384" => Box::new(HS384.signer_from_bytes(ACCESS_SECRET).unwrap()),
            _ => Box::new(HS512.signer_from_bytes(ACCESS_SECRET).unwrap()),
        }
    };
    let with = |name: &str, value: Value| {
        let mut claims = good_claims();
        claims.insert(name.to_owned(), value);
        forge_access(claims)
    };
    let without = |name: &str| {
        let mut claims = good_claims();
        claims.remove(name);
        forge_access(claims)
    };
    let flipped = {
        let token = forge_access(good_claims());
        let (input, signature) = token.rsplit_once('.').unwrap();
        let mut raw = URL_SAFE_NO_PAD.decode(signature).unwrap();
        raw[5] ^= 0x20;
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(raw))
    };
    let alg_none = {
        let mut header = JwsHeader::new();
        header.set_token_type("at+jwt");
        jwt::encode_unsecured(&JwtPayload::from_map(good_claims()).unwrap(), &header).unwrap()
    };

    let cases = [
        ("wrong iss", with("iss", json!("another-app"))),
        ("wrong aud", with("aud", json!(["another-client"]))),
        ("alg none", alg_none),
        ("HS384 under the right secret", forge(&*hs("HS384"), "at+jwt", good_claims())),
        ("HS512 under the right secret", forge(&*hs("HS512"), "at+jwt", good_claims())),
        ("expired beyond the leeway", with("exp", json!(now() - 31))),
        ("no exp", without("exp")),
        ("flipped signature byte", flipped),
        (
            "refresh typ on the access key",
            forge(&HS256.signer_from_bytes(ACCESS_SECRET).unwrap(), "refresh+jwt", good_claims()),
        ),
    ];
    for (name, token) in cases {
        let answer = with_bearer(&http, "/todo", &token).await;
        assert_eq!((answer.status, answer.body.clone()), invalid(), "Bearer: {name}");
        let answer = with_cookie(&http, "/todo", "access_token", &token).await;
        assert_eq!((answer.status, answer.body), invalid(), "cookie: {name}");
    }
}

#[tokio::test]
async fn each_kind_of_token_is_refused_where_the_other_belongs() {
    let server = start();
    let http = Http::new(&server);
    let login = http
        .post("/login", &json!({"username": "user", "password": "pass"}), &CookieJar::default())
        .await;
    let access = login.cookie("access_token").value.clone();
    let refresh = login.cookie("refresh_token").value.clone();

    let answer = with_bearer(&http, "/todo", &refresh).await;
    assert_eq!((answer.status, answer.body), invalid(), "refresh as Bearer access");
    let answer = with_cookie(&http, "/todo", "access_token", &refresh).await;
    assert_eq!((answer.status, answer.body), invalid(), "refresh in the access cookie");

    let answer = with_cookie(&http, "/token/refresh", "refresh_token", &access).await;
    assert_eq!((answer.status, answer.body), (401, json!({"error": "invalid refresh token"})));
}

#[tokio::test]
async fn a_100_kb_token_is_refused_before_decoding() {
    let server = start();
    let http = Http::new(&server);
    let huge = format!("{}.{}.{}", "e".repeat(50_000), "f".repeat(50_000), "g".repeat(400));

    for answer in [
        with_bearer(&http, "/todo", &huge).await,
        with_cookie(&http, "/todo", "access_token", &huge).await,
    ] {
        assert!(
            answer.status == 431
                || (answer.status, &answer.body) == (401, &json!({"error": "invalid token"})),
            "{} {}",
            answer.status,
            answer.body
        );
    }
    // The server is still healthy afterwards.
    let health =
        http.send(reqwest::Method::GET, "/healthz", None, &CookieJar::default(), &[]).await;
    assert_eq!(health.status, 200);
}
