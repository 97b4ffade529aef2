use actix_web::http::header::{HeaderValue, WWW_AUTHENTICATE};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use jwt_session_store::StoreError;
use jwt_session_token::TokenError;
use thiserror::Error;

/// Why a request was not authenticated.
///
/// The HTTP answers are those of the reference service: 401 with
/// `missing token`, `invalid token` or `token revoked`, and 503 when the
/// store cannot say whether the token is live. The cause stays in the error
/// for logs and never reaches the client.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Neither the cookie nor a Bearer header carries a token.
    #[error("missing token")]
    MissingToken,
    /// The token, or the header carrying it, was refused.
    #[error("invalid token")]
    InvalidToken(#[source] TokenError),
    /// The token is well signed but its id is no longer live.
    #[error("token revoked")]
    Revoked,
    /// The store could not answer; the request is refused, not let through.
    #[error("session store unavailable")]
    StoreUnavailable(#[source] StoreError),
}

impl ResponseError for AuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::StoreUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// The JSON answer; 401s carry `WWW-Authenticate: Bearer` (RFC 6750),
    /// with `error="invalid_token"` when a token was presented.
    fn error_response(&self) -> HttpResponse {
        let mut response = json_error(self.status_code(), &self.to_string());
        let challenge = match self {
            Self::MissingToken => Some("Bearer"),
            Self::InvalidToken(_) | Self::Revoked => Some(r#"Bearer error="invalid_token""#),
            Self::StoreUnavailable(_) => None,
        };
        if let Some(challenge) = challenge {
            response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        response
    }
}

/// The JSON error answer every route of this crate and its users gives:
/// `{"error": message}` with `status`.
pub fn json_error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({ "error": message }))
}
