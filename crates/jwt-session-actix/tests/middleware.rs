//! The middleware against a real app service: what it admits and how it refuses.

// Test code: a panic is how a failed step reports itself.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{test, web, App, HttpResponse};
use jwt_session_actix::{Authenticated, JwtAuth, TokenSource};
use jwt_session_store::{
    AccessGrant, AnyStore, MemoryStore, NewSession, RedisStore, RedisStoreConfig, SessionLifetime,
    SessionStore,
};
use jwt_session_testkit::RedisServer;
use jwt_session_token::{unix_now, TokenKeys, TokenPair, TokenService, TokenSettings};
use serde_json::{json, Value};

fn tokens() -> Arc<TokenService> {
    let keys = TokenKeys::hs256(&[1; 32], &[2; 32]).unwrap();
    Arc::new(
        TokenService::new(TokenSettings::new("jwt-todo-app", "jwt-todo-client"), keys).unwrap(),
    )
}

async fn whoami(caller: Authenticated) -> HttpResponse {
    let source = match caller.source {
        TokenSource::Cookie => "cookie",
        TokenSource::Bearer => "bearer",
    };
    HttpResponse::Ok().json(json!({ "sub": caller.subject(), "source": source }))
}

async fn issue_live(tokens: &TokenService, store: &AnyStore) -> TokenPair {
    let pair = tokens.issue_pair("42", "s-1").unwrap();
    store
        .start(&NewSession {
            subject: "42",
            sid: "s-1",
            device: "test",
            ip: "127.0.0.1",
            now: unix_now(),
            access: AccessGrant {
                jti: &pair.access.claims.jti,
                expires_at: tokens.retain_until(&pair.access.claims),
            },
            refresh_jti: &pair.refresh.claims.jti,
            lifetime: SessionLifetime { idle_secs: 3600, absolute_secs: 86_400 },
            max_sessions: None,
        })
        .await
        .unwrap();
    pair
}

/// Sends `req` to an app with `store` and returns status and JSON body.
async fn call(
    store: AnyStore,
    tokens: Arc<TokenService>,
    req: test::TestRequest,
) -> (StatusCode, Value) {
    let app = test::init_service(App::new().service(
        web::scope("").wrap(JwtAuth::new(tokens, store)).route("/whoami", web::get().to(whoami)),
    ))
    .await;
    let res = test::call_service(&app, req.uri("/whoami").to_request()).await;
    let status = res.status();
    (status, test::read_body_json(res).await)
}

fn memory() -> AnyStore {
    AnyStore::Memory(MemoryStore::new())
}

#[actix_web::test]
async fn live_token_in_cookie_or_bearer_header_reaches_the_handler() {
    let (tokens, store) = (tokens(), memory());
    let pair = issue_live(&tokens, &store).await;

    let by_cookie = test::TestRequest::get()
        .cookie(actix_web::cookie::Cookie::new("access_token", pair.access.token.clone()));
    let by_header = test::TestRequest::get()
        .insert_header(("Authorization", format!("bearer {}", pair.access.token)));

    assert_eq!(
        call(store.clone(), tokens.clone(), by_cookie).await,
        (StatusCode::OK, json!({"sub": "42", "source": "cookie"}))
    );
    assert_eq!(
        call(store, tokens, by_header).await,
        (StatusCode::OK, json!({"sub": "42", "source": "bearer"}))
    );
}

#[actix_web::test]
async fn no_token_is_missing_token() {
    let answer = call(memory(), tokens(), test::TestRequest::get()).await;
    assert_eq!(answer, (StatusCode::UNAUTHORIZED, json!({"error": "missing token"})));
}

#[actix_web::test]
async fn refresh_token_as_access_token_is_invalid_by_cookie_and_by_header() {
    let (tokens, store) = (tokens(), memory());
    let pair = issue_live(&tokens, &store).await;

    let by_cookie = test::TestRequest::get()
        .cookie(actix_web::cookie::Cookie::new("access_token", pair.refresh.token.clone()));
    let by_header = test::TestRequest::get()
        .insert_header(("Authorization", format!("Bearer {}", pair.refresh.token)));

    let invalid = (StatusCode::UNAUTHORIZED, json!({"error": "invalid token"}));
    assert_eq!(call(store.clone(), tokens.clone(), by_cookie).await, invalid);
    assert_eq!(call(store, tokens, by_header).await, invalid);
}

#[actix_web::test]
async fn token_of_an_ended_session_is_token_revoked() {
    let (tokens, store) = (tokens(), memory());
    let pair = issue_live(&tokens, &store).await;
    store.end_session("42", "s-1").await.unwrap();

    let req = test::TestRequest::get()
        .insert_header(("Authorization", format!("Bearer {}", pair.access.token)));

    let answer = call(store, tokens, req).await;
    assert_eq!(answer, (StatusCode::UNAUTHORIZED, json!({"error": "token revoked"})));
}

#[actix_web::test]
async fn a_store_that_cannot_answer_gives_503_never_401() {
    let tokens = tokens();
    let mut server = RedisServer::start();
    let mut config = RedisStoreConfig::new(server.url());
    config.timeout_ms = 300;
    let store = AnyStore::Redis(RedisStore::new(&config).unwrap());
    let pair = issue_live(&tokens, &store).await;
    server.stop();

    let req = test::TestRequest::get()
        .insert_header(("Authorization", format!("Bearer {}", pair.access.token)));

    let answer = call(store, tokens, req).await;
    assert_eq!(
        answer,
        (StatusCode::SERVICE_UNAVAILABLE, json!({"error": "session store unavailable"}))
    );
}
