//! actix-web support for JWT sessions: a middleware that admits only live
//! access tokens, an extractor for the verified caller, the token cookies,
//! and a guard against cross-site requests authenticated by cookie.
//!
//! ```
//! use std::sync::Arc;
//!
//! use actix_web::{web, App, HttpResponse};
//! use jwt_session_actix::{Authenticated, JwtAuth};
//! use jwt_session_store::MemoryStore;
//! use jwt_session_token::{TokenKeys, TokenService, TokenSettings};
//!
//! async fn whoami(caller: Authenticated) -> HttpResponse {
//!     HttpResponse::Ok().body(caller.subject().to_owned())
//! }
//!
//! let keys = TokenKeys::hs256(&[1; 32], &[2; 32])?;
//! let tokens = Arc::new(TokenService::new(TokenSettings::new("app", "clients"), keys)?);
//! let store = MemoryStore::new();
//!
//! let app = App::new().service(
//!     web::scope("/api")
//!         .wrap(JwtAuth::new(tokens.clone(), store.clone()))
//!         .route("/whoami", web::get().to(whoami)),
//! );
//! # drop(app);
//! # Ok::<(), jwt_session_token::TokenError>(())
//! ```
//!
//! The answers are those of the reference service: 401 with
//! `{"error":"missing token"}`, `{"error":"invalid token"}` or
//! `{"error":"token revoked"}`, and 503 when the store cannot answer: a store
//! outage never lets a request through and is never reported as a logout.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod cookies;
mod csrf;
mod error;
mod extract;
mod identity;
mod log_rate;
mod middleware;
mod outage;

pub use cookies::{CookiePolicy, ACCESS_COOKIE, REFRESH_COOKIE};
pub use csrf::{CrossSiteGuard, CrossSiteGuardMiddleware};
pub use error::{json_error, AuthError};
pub use extract::{access_token, bearer_token, single_cookie, TokenSource};
pub use identity::Authenticated;
pub use middleware::{error_chain, JwtAuth, JwtAuthMiddleware};
pub use outage::log_store_failure;
