//! Routes, CORS, cross-site request checks, body limits and request logs,
//! wired into one actix `App`.

use std::time::Instant;

use actix_cors::{Cors, CorsError};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Service, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::http::{header, Method};
use actix_web::{guard, web, App, Error};
use jwt_session_actix::{json_error, CrossSiteGuard, JwtAuth};
use tracing::Instrument;

use crate::errors::ApiError;
use crate::routes::{self, auth, sessions, todos};
use crate::startup::AppState;

/// Everything one worker needs to build its `App`.
#[derive(Clone, Debug)]
pub(crate) struct AppConfig {
    pub(crate) state: AppState,
    pub(crate) frontend_origin: String,
    pub(crate) max_body_bytes: usize,
    pub(crate) require_origin: bool,
    /// Serve the web page at `/` (`web.enabled`).
    pub(crate) serve_web: bool,
}

pub(crate) fn build(
    config: AppConfig,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = Error,
        InitError = (),
    >,
> {
    let auth = JwtAuth::new(config.state.tokens.clone(), config.state.store.clone());
    let cors = Cors::default()
        .allowed_origin(&config.frontend_origin)
        .allowed_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allowed_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
        .supports_credentials()
        .max_age(3600);
    let cross_site =
        CrossSiteGuard::new([config.frontend_origin.clone()]).require_origin(config.require_origin);
    let serve_web = config.serve_web;
    let query = web::QueryConfig::default().error_handler(|_, _| {
        ApiError::InvalidField("offset and limit must be whole numbers, each given at most once")
            .into()
    });

    App::new()
        .app_data(web::Data::new(config.state))
        .app_data(web::PayloadConfig::new(config.max_body_bytes))
        .app_data(query)
        .wrap(cross_site)
        .wrap(cors)
        .wrap_fn(|req, srv| {
            let started = Instant::now();
            let request_id = request_id(req.headers());
            let span = tracing::info_span!("request", request_id = %request_id);
            let method = req.method().clone();
            let path = loggable_path(req.path());
            let response = span.in_scope(|| srv.call(req));
            async move {
                let response = response.await;
                let (status, route) = match &response {
                    Ok(res) => (res.status(), res.request().match_pattern()),
                    Err(error) => (error.as_response_error().status_code(), None),
                };
                let status = status.as_u16();
                let route = route.as_deref().unwrap_or("unmatched");
                let elapsed = started.elapsed().as_secs_f64();
                crate::metrics::request(method.as_str(), route, status, elapsed);
                let latency_ms = elapsed * 1000.0;
                tracing::info!(%method, path, route, status, latency_ms, "request");
                // The routes and middleware here answer errors as responses,
                // so every answer carries the id; the header is added here.
                response.map(|res| {
                    let mut res = cors_refusal_as_json(res);
                    let headers = res.headers_mut();
                    if let Ok(value) = HeaderValue::from_str(&request_id) {
                        headers.insert(REQUEST_ID.clone(), value);
                    }
                    protect_from_caches_and_sniffing(headers);
                    res
                })
            }
            .instrument(span)
        })
        .service(resource("/login", "POST").route(web::post().to(auth::login)))
        .service(resource("/register", "POST").route(web::post().to(auth::register)))
        .service(resource("/token/refresh", "POST").route(web::post().to(auth::refresh)))
        .service(resource("/healthz", "GET, HEAD").route(get_or_head().to(routes::healthz)))
        .service(resource("/readyz", "GET, HEAD").route(get_or_head().to(routes::readyz)))
        .service(
            resource("/openapi.json", "GET, HEAD")
                .route(get_or_head().to(crate::openapi::openapi_json)),
        )
        .service(
            resource("/.well-known/jwks.json", "GET, HEAD").route(get_or_head().to(routes::jwks)),
        )
        .service(resource("/todo", "POST").wrap(auth.clone()).route(web::post().to(todos::create)))
        .service(
            resource("/todos", "GET, HEAD").wrap(auth.clone()).route(get_or_head().to(todos::list)),
        )
        .service(
            resource("/todos/{id}", "GET, HEAD, PATCH, DELETE")
                .wrap(auth.clone())
                .route(get_or_head().to(todos::get))
                .route(web::patch().to(todos::change))
                .route(web::delete().to(todos::delete)),
        )
        .service(resource("/logout", "POST").wrap(auth.clone()).route(web::post().to(auth::logout)))
        .service(
            resource("/logout/others", "POST")
                .wrap(auth.clone())
                .route(web::post().to(sessions::logout_others)),
        )
        .service(
            resource("/logout/all", "POST")
                .wrap(auth.clone())
                .route(web::post().to(sessions::logout_all)),
        )
        .service(
            resource("/me", "GET, HEAD").wrap(auth.clone()).route(get_or_head().to(sessions::me)),
        )
        .service(
            resource("/sessions", "GET, HEAD")
                .wrap(auth.clone())
                .route(get_or_head().to(sessions::list)),
        )
        .service(
            resource("/sessions/{id}", "DELETE").wrap(auth).route(web::delete().to(sessions::end)),
        )
        .configure(|routes| {
            if serve_web {
                crate::web::routes(routes);
            }
        })
        .default_service(web::to(routes::not_found))
}

/// actix-cors refuses a preflight (or a request with an unreadable `Origin`)
/// with a plain-text 400; this gives it the JSON body every other error has.
fn cors_refusal_as_json<B>(res: ServiceResponse<B>) -> ServiceResponse<EitherBody<B>> {
    let refusal = res.response().error().and_then(|error| error.as_error::<CorsError>());
    let message = match refusal {
        None => return res.map_into_left_body(),
        Some(CorsError::OriginNotAllowed) => "cors: origin not allowed",
        Some(CorsError::MethodNotAllowed | CorsError::BadRequestMethod) => {
            "cors: method not allowed"
        }
        Some(CorsError::HeadersNotAllowed | CorsError::BadRequestHeaders) => {
            "cors: request headers not allowed"
        }
        Some(_) => "cors: invalid preflight request",
    };
    let status = res.status();
    res.into_response(json_error(status, message)).map_into_right_body()
}

/// Answers hold a user's own data (todos, sessions, tokens): no shared or
/// browser cache may keep them unless a route said otherwise (the JWKS is
/// public), and no browser may read them as anything but their type.
fn protect_from_caches_and_sniffing(headers: &mut HeaderMap) {
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// The header that carries a request's id, in and out.
pub(crate) static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest incoming request id kept, in bytes.
const MAX_REQUEST_ID_BYTES: usize = 128;

/// The caller's `X-Request-Id` when it is 1 to 128 letters, digits or
/// `-_.:`; otherwise a new UUID. Anything else could forge log lines or
/// headers, so it is dropped, not echoed.
/// The request path as the log line carries it: cut after 200 characters
/// (marked with `…`), so that a client's long path cannot make long lines.
fn loggable_path(path: &str) -> String {
    const MAX_CHARS: usize = 200;
    match path.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}…", &path[..cut]),
        None => path.to_owned(),
    }
}

fn request_id(headers: &HeaderMap) -> String {
    let valid = |id: &&str| {
        !id.is_empty()
            && id.len() <= MAX_REQUEST_ID_BYTES
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
    };
    headers
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(valid)
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned)
}

/// A route for GET that answers HEAD too, as RFC 9110 asks of every GET
/// resource; actix-web sends a HEAD answer's headers without its body.
fn get_or_head() -> actix_web::Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// A resource whose other methods answer 405 JSON, with `allow` (the methods
/// its routes take) in the `Allow` header.
fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(routes::method_not_allowed(allow)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_id(id: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID.clone(), HeaderValue::from_str(id).unwrap());
        headers
    }

    #[test]
    fn a_long_path_is_cut_in_the_log_on_a_character_boundary() {
        assert_eq!(loggable_path("/todos"), "/todos");
        let long = format!("/{}", "é".repeat(300));
        let logged = loggable_path(&long);
        assert_eq!(logged.chars().count(), 201);
        assert!(logged.ends_with('…'));
    }

    #[test]
    fn a_well_formed_request_id_is_kept() {
        assert_eq!(request_id(&with_id("abc-123_x.y:z")), "abc-123_x.y:z");
    }

    #[test]
    fn a_request_id_with_other_characters_or_too_long_is_replaced_by_a_uuid() {
        for bad in ["a b", "a\"b", "x".repeat(129).as_str(), ""] {
            let id = request_id(&with_id(bad));
            assert!(uuid::Uuid::parse_str(&id).is_ok(), "{bad:?} gave {id:?}");
        }
        assert!(uuid::Uuid::parse_str(&request_id(&HeaderMap::new())).is_ok());
    }
}
