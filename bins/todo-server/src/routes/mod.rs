//! The HTTP routes: the reference's (login, todo, logout, refresh) and the
//! ones beside them, grouped by concern.

pub(crate) mod auth;
pub(crate) mod sessions;
pub(crate) mod todos;

use crate::errors::ApiError;
use crate::openapi::{ErrorBody, Status};
use crate::startup::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use jwt_session_actix::{ACCESS_COOKIE, REFRESH_COOKIE};
use jwt_session_store::SessionStore;
use jwt_session_token::{unix_now, TokenPair};

/// `GET /healthz`: the process is up.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "The process is up", body = Status)))]
pub(crate) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Status { status: "ok" })
}

/// `GET /readyz`: the session store answers.
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, description = "The store answers", body = Status),
    (status = 503, description = "The store does not answer", body = ErrorBody)))]
pub(crate) async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.store.ping().await?;
    Ok(HttpResponse::Ok().json(Status { status: "ready" }))
}

/// `GET /.well-known/jwks.json`: the public keys of access tokens.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "keys", responses(
    (status = 200, description = "The public keys that verify access tokens (RFC 7517), each with `kid`, `alg` and `use`; cacheable for 5 minutes"),
    (status = 404, description = "Access tokens use a shared HMAC secret: there is no public key", body = ErrorBody)))]
pub(crate) async fn jwks(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let jwks = state.tokens.jwks();
    if jwks.keys.is_empty() {
        return Err(ApiError::NotFound);
    }
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "public, max-age=300"))
        .content_type("application/json")
        .body(jwks.to_json()))
}

pub(crate) async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// A 405 whose `Allow` header lists `allow`, the route's own methods.
pub(crate) fn method_not_allowed(
    allow: &'static str,
) -> impl Fn() -> std::future::Ready<Result<HttpResponse, ApiError>> + Clone + 'static {
    move || std::future::ready(Err(ApiError::MethodNotAllowed { allow }))
}

/// Sets both token cookies, each living until its token expires.
pub(crate) fn with_pair_cookies<B: std::borrow::BorrowMut<actix_web::HttpResponseBuilder>>(
    mut builder: B,
    state: &AppState,
    pair: TokenPair,
) -> B {
    let now = unix_now();
    for (name, issued) in [(ACCESS_COOKIE, pair.access), (REFRESH_COOKIE, pair.refresh)] {
        let max_age = issued.claims.exp.saturating_sub(now);
        builder.borrow_mut().cookie(state.cookies.token_cookie(name, issued.token, max_age));
    }
    builder
}

pub(crate) fn with_cleared_cookies<B: std::borrow::BorrowMut<actix_web::HttpResponseBuilder>>(
    mut builder: B,
    state: &AppState,
) -> B {
    for name in [ACCESS_COOKIE, REFRESH_COOKIE] {
        builder.borrow_mut().cookie(state.cookies.removal(name));
    }
    builder
}

/// The peer's IP address (no proxy headers are trusted).
pub(crate) fn client_ip(req: &HttpRequest) -> String {
    req.peer_addr().map(|addr| addr.ip().to_string()).unwrap_or_else(|| "unknown".to_owned())
}
