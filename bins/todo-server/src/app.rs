//! Routes, CORS, cross-site request checks, body limits and request logs,
//! wired into one actix `App`.

use std::time::Instant;

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::{web, App, Error};
use jwt_session_actix::{CrossSiteGuard, JwtAuth};

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
    let query = web::QueryConfig::default().error_handler(|_, _| {
        ApiError::InvalidField("offset and limit must be whole numbers").into()
    });

    App::new()
        .app_data(web::Data::new(config.state))
        .app_data(web::PayloadConfig::new(config.max_body_bytes))
        .app_data(query)
        .wrap(cross_site)
        .wrap(cors)
        .wrap_fn(|req, srv| {
            let started = Instant::now();
            let method = req.method().clone();
            let path = req.path().to_owned();
            let response = srv.call(req);
            async move {
                let response = response.await;
                let status = match &response {
                    Ok(res) => res.status(),
                    Err(error) => error.as_response_error().status_code(),
                };
                let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
                tracing::info!(%method, path, status = status.as_u16(), latency_ms, "request");
                response
            }
        })
        .service(resource("/login").route(web::post().to(auth::login)))
        .service(resource("/register").route(web::post().to(auth::register)))
        .service(resource("/token/refresh").route(web::post().to(auth::refresh)))
        .service(resource("/healthz").route(web::get().to(routes::healthz)))
        .service(resource("/readyz").route(web::get().to(routes::readyz)))
        .service(resource("/openapi.json").route(web::get().to(crate::openapi::openapi_json)))
        .service(resource("/.well-known/jwks.json").route(web::get().to(routes::jwks)))
        .service(resource("/todo").wrap(auth.clone()).route(web::post().to(todos::create)))
        .service(resource("/todos").wrap(auth.clone()).route(web::get().to(todos::list)))
        .service(
            resource("/todos/{id}")
                .wrap(auth.clone())
                .route(web::get().to(todos::get))
                .route(web::patch().to(todos::change))
                .route(web::delete().to(todos::delete)),
        )
        .service(resource("/logout").wrap(auth.clone()).route(web::post().to(auth::logout)))
        .service(
            resource("/logout/others")
                .wrap(auth.clone())
                .route(web::post().to(sessions::logout_others)),
        )
        .service(
            resource("/logout/all").wrap(auth.clone()).route(web::post().to(sessions::logout_all)),
        )
        .service(resource("/sessions").wrap(auth.clone()).route(web::get().to(sessions::list)))
        .service(resource("/sessions/{id}").wrap(auth).route(web::delete().to(sessions::end)))
        .default_service(web::to(routes::not_found))
}

/// A resource whose other methods answer 405 JSON.
fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(routes::method_not_allowed))
}
