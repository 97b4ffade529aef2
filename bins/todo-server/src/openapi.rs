//! The OpenAPI document, generated from the route annotations, and the
//! schemas of the bodies the routes build as JSON.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use serde::Serialize;

use crate::data::Todo;
use crate::routes::auth::{Delivery, LoginRequest, LogoutRequest, RefreshRequest, RegisterRequest};
use crate::routes::todos::{NewTodo, TodoPatch};

/// Every error answer (built by `jwt_session_actix::json_error`).
#[derive(ToSchema)]
#[allow(dead_code)] // describes a body another crate builds
pub(crate) struct ErrorBody {
    /// What went wrong, e.g. `invalid token`.
    error: String,
}

/// `{"ok":true}`
#[derive(Serialize, ToSchema)]
pub(crate) struct OkBody {
    pub(crate) ok: bool,
}

impl OkBody {
    pub(crate) const YES: Self = Self { ok: true };
}

/// The health answers.
#[derive(Serialize, ToSchema)]
pub(crate) struct Status {
    /// `ok` or `ready`.
    pub(crate) status: &'static str,
}

/// Tokens delivered in the body (OAuth 2.0 token response style).
#[derive(Serialize, ToSchema)]
pub(crate) struct TokenBody {
    pub(crate) access_token: String,
    /// Always `Bearer`.
    pub(crate) token_type: &'static str,
    /// Seconds until the access token expires.
    pub(crate) expires_in: u64,
    pub(crate) refresh_token: String,
    /// Seconds until the refresh token expires.
    pub(crate) refresh_expires_in: u64,
}

/// A new account.
#[derive(Serialize, ToSchema)]
pub(crate) struct Registered {
    pub(crate) id: String,
    pub(crate) username: String,
}

/// The answer to `POST /todo`: the reference's body plus the new id.
#[derive(Serialize, ToSchema)]
pub(crate) struct TodoCreated {
    pub(crate) id: String,
    pub(crate) user_id: String,
    pub(crate) title: String,
}

/// A page of todos, newest first.
#[derive(Serialize, ToSchema)]
pub(crate) struct TodoList {
    pub(crate) todos: Vec<Todo>,
    /// How many todos the caller has in all.
    pub(crate) total: u64,
    pub(crate) offset: u64,
    pub(crate) limit: u64,
}

/// One session, as listed to its user.
#[derive(Serialize, ToSchema)]
pub(crate) struct SessionView {
    pub(crate) id: String,
    /// The User-Agent at login, trimmed.
    pub(crate) device: String,
    pub(crate) ip: String,
    pub(crate) created_at: u64,
    pub(crate) last_used_at: u64,
    pub(crate) expires_at: u64,
    pub(crate) refresh_count: u64,
    /// Whether this is the session of the calling token.
    pub(crate) current: bool,
}

/// The caller's sessions.
#[derive(Serialize, ToSchema)]
pub(crate) struct SessionList {
    pub(crate) sessions: Vec<SessionView>,
}

/// The caller, as its access token says.
#[derive(Serialize, ToSchema)]
pub(crate) struct Me {
    /// The user id (the token's `sub`).
    pub(crate) user_id: String,
    /// The session id (`sid`), as listed by `GET /sessions`.
    pub(crate) session_id: String,
    /// When the access token expires (`exp`), Unix seconds.
    pub(crate) expires_at: u64,
}

/// How many sessions ended.
#[derive(Serialize, ToSchema)]
pub(crate) struct Ended {
    pub(crate) ok: bool,
    pub(crate) ended: usize,
}

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("access_token"))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "todo-server", description = "A todo API over JWT sessions: access and refresh tokens in HttpOnly cookies or Bearer headers, revocable sessions."),
    paths(
        crate::routes::auth::login,
        crate::routes::auth::register,
        crate::routes::auth::refresh,
        crate::routes::auth::logout,
        crate::routes::todos::create,
        crate::routes::todos::list,
        crate::routes::todos::get,
        crate::routes::todos::change,
        crate::routes::todos::delete,
        crate::routes::sessions::me,
        crate::routes::sessions::list,
        crate::routes::sessions::end,
        crate::routes::sessions::logout_others,
        crate::routes::sessions::logout_all,
        crate::routes::healthz,
        crate::routes::readyz,
        crate::routes::jwks,
        openapi_json,
    ),
    components(schemas(ErrorBody, OkBody, Status, LoginRequest, RegisterRequest, RefreshRequest, LogoutRequest,
        Delivery, TokenBody, Registered, NewTodo, TodoCreated, TodoList, Todo, TodoPatch, SessionView, SessionList,
        Ended, Me)),
    modifiers(&SecuritySchemes),
    tags((name = "auth"), (name = "todos"), (name = "sessions"), (name = "keys"), (name = "health")),
)]
struct ApiDoc;

/// `GET /openapi.json`: this document.
#[utoipa::path(get, path = "/openapi.json", tag = "health",
    responses((status = 200, description = "The OpenAPI 3.1 document of this server")))]
pub(crate) async fn openapi_json() -> HttpResponse {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    let document = DOCUMENT.get_or_init(|| ApiDoc::openapi().to_json().unwrap_or_default());
    HttpResponse::Ok().content_type("application/json").body(document.as_str())
}
