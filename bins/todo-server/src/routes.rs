//! The reference's routes (login, todo, logout, refresh) and the session
//! routes beside them.

use std::sync::atomic::Ordering;

use actix_web::{web, HttpRequest, HttpResponse};
use jwt_session_actix::{Authenticated, ACCESS_COOKIE, REFRESH_COOKIE};
use jwt_session_store::{AccessGrant, NewSession, Rotation, RotationOutcome, SessionStore};
use jwt_session_token::{new_id, unix_now, TokenKind, TokenPair};
use serde::Deserialize;
use serde_json::json;

use crate::body::{JsonBody, OptionalJsonBody};
use crate::errors::ApiError;
use crate::startup::AppState;

/// Longest device label kept, in characters.
const MAX_DEVICE_CHARS: usize = 120;

#[derive(Deserialize)]
pub(crate) struct LoginRequest {
    username: String,
    password: String,
}

#[derive(Deserialize)]
pub(crate) struct NewTodo {
    title: String,
}

#[derive(Deserialize)]
pub(crate) struct LogoutRequest {
    refresh_token: Option<String>,
}

/// `POST /login`: checks the credentials and starts a session.
pub(crate) async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    JsonBody(body): JsonBody<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let Some(user_id) = state.users.authenticate(&body.username, &body.password) else {
        tracing::info!(ip = %client_ip(&req), "login refused: invalid credentials");
        return Err(ApiError::InvalidCredentials);
    };

    let now = unix_now();
    let pair = state.tokens.issue_pair_at(user_id, &new_id(), now)?;
    let (device, ip) = (device_label(&req), client_ip(&req));
    state
        .store
        .start(&NewSession {
            subject: user_id,
            sid: &pair.access.claims.sid,
            device: &device,
            ip: &ip,
            now,
            access: access_grant(&state, &pair),
            refresh_jti: &pair.refresh.claims.jti,
            lifetime: state.sessions.lifetime,
        })
        .await?;

    tracing::info!(sub = user_id, sid = %pair.access.claims.sid, %ip, "logged in");
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

/// `POST /logout`: ends the session of the presented access token (cookie or
/// Bearer) and clears both cookies. A refresh token in the body that belongs
/// to another session of the same user ends that one too.
pub(crate) async fn logout(
    state: web::Data<AppState>,
    caller: Authenticated,
    OptionalJsonBody(body): OptionalJsonBody<LogoutRequest>,
) -> Result<HttpResponse, ApiError> {
    let claims = &caller.claims;
    state.store.end_session(&claims.sub, &claims.sid).await?;

    let other = body
        .and_then(|b| b.refresh_token)
        .and_then(|token| state.tokens.verify(&token, TokenKind::Refresh).ok())
        .filter(|refresh| refresh.sub == claims.sub && refresh.sid != claims.sid);
    if let Some(refresh) = other {
        state.store.end_session(&refresh.sub, &refresh.sid).await?;
    }

    tracing::info!(sub = %claims.sub, sid = %claims.sid, "logged out");
    Ok(with_cleared_cookies(HttpResponse::Ok(), &state).json(json!({ "ok": true })))
}

/// `POST /token/refresh`: trades the refresh cookie for the next pair of the
/// same session, single-flight: requests racing with the same token within
/// the grace window all receive the same pair.
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

    let now = unix_now();
    let successor = state.tokens.issue_successor_at(&claims, now)?;
    let policy = state.sessions;
    let outcome = state
        .store
        .rotate(&Rotation {
            subject: &claims.sub,
            sid: &claims.sid,
            presented_jti: &claims.jti,
            successor_refresh_jti: &successor.refresh.claims.jti,
            successor_access: access_grant(&state, &successor),
            now,
            grace_secs: policy.grace_secs,
            idle_secs: policy.lifetime.idle_secs,
            on_reuse: policy.on_reuse,
        })
        .await?;

    let pair = match outcome {
        RotationOutcome::Rotated => {
            tracing::info!(sub = %claims.sub, sid = %claims.sid, "refreshed");
            successor
        }
        RotationOutcome::Replayed { issued_at } => {
            tracing::info!(sub = %claims.sub, sid = %claims.sid, "refresh replayed within the grace window");
            state.tokens.issue_successor_at(&claims, issued_at)?
        }
        RotationOutcome::Reused => {
            let total = state.reuse_count.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::warn!(
                sub = %claims.sub,
                sid = %claims.sid,
                jti = %claims.jti,
                ip = %client_ip(&req),
                response = policy.on_reuse.as_str(),
                reuse_total = total,
                "refresh token reused"
            );
            return Err(ApiError::RefreshRevoked);
        }
        RotationOutcome::SessionGone => {
            tracing::debug!(sub = %claims.sub, sid = %claims.sid, "refresh for an ended session");
            return Err(ApiError::RefreshRevoked);
        }
    };
    Ok(with_pair_cookies(HttpResponse::Created(), &state, pair).json(json!({ "ok": true })))
}

/// `GET /sessions`: the caller's live sessions, oldest first.
pub(crate) async fn list_sessions(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let sessions = state.store.sessions(caller.subject(), unix_now()).await?;
    let listed: Vec<_> = sessions
        .into_iter()
        .map(|s| {
            json!({
                "id": s.sid,
                "device": s.device,
                "ip": s.ip,
                "created_at": s.created_at,
                "last_used_at": s.last_used_at,
                "expires_at": s.expires_at,
                "refresh_count": s.refresh_count,
                "current": s.sid == caller.claims.sid,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "sessions": listed })))
}

/// `DELETE /sessions/{id}`: ends one of the caller's sessions; any other id,
/// another user's included, is 404.
pub(crate) async fn end_session(
    state: web::Data<AppState>,
    caller: Authenticated,
    sid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if !state.store.end_session(caller.subject(), &sid).await? {
        return Err(ApiError::SessionNotFound);
    }
    tracing::info!(sub = %caller.claims.sub, sid = %sid, by_sid = %caller.claims.sid, "session ended");
    let mut response = HttpResponse::Ok();
    if *sid == caller.claims.sid {
        with_cleared_cookies(&mut response, &state);
    }
    Ok(response.json(json!({ "ok": true })))
}

/// `POST /logout/others`: ends every session of the caller but this one.
pub(crate) async fn logout_others(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let claims = &caller.claims;
    let ended = state.store.end_sessions(&claims.sub, Some(&claims.sid)).await?;
    tracing::info!(sub = %claims.sub, sid = %claims.sid, ended, "logged out other sessions");
    Ok(HttpResponse::Ok().json(json!({ "ok": true, "ended": ended })))
}

/// `POST /logout/all`: ends every session of the caller, this one included.
pub(crate) async fn logout_all(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let claims = &caller.claims;
    let ended = state.store.end_sessions(&claims.sub, None).await?;
    tracing::info!(sub = %claims.sub, sid = %claims.sid, ended, "logged out everywhere");
    Ok(with_cleared_cookies(HttpResponse::Ok(), &state).json(json!({ "ok": true, "ended": ended })))
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

fn access_grant<'a>(state: &AppState, pair: &'a TokenPair) -> AccessGrant<'a> {
    AccessGrant {
        jti: &pair.access.claims.jti,
        expires_at: state.tokens.retain_until(&pair.access.claims),
    }
}

/// Sets both token cookies, each living until its token expires.
fn with_pair_cookies<B: std::borrow::BorrowMut<actix_web::HttpResponseBuilder>>(
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

fn with_cleared_cookies<B: std::borrow::BorrowMut<actix_web::HttpResponseBuilder>>(
    mut builder: B,
    state: &AppState,
) -> B {
    for name in [ACCESS_COOKIE, REFRESH_COOKIE] {
        builder.borrow_mut().cookie(state.cookies.removal(name));
    }
    builder
}

/// The User-Agent, without control characters, trimmed; `unknown` if absent.
fn device_label(req: &HttpRequest) -> String {
    let agent = req
        .headers()
        .get(actix_web::http::header::USER_AGENT)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .unwrap_or_default();
    let label: String = agent
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_DEVICE_CHARS)
        .collect::<String>()
        .trim()
        .to_owned();
    if label.is_empty() {
        "unknown".to_owned()
    } else {
        label
    }
}

/// The peer's IP address (no proxy headers are trusted).
fn client_ip(req: &HttpRequest) -> String {
    req.peer_addr().map(|addr| addr.ip().to_string()).unwrap_or_else(|| "unknown".to_owned())
}
