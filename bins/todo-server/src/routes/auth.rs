//! Logging in and out, registering, and refreshing tokens.

use std::sync::atomic::Ordering;

use actix_web::{web, HttpRequest, HttpResponse};
use jwt_session_actix::{single_cookie, Authenticated, REFRESH_COOKIE};
use jwt_session_store::{
    AccessGrant, NewSession, ReusePolicy, Rotation, RotationOutcome, SessionStore,
};
use jwt_session_token::{new_id, unix_now, Claims, TokenError, TokenKind, TokenPair};
use serde::Deserialize;

use super::{client_ip, with_cleared_cookies, with_pair_cookies};
use crate::accounts::LoginName;
use crate::body::{JsonBody, OptionalJsonBody};
use crate::data::{Counter, LoginStart, LoginSteps};
use crate::errors::ApiError;
use crate::openapi::{ErrorBody, OkBody, Registered, TokenBody};
use crate::startup::AppState;

/// Longest device label kept, in characters.
const MAX_DEVICE_CHARS: usize = 120;

/// How the tokens reach the client.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Delivery {
    /// `HttpOnly` cookies, as the reference does (the default).
    #[default]
    Cookie,
    /// In the JSON answer, for clients that cannot keep cookies.
    Body,
}

/// Credentials, and how to deliver the tokens.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct LoginRequest {
    username: String,
    password: String,
    /// `cookie` (default) sets HttpOnly cookies; `body` returns the tokens.
    /// Read as any JSON value, so that a wrong one is refused by name.
    #[serde(default)]
    #[schema(value_type = Option<Delivery>)]
    token_delivery: Option<serde_json::Value>,
}

impl LoginRequest {
    /// How the tokens are to be delivered, or a 422 naming the field.
    fn delivery(&self) -> Result<Delivery, ApiError> {
        match self.token_delivery.as_ref().map(|value| value.as_str()) {
            None => Ok(Delivery::Cookie),
            Some(Some("cookie")) => Ok(Delivery::Cookie),
            Some(Some("body")) => Ok(Delivery::Body),
            Some(_) => Err(ApiError::InvalidField("token_delivery must be \"cookie\" or \"body\"")),
        }
    }
}

/// A new account's credentials.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct RegisterRequest {
    /// 3 to 64 letters, digits or `. _ - @`; case is ignored.
    username: String,
    /// 8 to 1024 bytes.
    password: String,
}

/// A refresh token sent in the body, by clients without cookies.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct RefreshRequest {
    refresh_token: Option<String>,
}

/// Logout's optional body.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct LogoutRequest {
    /// Also end this refresh token's session, if it is another of the caller's.
    refresh_token: Option<String>,
}

/// `POST /login`: checks the credentials (throttled per username and per
/// client IP) and starts a session.
#[utoipa::path(post, path = "/login", tag = "auth", request_body = LoginRequest, responses(
    (status = 200, description = "Logged in: `{\"ok\":true}` (`OkBody`) with both token cookies set, or the tokens in the body (`TokenBody`) when `token_delivery` is `body`", body = TokenBody),
    (status = 401, description = "invalid credentials", body = ErrorBody),
    (status = 413, description = "request body too large", body = ErrorBody),
    (status = 422, description = "invalid json, or token_delivery is neither cookie nor body", body = ErrorBody),
    (status = 429, description = "too many failed logins; see Retry-After", body = ErrorBody),
    (status = 503, description = "session store unavailable", body = ErrorBody)))]
pub(crate) async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    JsonBody(body): JsonBody<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let delivery = body.delivery()?;
    let ip = client_ip(&req);
    let now = unix_now();
    let login_name = state.accounts.login_name(&body.username);
    let ip_key = format!("ip:{ip}");
    // A name no account can have gets no counter of its own: only valid,
    // normalised names (at most 64 characters) become keys.
    let username_key = match &login_name {
        LoginName::Demo(account) => Some(format!("user:{}", account.username)),
        LoginName::Stored(name) => Some(format!("user:{name}")),
        LoginName::Unknown => None,
    };
    let stored_name = match &login_name {
        LoginName::Stored(name) => Some(name.as_str()),
        LoginName::Demo(_) | LoginName::Unknown => None,
    };
    // Every attempt counts before its password is checked, so a burst of
    // concurrent guesses cannot all pass under the limit; a success takes its
    // count back. The IP counts first: an attempt it refuses does not count
    // against the user, so a throttled client cannot lock accounts out.
    let policy = state.login;
    let mut counters =
        vec![Counter { name: "ip", key: &ip_key, limit: policy.max_failures_per_ip }];
    if let Some(key) = &username_key {
        counters.push(Counter { name: "user", key, limit: policy.max_failures_per_user });
    }
    // One round trip: the counters and the account.
    let LoginStart { throttled_for, account: stored } =
        state.data.begin_login(&counters, policy.window_secs, stored_name, now).await?;
    if let Some((index, retry_after_secs)) = throttled_for {
        crate::metrics::login("throttled");
        let throttled = counters.get(index).map_or("unknown", |counter| counter.name);
        tracing::warn!(event = "login.throttled", %ip, throttled, "login throttled");
        return Err(ApiError::Throttled { retry_after_secs: retry_after_secs.max(1) });
    }

    let candidate = match login_name {
        LoginName::Demo(demo) => Some(demo),
        LoginName::Stored(_) => stored,
        LoginName::Unknown => None,
    };
    let Some(account) = state.accounts.check_password(candidate, &body.password).await? else {
        crate::metrics::login("failed");
        tracing::info!(event = "login.failed", %ip, "login refused: invalid credentials");
        return Err(ApiError::InvalidCredentials);
    };

    let pair = state.tokens.issue_pair_at(&account.id, &new_id(), now)?;
    let device = device_label(&req);
    let session = NewSession {
        subject: &account.id,
        sid: &pair.access.claims.sid,
        device: &device,
        ip: &ip,
        now,
        access: access_grant(&state, &pair),
        refresh_jti: &pair.refresh.claims.jti,
        lifetime: state.sessions.lifetime,
        max_sessions: Some(state.sessions.max_per_user),
    };
    // The second round trip: the counters settle beside the session's start.
    // A success always has a valid name, so a counter of its own.
    let username_key = username_key.unwrap_or_default();
    let (settled, started) = tokio::join!(
        state.data.settle_login(&username_key, &ip_key, now),
        state.store.start(&session)
    );
    settled?;
    let evicted = started?;
    if evicted > 0 {
        crate::metrics::revoked("session_limit", evicted as u64);
        tracing::info!(
            event = "session.evicted",
            sub = %account.id,
            ended = evicted,
            max_per_user = state.sessions.max_per_user,
            "a login beyond the session limit ended the sessions nearest to their end"
        );
    }

    crate::metrics::login("succeeded");
    tracing::info!(
        event = "login.succeeded",
        sub = %account.id,
        sid = %pair.access.claims.sid,
        %ip,
        "logged in"
    );
    Ok(deliver(HttpResponse::Ok(), &state, pair, delivery))
}

/// `POST /register`: creates an account (when registration is open).
#[utoipa::path(post, path = "/register", tag = "auth", request_body = RegisterRequest, responses(
    (status = 201, description = "Created", body = Registered),
    (status = 403, description = "registration is disabled", body = ErrorBody),
    (status = 409, description = "username taken", body = ErrorBody),
    (status = 422, description = "invalid json, or the username or password is out of its rules", body = ErrorBody),
    (status = 503, description = "session store unavailable", body = ErrorBody)))]
pub(crate) async fn register(
    req: HttpRequest,
    state: web::Data<AppState>,
    JsonBody(body): JsonBody<RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let account = state.accounts.register(&body.username, &body.password).await?;
    tracing::info!(event = "account.registered", sub = %account.id, ip = %client_ip(&req), "registered");
    Ok(HttpResponse::Created().json(Registered { id: account.id, username: account.username }))
}

/// `POST /token/refresh`: trades a refresh token for the next pair of the
/// same session, single-flight: requests racing with the same token within
/// the grace window all receive the same pair. The token comes from the
/// `refresh_token` cookie (answer in cookies) or from the body (answer in
/// the body).
#[utoipa::path(post, path = "/token/refresh", tag = "auth", request_body(content = RefreshRequest, description = "Only for clients without cookies"),
    responses(
    (status = 201, description = "Refreshed: `{\"ok\":true}` with new cookies, or the tokens in the body when the refresh token came in the body", body = TokenBody),
    (status = 401, description = "missing refresh token, invalid refresh token or refresh revoked", body = ErrorBody),
    (status = 403, description = "cross-site request refused", body = ErrorBody),
    (status = 422, description = "invalid json: without the cookie, a body must be a JSON object", body = ErrorBody),
    (status = 503, description = "session store unavailable", body = ErrorBody)))]
pub(crate) async fn refresh(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: Result<OptionalJsonBody<RefreshRequest>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let cookie = single_cookie(&req, REFRESH_COOKIE).map_err(|_| ApiError::InvalidRefreshToken)?;
    // With the cookie, the body is not read (as the reference does): a
    // client sending anything there keeps working.
    let (token, delivery) = match cookie {
        Some(cookie) => (cookie, Delivery::Cookie),
        None => match body?.0.and_then(|b| b.refresh_token).filter(|t| !t.is_empty()) {
            Some(token) => (token, Delivery::Body),
            None => {
                crate::metrics::refresh("missing");
                return Err(ApiError::MissingRefreshToken);
            }
        },
    };
    let claims = state.tokens.verify(&token, TokenKind::Refresh).map_err(|cause| {
        let outcome = if matches!(cause, TokenError::Expired) { "expired" } else { "invalid" };
        crate::metrics::refresh(outcome);
        tracing::debug!(error = %cause, "refresh token refused");
        ApiError::InvalidRefreshToken
    })?;

    let pair = rotate(&req, &state, &claims).await?;
    Ok(deliver(HttpResponse::Created(), &state, pair, delivery))
}

async fn rotate(
    req: &HttpRequest,
    state: &AppState,
    claims: &Claims,
) -> Result<TokenPair, ApiError> {
    let now = unix_now();
    let successor = state.tokens.issue_successor_at(claims, now)?;
    let policy = state.sessions;
    let outcome = state
        .store
        .rotate(&Rotation {
            subject: &claims.sub,
            sid: &claims.sid,
            presented_jti: &claims.jti,
            successor_refresh_jti: &successor.refresh.claims.jti,
            successor_access: access_grant(state, &successor),
            now,
            grace_secs: policy.grace_secs,
            idle_secs: policy.lifetime.idle_secs,
            on_reuse: policy.on_reuse,
        })
        .await?;

    match outcome {
        RotationOutcome::Rotated => {
            crate::metrics::refresh("rotated");
            tracing::info!(sub = %claims.sub, sid = %claims.sid, "refreshed");
            Ok(successor)
        }
        RotationOutcome::Replayed { issued_at } => {
            crate::metrics::refresh("grace_replay");
            tracing::info!(sub = %claims.sub, sid = %claims.sid, "refresh replayed within the grace window");
            Ok(state.tokens.issue_successor_at(claims, issued_at)?)
        }
        RotationOutcome::Reused => {
            let total = state.reuse_count.fetch_add(1, Ordering::Relaxed) + 1;
            crate::metrics::refresh("reused");
            if policy.on_reuse != ReusePolicy::AlertOnly {
                crate::metrics::revoked("reuse", 1);
            }
            tracing::warn!(
                event = "refresh.reused",
                sub = %claims.sub,
                sid = %claims.sid,
                jti = %claims.jti,
                ip = %client_ip(req),
                response = policy.on_reuse.as_str(),
                reuse_total = total,
                "refresh token reused"
            );
            Err(ApiError::RefreshRevoked)
        }
        RotationOutcome::SessionGone => {
            crate::metrics::refresh("revoked");
            tracing::debug!(sub = %claims.sub, sid = %claims.sid, "refresh for an ended session");
            Err(ApiError::RefreshRevoked)
        }
    }
}

/// `POST /logout`: ends the session of the presented access token (cookie or
/// Bearer) and clears both cookies. A refresh token in the body that belongs
/// to another session of the same user ends that one too; a body that is not
/// such an object is ignored, so the caller's session always ends.
#[utoipa::path(post, path = "/logout", tag = "auth", request_body(content = LogoutRequest, description = "Optional"),
    responses(
    (status = 200, description = "Logged out; both cookies cleared", body = OkBody),
    (status = 401, description = "missing token, invalid token or token revoked", body = ErrorBody),
    (status = 403, description = "cross-site request refused", body = ErrorBody),
    (status = 503, description = "session store unavailable", body = ErrorBody)),
    security(("cookie" = []), ("bearer" = [])))]
pub(crate) async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Authenticated,
    body: Result<OptionalJsonBody<LogoutRequest>, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let claims = &caller.claims;
    let mut ended = u64::from(state.store.end_session(&claims.sub, &claims.sid).await?);

    let other = body
        .ok()
        .and_then(|OptionalJsonBody(body)| body)
        .and_then(|b| b.refresh_token)
        .and_then(|token| state.tokens.verify(&token, TokenKind::Refresh).ok())
        .filter(|refresh| refresh.sub == claims.sub && refresh.sid != claims.sid);
    if let Some(refresh) = &other {
        ended += u64::from(state.store.end_session(&refresh.sub, &refresh.sid).await?);
    }

    crate::metrics::revoked("logout", ended);
    tracing::info!(
        event = "logout",
        sub = %claims.sub,
        sid = %claims.sid,
        other_sid = other.as_ref().map_or("-", |r| r.sid.as_str()),
        ip = %client_ip(&req),
        "logged out"
    );
    Ok(with_cleared_cookies(HttpResponse::Ok(), &state).json(OkBody::YES))
}

fn access_grant<'a>(state: &AppState, pair: &'a TokenPair) -> AccessGrant<'a> {
    AccessGrant {
        jti: &pair.access.claims.jti,
        expires_at: state.tokens.retain_until(&pair.access.claims),
    }
}

/// The answer carrying a new pair: cookies and `{"ok":true}` as the
/// reference, or the tokens in the body (OAuth 2.0 token response style).
fn deliver(
    builder: actix_web::HttpResponseBuilder,
    state: &AppState,
    pair: TokenPair,
    delivery: Delivery,
) -> HttpResponse {
    match delivery {
        Delivery::Cookie => with_pair_cookies(builder, state, pair).json(OkBody::YES),
        Delivery::Body => {
            let now = unix_now();
            let mut builder = builder;
            builder.insert_header((actix_web::http::header::CACHE_CONTROL, "no-store")).json(
                TokenBody {
                    expires_in: pair.access.claims.exp.saturating_sub(now),
                    access_token: pair.access.token,
                    token_type: "Bearer",
                    refresh_expires_in: pair.refresh.claims.exp.saturating_sub(now),
                    refresh_token: pair.refresh.token,
                },
            )
        }
    }
}

/// The User-Agent, without control or bidirectional formatting characters,
/// trimmed; `unknown` if absent.
fn device_label(req: &HttpRequest) -> String {
    let agent = req
        .headers()
        .get(actix_web::http::header::USER_AGENT)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        .unwrap_or_default();
    let label: String =
        agent.chars().filter(|c| !crate::text::is_invisible(*c)).take(MAX_DEVICE_CHARS).collect();
    let label = label.trim();
    if label.is_empty() {
        "unknown".to_owned()
    } else {
        label.to_owned()
    }
}
