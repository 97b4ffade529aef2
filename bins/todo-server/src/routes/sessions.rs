//! The caller and its sessions: who it is, list them, end one, end the
//! others, end all.

use actix_web::{web, HttpRequest, HttpResponse};
use jwt_session_actix::Authenticated;
use jwt_session_store::SessionStore;
use jwt_session_token::unix_now;

use super::{client_ip, with_cleared_cookies};
use crate::errors::ApiError;
use crate::openapi::{Ended, ErrorBody, Me, OkBody, SessionList, SessionView};
use crate::startup::AppState;

/// `GET /me`: who the caller is, from its verified access token alone. The
/// token is checked against the store as on every protected route; nothing
/// else is read.
#[utoipa::path(get, path = "/me", operation_id = "me", tag = "sessions", responses(
    (status = 200, description = "The caller's user id, session id and access token expiry", body = Me),
    (status = 401, description = "missing token, invalid token or token revoked", body = ErrorBody),
    (status = 503, description = "session store unavailable", body = ErrorBody)),
    security(("cookie" = []), ("bearer" = [])))]
pub(crate) async fn me(caller: Authenticated) -> HttpResponse {
    let claims = caller.claims;
    HttpResponse::Ok().json(Me {
        user_id: claims.sub,
        session_id: claims.sid,
        expires_at: claims.exp,
    })
}

/// `GET /sessions`: the caller's live sessions, oldest first.
#[utoipa::path(get, path = "/sessions", operation_id = "list_sessions", tag = "sessions", responses(
    (status = 200, description = "The caller's live sessions", body = SessionList),
    (status = 401, description = "missing token, invalid token or token revoked", body = ErrorBody),
    (status = 503, description = "session store unavailable", body = ErrorBody)),
    security(("cookie" = []), ("bearer" = [])))]
pub(crate) async fn list(
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let sessions = state.store.sessions(caller.subject(), unix_now()).await?;
    let sessions = sessions
        .into_iter()
        .map(|s| SessionView {
            current: s.sid == caller.claims.sid,
            id: s.sid,
            device: s.device,
            ip: s.ip,
            created_at: s.created_at,
            last_used_at: s.last_used_at,
            expires_at: s.expires_at,
            refresh_count: s.refresh_count,
        })
        .collect();
    Ok(HttpResponse::Ok().json(SessionList { sessions }))
}

/// `DELETE /sessions/{id}`: ends one of the caller's sessions; any other id,
/// another user's included, is 404.
#[utoipa::path(delete, path = "/sessions/{id}", operation_id = "end_session", tag = "sessions", params(("id" = String, Path, description = "Session id")),
    responses(
    (status = 200, description = "Ended; its tokens stop working at once", body = OkBody),
    (status = 401, description = "missing token, invalid token or token revoked", body = ErrorBody),
    (status = 403, description = "cross-site request refused", body = ErrorBody),
    (status = 404, description = "session not found (also another user's)", body = ErrorBody),
    (status = 503, description = "session store unavailable", body = ErrorBody)),
    security(("cookie" = []), ("bearer" = [])))]
pub(crate) async fn end(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Authenticated,
    sid: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if !state.store.end_session(caller.subject(), &sid).await? {
        return Err(ApiError::SessionNotFound);
    }
    crate::metrics::revoked("session_end", 1);
    tracing::info!(
        event = "session.revoked",
        sub = %caller.claims.sub,
        sid = %sid,
        by_sid = %caller.claims.sid,
        ip = %client_ip(&req),
        "session ended"
    );
    let mut response = HttpResponse::Ok();
    if *sid == caller.claims.sid {
        with_cleared_cookies(&mut response, &state);
    }
    Ok(response.json(OkBody::YES))
}

/// `POST /logout/others`: ends every session of the caller but this one.
#[utoipa::path(post, path = "/logout/others", tag = "sessions", responses(
    (status = 200, description = "The other sessions ended", body = Ended),
    (status = 401, description = "missing token, invalid token or token revoked", body = ErrorBody),
    (status = 403, description = "cross-site request refused", body = ErrorBody),
    (status = 503, description = "session store unavailable", body = ErrorBody)),
    security(("cookie" = []), ("bearer" = [])))]
pub(crate) async fn logout_others(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let claims = &caller.claims;
    let ended = state.store.end_sessions(&claims.sub, Some(&claims.sid)).await?;
    crate::metrics::revoked("logout_others", ended as u64);
    tracing::info!(
        event = "logout.others",
        sub = %claims.sub,
        sid = %claims.sid,
        ended,
        ip = %client_ip(&req),
        "logged out other sessions"
    );
    Ok(HttpResponse::Ok().json(Ended { ok: true, ended }))
}

/// `POST /logout/all`: ends every session of the caller, this one included.
#[utoipa::path(post, path = "/logout/all", tag = "sessions", responses(
    (status = 200, description = "Every session ended; cookies cleared", body = Ended),
    (status = 401, description = "missing token, invalid token or token revoked", body = ErrorBody),
    (status = 403, description = "cross-site request refused", body = ErrorBody),
    (status = 503, description = "session store unavailable", body = ErrorBody)),
    security(("cookie" = []), ("bearer" = [])))]
pub(crate) async fn logout_all(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Authenticated,
) -> Result<HttpResponse, ApiError> {
    let claims = &caller.claims;
    let ended = state.store.end_sessions(&claims.sub, None).await?;
    crate::metrics::revoked("logout_all", ended as u64);
    tracing::info!(
        event = "logout.all",
        sub = %claims.sub,
        sid = %claims.sid,
        ended,
        ip = %client_ip(&req),
        "logged out everywhere"
    );
    Ok(with_cleared_cookies(HttpResponse::Ok(), &state).json(Ended { ok: true, ended }))
}
