//! A second service that accepts todo-server's access tokens without holding
//! any secret: it verifies them against the server's published JWKS.
//!
//! ```text
//! JWKS_URL=http://127.0.0.1:8080/.well-known/jwks.json cargo run -p jwks-verifier
//! curl -H "Authorization: Bearer $ACCESS_TOKEN" http://127.0.0.1:8081/whoami
//! ```
//!
//! Configuration, from the environment: `JWKS_URL` (default
//! `http://127.0.0.1:8080/.well-known/jwks.json`), `TOKEN_ISSUER` (default
//! `jwt-todo-app`), `TOKEN_AUDIENCE` (default `jwt-todo-client`) and
//! `LISTEN_ADDR` (default `127.0.0.1:8081`).
//!
//! Verification here is stateless: the signature, `kid`, `alg`, `typ`, times,
//! `iss` and `aud` are checked, but not the session store, so a revoked
//! access token is accepted until it expires (at most its lifetime, 15
//! minutes by default). Services that must see logouts at once share the
//! session store and use `jwt_session_actix::JwtAuth` instead.

use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use jwt_session_actix::{bearer_token, json_error};
use jwt_session_token::{RemoteJwks, RemoteJwksOptions, TokenError, TokenKind, TokenSettings};

fn setting(name: &str, default: &str) -> String {
    std::env::var(name).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_owned())
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_ansi(false).init();
    let url = setting("JWKS_URL", "http://127.0.0.1:8080/.well-known/jwks.json");
    let settings = TokenSettings::new(
        setting("TOKEN_ISSUER", "jwt-todo-app"),
        setting("TOKEN_AUDIENCE", "jwt-todo-client"),
    );
    let listen = setting("LISTEN_ADDR", "127.0.0.1:8081");

    let jwks = RemoteJwks::new(&url, settings, RemoteJwksOptions::default())
        .map_err(|e| std::io::Error::other(format!("JWKS_URL {url:?}: {e}")))?;
    let jwks = web::Data::new(jwks);
    let server = HttpServer::new(move || {
        App::new().app_data(jwks.clone()).route("/whoami", web::get().to(whoami))
    })
    .bind(&listen)?;
    for addr in server.addrs() {
        tracing::info!(%addr, jwks = %url, "listening");
    }
    server.run().await
}

/// `GET /whoami`: the verified subject and session of the Bearer token.
async fn whoami(req: HttpRequest, jwks: web::Data<RemoteJwks>) -> HttpResponse {
    let token = match bearer_token(req.headers()) {
        Ok(Some(token)) => token,
        Ok(None) => return json_error(StatusCode::UNAUTHORIZED, "missing token"),
        Err(_) => return json_error(StatusCode::UNAUTHORIZED, "invalid token"),
    };
    match jwks.verify(token, TokenKind::Access).await {
        Ok(claims) => {
            HttpResponse::Ok().json(serde_json::json!({ "sub": claims.sub, "sid": claims.sid }))
        }
        Err(TokenError::JwksUnavailable(cause)) => {
            tracing::error!(error = %cause, "no JWKS keys yet; refusing the request");
            json_error(StatusCode::SERVICE_UNAVAILABLE, "keys unavailable")
        }
        Err(cause) => {
            tracing::debug!(error = %cause, "token refused");
            json_error(StatusCode::UNAUTHORIZED, "invalid token")
        }
    }
}
