//! The web page (`web/` at the root of the repository), embedded in the
//! binary and served at `/` when `web.enabled` is set (the default in
//! development).
//!
//! Only the four fixed files are served, from memory, so no request path ever
//! reaches the file system. Each answer carries its content type, `nosniff`
//! and, on the page, a Content-Security-Policy that allows scripts, styles
//! and requests to this origin only (no inline script, no other site).

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpResponse};

/// One embedded file.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
}

static ASSETS: [Asset; 4] = [
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_str!("../../../web/index.html"),
    },
    Asset {
        path: "/app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../../web/app.js"),
    },
    Asset {
        path: "/style.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../../web/style.css"),
    },
    Asset {
        path: "/favicon.svg",
        content_type: "image/svg+xml",
        body: include_str!("../../../web/favicon.svg"),
    },
];

/// The page's policy: its own scripts, styles, images and API calls only.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// Adds the page's routes (GET and HEAD) to `config`.
pub(crate) fn routes(config: &mut web::ServiceConfig) {
    for asset in &ASSETS {
        let answer = move || async move { respond(asset) };
        config.service(
            web::resource(asset.path)
                .route(web::get().to(answer))
                .route(web::head().to(answer))
                .default_service(web::to(crate::routes::method_not_allowed("GET, HEAD"))),
        );
    }
}

fn respond(asset: &'static Asset) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    response
        .content_type(asset.content_type)
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        .insert_header((header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")));
    if asset.content_type.starts_with("text/html") {
        response
            .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
            .insert_header((header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
            .insert_header(("Cross-Origin-Opener-Policy", "same-origin"));
    }
    response.body(asset.body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{test as actix_test, App};

    #[actix_web::test]
    async fn each_file_has_its_content_type_and_the_page_a_strict_policy() {
        let app = actix_test::init_service(App::new().configure(routes)).await;
        for (path, content_type) in [
            ("/", "text/html; charset=utf-8"),
            ("/app.js", "text/javascript; charset=utf-8"),
            ("/style.css", "text/css; charset=utf-8"),
            ("/favicon.svg", "image/svg+xml"),
        ] {
            let response = actix_test::call_service(
                &app,
                actix_test::TestRequest::get().uri(path).to_request(),
            )
            .await;
            assert_eq!(response.status(), 200, "{path}");
            let headers = response.headers();
            assert_eq!(headers.get(header::CONTENT_TYPE).unwrap(), content_type, "{path}");
            assert_eq!(headers.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(), "nosniff");
            let policy = headers.get(header::CONTENT_SECURITY_POLICY);
            assert_eq!(policy.is_some(), path == "/", "{path}");
        }
    }

    #[actix_web::test]
    async fn other_paths_and_methods_are_not_served() {
        let app = actix_test::init_service(App::new().configure(routes)).await;
        for path in ["/index.html", "/../Cargo.toml", "/%2e%2e/Cargo.toml", "/web/app.js"] {
            let response = actix_test::call_service(
                &app,
                actix_test::TestRequest::get().uri(path).to_request(),
            )
            .await;
            assert_eq!(response.status(), 404, "{path}");
        }
        let response =
            actix_test::call_service(&app, actix_test::TestRequest::post().uri("/").to_request())
                .await;
        assert_eq!(response.status(), 405);
        assert_eq!(response.headers().get(header::ALLOW).unwrap(), "GET, HEAD");
    }

    #[test]
    fn the_page_loads_no_inline_script_and_nothing_from_another_site() {
        let page = ASSETS[0].body;
        assert!(page.contains(r#"<script src="app.js" defer></script>"#));
        assert_eq!(page.matches("<script").count(), 1, "one external script only");
        assert!(!page.contains("style="), "no inline style");
        assert!(!page.contains("http://") && !page.contains("https://"));
        assert!(!ASSETS[1].body.contains("innerHTML"), "user data goes in with textContent");
    }
}
