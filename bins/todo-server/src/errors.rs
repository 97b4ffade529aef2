//! The server's error answers. Every one is JSON `{"error": ...}` built by
//! `jwt_session_actix::json_error`, as the middleware's are.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use jwt_session_actix::json_error;
use jwt_session_store::StoreError;
use jwt_session_token::TokenError;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
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
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("session store unavailable")]
    Store(#[from] StoreError),
    #[error("token signing failed")]
    Signing(#[from] TokenError),
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidJson => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::InvalidCredentials
            | Self::MissingRefreshToken
            | Self::InvalidRefreshToken
            | Self::RefreshRevoked => StatusCode::UNAUTHORIZED,
            Self::NotFound | Self::SessionNotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Signing(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::Store(cause) => {
                tracing::error!(error = %chain(cause), "session store unavailable; request refused");
            }
            Self::Signing(cause) => tracing::error!(error = %chain(cause), "cannot sign tokens"),
            _ => {}
        }
        json_error(self.status_code(), &self.to_string())
    }
}

/// An error with its sources, `a: b: c`, for one log field.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
