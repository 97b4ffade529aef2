//! Todos, stored per user. Another user's todo is "not found", never
//! "forbidden", so ids reveal nothing.

use actix_web::{web, HttpResponse};
use jwt_session_actix::Authenticated;
use jwt_session_token::unix_now;
use serde::Deserialize;

use crate::body::JsonBody;
use crate::data::{Todo, TodoChange, TodoStore};
use crate::errors::ApiError;
use crate::openapi::{ErrorBody, OkBody, TodoCreated, TodoList};
use crate::startup::AppState;

/// Titles are 1 to 500 characters after trimming.
const TITLE_CHARS: std::ops::RangeInclusive<usize> = 1..=500;
/// Longest todo id looked up; longer ones are simply not found.
const MAX_ID_BYTES: usize = 64;
/// Default and largest page size of `GET /todos`.
const DEFAULT_LIMIT: u64 = 20;
const MAX_LIMIT: u64 = 100;
/// Largest `offset` of `GET /todos`.
const MAX_OFFSET: u64 = 1_000_000;

/// A new todo.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct NewTodo {
    /// 1 to 500 characters after trimming.
    title: String,
}

/// A change to a todo; absent fields stay as they are.
#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct TodoPatch {
    /// 1 to 500 characters after trimming.
    title: Option<String>,
    done: Option<bool>,
}

#[derive(Deserialize, utoipa::IntoParams)]
pub(crate) struct Paging {
    /// How many todos to skip, newest first, 0 to 1000000. Default: 0.
    offset: Option<u64>,
    /// Page size, 1 to 100. Default: 20.
    limit: Option<u64>,
}

fn title(raw: &str) -> Result<String, ApiError> {
    let title = raw.trim();
    if title.chars().any(crate::text::is_invisible) {
        return Err(ApiError::InvalidField(
            "title must not contain control or invisible formatting characters (zero-width, bidirectional, line separators)",
        ));
    }
    if !title.is_empty() && !crate::text::has_visible(title) {
        return Err(ApiError::InvalidField(
            "title must have a visible character, not only marks or blanks",
        ));
    }
    if TITLE_CHARS.contains(&title.chars().count()) {
        Ok(title.to_owned())
    } else {
        Err(ApiError::InvalidField("title must be 1 to 500 characters after trimming"))
    }
}

fn todo_id(id: &str) -> Result<&str, ApiError> {
    if id.is_empty() || id.len() > MAX_ID_BYTES {
        return Err(ApiError::TodoNotFound);
    }
    Ok(id)
}

/// `POST /todo`: stores a todo; answers as the reference does, plus its id.
#[utoipa::path(post, path = "/todo", operation_id = "create_todo", tag = "todos", request_body = NewTodo, responses(
    (status = 201, description = "Stored", body = TodoCreated),
    (status = 401, description = "missing token, invalid token or token revoked", body = ErrorBody),
    (status = 403, description = "cross-site request refused", body = ErrorBody),
    (status = 409, description = "too many todos: the caller has as many as one user may", body = ErrorBody),
    (status = 422, description = "invalid json, or the title is out of its rules", body = ErrorBody),
    (status = 503, description = "session store unavailable", body = ErrorBody)),
    security(("cookie" = []), ("bearer" = [])))]
pub(crate) async fn create(
    state: web::Data<AppState>,
    caller: Authenticated,
    JsonBody(body): JsonBody<NewTodo>,
) -> Result<HttpResponse, ApiError> {
    let title = title(&body.title)?;
    let now = unix_now();
    let todo = Todo {
        id: uuid::Uuid::now_v7().to_string(),
        title,
        done: false,
        created_at: now,
        updated_at: now,
    };
    let most = state.todos_per_user;
    if !state.data.add_todo(caller.subject(), &todo, most).await? {
        return Err(ApiError::TodoLimit { most });
    }
    Ok(HttpResponse::Created().json(TodoCreated {
        id: todo.id,
        user_id: caller.subject().to_owned(),
        title: todo.title,
    }))
}

/// `GET /todos`: the caller's todos, newest first, a page at a time.
#[utoipa::path(get, path = "/todos", operation_id = "list_todos", tag = "todos", params(Paging), responses(
    (status = 200, description = "A page of todos", body = TodoList),
    (status = 401, description = "missing token, invalid token or token revoked", body = ErrorBody),
    (status = 422, description = "offset or limit out of range", body = ErrorBody),
    (status = 503, description = "session store unavailable", body = ErrorBody)),
    security(("cookie" = []), ("bearer" = [])))]
pub(crate) async fn list(
    state: web::Data<AppState>,
    caller: Authenticated,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let offset = paging.offset.unwrap_or(0);
    let limit = paging.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::InvalidField("limit must be 1 to 100"));
    }
    if offset > MAX_OFFSET {
        return Err(ApiError::InvalidField("offset must be 0 to 1000000"));
    }
    let page = state.data.todos(caller.subject(), offset, limit).await?;
    Ok(HttpResponse::Ok().json(TodoList { todos: page.todos, total: page.total, offset, limit }))
}

/// `GET /todos/{id}`
#[utoipa::path(get, path = "/todos/{id}", operation_id = "get_todo", tag = "todos", params(("id" = String, Path, description = "Todo id")),
    responses(
    (status = 200, description = "The todo", body = Todo),
    (status = 401, description = "missing token, invalid token or token revoked", body = ErrorBody),
    (status = 404, description = "todo not found (also another user's)", body = ErrorBody),
    (status = 503, description = "session store unavailable", body = ErrorBody)),
    security(("cookie" = []), ("bearer" = [])))]
pub(crate) async fn get(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let todo =
        state.data.todo(caller.subject(), todo_id(&id)?).await?.ok_or(ApiError::TodoNotFound)?;
    Ok(HttpResponse::Ok().json(todo))
}

/// `PATCH /todos/{id}`: changes the title, the done flag, or both.
#[utoipa::path(patch, path = "/todos/{id}", operation_id = "change_todo", tag = "todos", params(("id" = String, Path, description = "Todo id")),
    request_body = TodoPatch, responses(
    (status = 200, description = "The changed todo", body = Todo),
    (status = 401, description = "missing token, invalid token or token revoked", body = ErrorBody),
    (status = 403, description = "cross-site request refused", body = ErrorBody),
    (status = 404, description = "todo not found (also another user's)", body = ErrorBody),
    (status = 422, description = "invalid json, neither title nor done given, or the title is out of its rules", body = ErrorBody),
    (status = 503, description = "session store unavailable", body = ErrorBody)),
    security(("cookie" = []), ("bearer" = [])))]
pub(crate) async fn change(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<String>,
    JsonBody(patch): JsonBody<TodoPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = todo_id(&id)?;
    if patch.title.is_none() && patch.done.is_none() {
        // Nothing to change: refused, rather than stored as a change that
        // only moves `updated_at` (a misspelt field lands here too).
        return Err(ApiError::InvalidField("a change must set title, done or both"));
    }
    let change = TodoChange {
        title: patch.title.as_deref().map(title).transpose()?,
        done: patch.done,
        now: unix_now(),
    };
    let todo = state
        .data
        .change_todo(caller.subject(), id, &change)
        .await?
        .ok_or(ApiError::TodoNotFound)?;
    Ok(HttpResponse::Ok().json(todo))
}

/// `DELETE /todos/{id}`
#[utoipa::path(delete, path = "/todos/{id}", operation_id = "delete_todo", tag = "todos", params(("id" = String, Path, description = "Todo id")),
    responses(
    (status = 200, description = "Deleted", body = OkBody),
    (status = 401, description = "missing token, invalid token or token revoked", body = ErrorBody),
    (status = 403, description = "cross-site request refused", body = ErrorBody),
    (status = 404, description = "todo not found (also another user's)", body = ErrorBody),
    (status = 503, description = "session store unavailable", body = ErrorBody)),
    security(("cookie" = []), ("bearer" = [])))]
pub(crate) async fn delete(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if !state.data.delete_todo(caller.subject(), todo_id(&id)?).await? {
        return Err(ApiError::TodoNotFound);
    }
    Ok(HttpResponse::Ok().json(OkBody::YES))
}
