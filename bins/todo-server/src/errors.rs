//! The server's error answers. Every one is JSON `{"error": ...}` built by
//! `jwt_session_actix::json_error`, as the middleware's are.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use jwt_session_actix::{error_chain as chain, json_error, log_store_failure};
use jwt_session_store::StoreError;
use jwt_session_token::TokenError;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// A field is out of its rules; the message names the field.
    #[error("{0}")]
    InvalidField(&'static str),
    #[error("username taken")]
    UsernameTaken,
    #[error("registration is disabled")]
    RegistrationClosed,
    #[error("too many failed logins; try again later")]
    Throttled { retry_after_secs: u64 },
    #[error("todo not found")]
    TodoNotFound,
    /// The caller has as many todos as one user may.
    #[error("too many todos: at most {most} per user; delete some first")]
    TodoLimit { most: u64 },
    #[error("internal error")]
    Hashing,
    #[error("server busy; try again")]
    Busy,
    #[error("invalid json")]
    InvalidJson,
    #[error("request body too large")]
    BodyTooLarge,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("missing refresh token")]
    MissingRefreshToken,
    #[error("invalid refresh token")]
    InvalidRefreshToken,
    #[error("refresh revoked")]
    RefreshRevoked,
    #[error("session not found")]
    SessionNotFound,
    #[error("not found")]
    NotFound,
    /// The route exists but not with this method; `allow` lists its methods
    /// for the `Allow` header (RFC 9110 requires it on a 405).
    #[error("method not allowed")]
    MethodNotAllowed { allow: &'static str },
    #[error("session store unavailable")]
    Store(#[from] StoreError),
    #[error("token signing failed")]
    Signing(#[from] TokenError),
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidJson | Self::InvalidField(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::UsernameTaken | Self::TodoLimit { .. } => StatusCode::CONFLICT,
            Self::RegistrationClosed => StatusCode::FORBIDDEN,
            Self::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::TodoNotFound => StatusCode::NOT_FOUND,
            Self::Hashing => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Busy => StatusCode::SERVICE_UNAVAILABLE,
            Self::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::InvalidCredentials
            | Self::MissingRefreshToken
            | Self::InvalidRefreshToken
            | Self::RefreshRevoked => StatusCode::UNAUTHORIZED,
            Self::NotFound | Self::SessionNotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Signing(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Store(cause) => log_store_failure(None, cause),
            Self::Signing(cause) => tracing::error!(error = %chain(cause), "cannot sign tokens"),
            Self::Hashing => tracing::error!("password hashing failed"),
            _ => {}
        }
        let mut response = json_error(self.status_code(), &self.to_string());
        let retry_after = match self {
            Self::Throttled { retry_after_secs } => Some((*retry_after_secs).max(1)),
            Self::Busy => Some(1),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Self::MethodNotAllowed { allow } = self {
            response.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        response
    }
}
