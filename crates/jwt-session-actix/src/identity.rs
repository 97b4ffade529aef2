use std::future::{ready, Ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use jwt_session_token::Claims;

use crate::{AuthError, TokenSource};

/// The verified caller of a route behind [`JwtAuth`](crate::JwtAuth).
///
/// Take it as a handler argument. On a route without the middleware it
/// refuses the request with 401 `missing token` (and logs the wiring mistake)
/// rather than let it through.
#[derive(Clone, Debug)]
pub struct Authenticated {
    /// The access token's verified claims.
    pub claims: Claims,
    /// Where the token came from.
    pub source: TokenSource,
}

impl Authenticated {
    /// The user id (`sub`).
    pub fn subject(&self) -> &str {
        &self.claims.sub
    }
}

impl FromRequest for Authenticated {
    type Error = AuthError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let identity = req.extensions().get::<Self>().cloned();
        ready(identity.ok_or_else(|| {
            tracing::error!(path = req.path(), "Authenticated used on a route without JwtAuth");
            AuthError::MissingToken
        }))
    }
}
