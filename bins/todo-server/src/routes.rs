//! The reference's routes: login, todo, logout and refresh.

use actix_web::{web, HttpRequest, HttpResponse};
use jwt_session_actix::{Authenticated, ACCESS_COOKIE, REFRESH_COOKIE};
use jwt_session_store::{LiveToken, TokenId, TokenStore};
use jwt_session_token::{new_id, TokenKind, TokenPair};
use serde::Deserialize;
use serde_json::json;

use crate::body::JsonBody;
use crate::errors::ApiError;
use crate::startup::AppState;

#[derive(Deserialize)]
pub(crate) struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Deserialize)]
pub(crate) struct NewTodo {
    title: String,
}

/// `POST /login`: checks the credentials and starts a session.
pub(crate) async fn login(
    state: web::Data<AppState>,
    JsonBody(body): JsonBody<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let Some(user_id) = state.users.authenticate(&body.username, &body.password) else {
        tracing::info!("login refused: invalid credentials");
        return Err(ApiError::InvalidCredentials);
    };

    let pair = state.tokens.issue_pair(user_id, &new_id())?;
    state.store.record(&LiveToken::of_pair(&state.tokens, &pair)).await?;

    tracing::info!(sub = user_id, sid = %pair.access.claims.sid, "logged in");
    Ok(with_pair_cookies(HttpResponse::Ok(), &state, pair).json(json!({ "ok": true })))
}

/// `POST /todo`: echoes the new todo with its owner, as the reference does.
pub(crate) async fn create_todo(
    caller: Authenticated,
    JsonBody(body): JsonBody<NewTodo>,
) -> Result<HttpResponse, ApiError> {
    if body.title.is_empty() {
        return Err(ApiError::InvalidJson);
    }
    Ok(HttpResponse::Created().json(json!({ "user_id": caller.subject(), "title": body.title })))
}

/// `POST /logout`: revokes the presented access token and, when the refresh
/// cookie belongs to the same user, the refresh token; clears both cookies.
pub(crate) async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let refresh_claims = req
        .cookie(REFRESH_COOKIE)
        .and_then(|cookie| state.tokens.verify(cookie.value(), TokenKind::Refresh).ok())
        .filter(|claims| claims.sub == caller.claims.sub);

    let mut ids = vec![TokenId::of(TokenKind::Access, &caller.claims)];
    ids.extend(refresh_claims.as_ref().map(|claims| TokenId::of(TokenKind::Refresh, claims)));
    state.store.revoke(&ids).await?;

    tracing::info!(sub = %caller.claims.sub, sid = %caller.claims.sid, "logged out");
    Ok(HttpResponse::Ok()
        .cookie(state.cookies.removal(ACCESS_COOKIE))
        .cookie(state.cookies.removal(REFRESH_COOKIE))
        .json(json!({ "ok": true })))
}

/// `POST /token/refresh`: trades a live refresh token, once, for a new pair
/// in the same session.
pub(crate) async fn refresh(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let cookie = req
        .cookie(REFRESH_COOKIE)
        .filter(|cookie| !cookie.value().is_empty())
        .ok_or(ApiError::MissingRefreshToken)?;
    let claims = state.tokens.verify(cookie.value(), TokenKind::Refresh).map_err(|cause| {
        tracing::debug!(error = %cause, "refresh token refused");
        ApiError::InvalidRefreshToken
    })?;

    if !state.store.consume(TokenId::of(TokenKind::Refresh, &claims)).await? {
        tracing::warn!(sub = %claims.sub, sid = %claims.sid, jti = %claims.jti, "refresh token reused or revoked");
        return Err(ApiError::RefreshRevoked);
    }
    let pair = state.tokens.issue_pair(&claims.sub, &claims.sid)?;
    state.store.record(&LiveToken::of_pair(&state.tokens, &pair)).await?;

    tracing::info!(sub = %claims.sub, sid = %claims.sid, "refreshed");
    Ok(with_pair_cookies(HttpResponse::Created(), &state, pair).json(json!({ "ok": true })))
}

/// `GET /healthz`: the process is up.
pub(crate) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// `GET /readyz`: the session store answers.
pub(crate) async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.store.ping().await?;
    Ok(HttpResponse::Ok().json(json!({ "status": "ready" })))
}

pub(crate) async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

pub(crate) async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}

fn with_pair_cookies(
    mut builder: actix_web::HttpResponseBuilder,
    state: &AppState,
    pair: TokenPair,
) -> actix_web::HttpResponseBuilder {
    let settings = state.tokens.settings();
    builder
        .cookie(state.cookies.token_cookie(
            ACCESS_COOKIE,
            pair.access.token,
            settings.access_ttl_secs,
        ))
        .cookie(state.cookies.token_cookie(
            REFRESH_COOKIE,
            pair.refresh.token,
            settings.refresh_ttl_secs,
        ));
    builder
}
