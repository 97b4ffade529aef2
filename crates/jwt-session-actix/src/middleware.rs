use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::EitherBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::{Error, HttpMessage};
use jwt_session_store::{AccessRef, SessionStore};
use jwt_session_token::{TokenError, TokenKind, TokenService};

use crate::extract::access_token;
use crate::log_rate::LogRate;
use crate::{AuthError, Authenticated};

/// Middleware that admits only requests with a live access token.
///
/// It takes the token from the `access_token` cookie or a Bearer header,
/// verifies it as an access token, asks the store whether its id and its
/// session are still live (one store round trip), and hands the verified [`Authenticated`] identity to the handler.
/// Refusals answer with [`AuthError`]'s JSON; a store that cannot answer gives
/// 503 and the request never reaches the handler.
#[derive(Clone, Debug)]
pub struct JwtAuth<S> {
    tokens: Arc<TokenService>,
    store: S,
}

impl<S> JwtAuth<S> {
    /// Middleware verifying with `tokens` and checking revocation in `store`.
    pub fn new(tokens: Arc<TokenService>, store: S) -> Self {
        Self { tokens, store }
    }
}

impl<Svc, B, S> Transform<Svc, ServiceRequest> for JwtAuth<S>
where
    Svc: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    S: SessionStore + Clone + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = JwtAuthMiddleware<Svc, S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: Svc) -> Self::Future {
        ready(Ok(JwtAuthMiddleware {
            service: Rc::new(service),
            tokens: self.tokens.clone(),
            store: self.store.clone(),
        }))
    }
}

/// The service [`JwtAuth`] wraps around each route.
#[derive(Debug)]
pub struct JwtAuthMiddleware<Svc, S> {
    service: Rc<Svc>,
    tokens: Arc<TokenService>,
    store: S,
}

type LocalBoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;

impl<Svc, B, S> Service<ServiceRequest> for JwtAuthMiddleware<Svc, S>
where
    Svc: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
    S: SessionStore + Clone + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future = LocalBoxFuture<Result<Self::Response, Self::Error>>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = self.service.clone();
        let tokens = self.tokens.clone();
        let store = self.store.clone();

        Box::pin(async move {
            match authenticate(&req, &tokens, &store).await {
                Ok(identity) => {
                    req.extensions_mut().insert(identity);
                    service.call(req).await.map(ServiceResponse::map_into_left_body)
                }
                Err(error) => {
                    log_refusal(&req, &error);
                    Ok(req.error_response(error).map_into_right_body())
                }
            }
        })
    }
}

async fn authenticate<S: SessionStore>(
    req: &ServiceRequest,
    tokens: &TokenService,
    store: &S,
) -> Result<Authenticated, AuthError> {
    let (token, source) = access_token(req.request())?;
    let claims = tokens.verify(&token, TokenKind::Access).map_err(AuthError::InvalidToken)?;

    let live =
        store.access_is_live(AccessRef::of(&claims)).await.map_err(AuthError::StoreUnavailable)?;
    if !live {
        let (sub, sid, jti) = (&claims.sub, &claims.sid, &claims.jti);
        match REVOKED_TOKENS.admit(Instant::now()) {
            Some(suppressed) => {
                tracing::warn!(%sub, %sid, %jti, suppressed, "revoked access token presented");
            }
            None => tracing::debug!(%sub, %sid, %jti, "revoked access token presented"),
        }
        return Err(AuthError::Revoked);
    }
    Ok(Authenticated { claims, source })
}

/// Warn lines for forged or malformed tokens, which any client can send.
static SUSPICIOUS_TOKENS: LogRate = LogRate::every_second();
/// Warn lines for revoked tokens presented again.
static REVOKED_TOKENS: LogRate = LogRate::every_second();

/// Logs a refusal at the level its cause deserves: routine ones at debug,
/// suspicious ones at warn, store outages at error; warn and error lines at
/// most one a second for each kind, with `suppressed` counting the ones sent
/// to debug since (see [`log_store_failure`](crate::log_store_failure)).
/// Never the token itself.
fn log_refusal(req: &ServiceRequest, error: &AuthError) {
    let path = req.path();
    match error {
        AuthError::MissingToken | AuthError::Revoked => {
            tracing::debug!(path, error = %error, "request refused");
        }
        AuthError::InvalidToken(cause) if is_routine(cause) => {
            tracing::debug!(path, error = %error, cause = %cause, "request refused");
        }
        AuthError::InvalidToken(cause) => match SUSPICIOUS_TOKENS.admit(Instant::now()) {
            Some(suppressed) => {
                tracing::warn!(path, error = %error, cause = %cause, suppressed, "suspicious token refused");
            }
            None => {
                tracing::debug!(path, error = %error, cause = %cause, "suspicious token refused")
            }
        },
        AuthError::StoreUnavailable(cause) => crate::log_store_failure(Some(path), cause),
    }
}

fn is_routine(cause: &TokenError) -> bool {
    matches!(cause, TokenError::Expired | TokenError::Malformed(_) | TokenError::TooLong { .. })
}

/// An error with its sources, `a: b: c`, for one log field. Many errors
/// already print their source in their own message; a source already said
/// is not said again.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error that prints its source in its own message, as the Redis
    /// client's do.
    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Echo(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("store unavailable")]
    struct Outer(#[source] Echo);

    #[test]
    fn a_cause_is_said_once_even_when_an_error_repeats_its_source() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(error_chain(&Outer(Echo(refused))), "store unavailable: connection refused");
    }
}
