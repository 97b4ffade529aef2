use std::future::{ready, Ready};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::EitherBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{AUTHORIZATION, HOST, ORIGIN, REFERER};
use actix_web::http::{Method, StatusCode, Uri};
use actix_web::Error;

use crate::cookies::{ACCESS_COOKIE, REFRESH_COOKIE};
use crate::error::json_error;
use crate::extract::bearer_token;
use crate::log_rate::LogRate;

/// The warn lines of refused requests, shared by every worker.
static CROSS_SITE_REFUSALS: LogRate = LogRate::every_second();

/// Middleware that refuses cross-site requests.
///
/// A request with an unsafe method (anything but GET, HEAD, OPTIONS, TRACE)
/// whose `Origin` header (or, lacking one, the origin of its `Referer`) names
/// neither an allowed origin nor the server's own gets 403
/// `{"error":"cross-site request refused"}` and never reaches a handler. This
/// covers requests without cookies too: a cross-site form must not log a
/// victim into the attacker's account (login CSRF). Requests with a Bearer
/// header are exempt: a cross-site page cannot set one without a CORS
/// preflight.
///
/// A request with neither `Origin` nor `Referer` passes, unless it carries a
/// token cookie and [`require_origin`](Self::require_origin) is set: browsers
/// send `Origin` on every cross-site unsafe request, and clients that send
/// neither (curl, server-to-server) cannot be driven by another site.
///
/// The server's own origin is the request's `Host` with the scheme of the
/// listener; `Forwarded` and `X-Forwarded-*` headers are not trusted.
#[derive(Clone, Debug)]
pub struct CrossSiteGuard {
    allowed: Arc<Vec<String>>,
    require_origin: bool,
}

impl CrossSiteGuard {
    /// Allows `allowed_origins` (each `scheme://host[:port]`) besides the
    /// server's own.
    pub fn new<I, S>(allowed_origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let allowed = allowed_origins
            .into_iter()
            .map(|o| o.into().trim_end_matches('/').to_owned())
            .collect();
        Self { allowed: Arc::new(allowed), require_origin: false }
    }

    /// Also refuses cookie-authenticated unsafe requests without `Origin` and
    /// `Referer`.
    pub fn require_origin(mut self, required: bool) -> Self {
        self.require_origin = required;
        self
    }

    /// Why `req` is refused, if it is.
    fn refusal(&self, req: &ServiceRequest) -> Option<String> {
        let safe = [Method::GET, Method::HEAD, Method::OPTIONS, Method::TRACE];
        if safe.contains(req.method()) {
            return None;
        }
        if matches!(bearer_token(req.headers()), Ok(Some(_))) {
            return None;
        }
        let by_cookie = req.cookie(ACCESS_COOKIE).is_some() || req.cookie(REFRESH_COOKIE).is_some();
        // A browser sends one of each; with two, which one counts would be
        // a guess, so neither does.
        for name in [ORIGIN, REFERER] {
            if req.headers().get_all(&name).nth(1).is_some() {
                return Some(format!("more than one {name} header"));
            }
        }
        let origin = match req.headers().get(ORIGIN) {
            Some(origin) => Some(origin.to_str().unwrap_or("<not ascii>").to_owned()),
            None => req.headers().get(REFERER).map(|referer| {
                referer
                    .to_str()
                    .ok()
                    .and_then(origin_of)
                    .unwrap_or_else(|| "<unparsable referer>".to_owned())
            }),
        };
        let Some(origin) = origin else {
            return (by_cookie && self.require_origin).then(|| "no Origin or Referer".to_owned());
        };
        let scheme = if req.app_config().secure() { "https" } else { "http" };
        let host = req.headers().get(HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
        // Without a Host (HTTP/1.0) the server has no origin of its own to
        // match; only the allowed origins pass.
        let own = (!host.is_empty()).then(|| format!("{scheme}://{host}"));
        if own.as_deref() == Some(origin.as_str()) || self.allowed.contains(&origin) {
            None
        } else {
            Some(origin)
        }
    }
}

/// `scheme://authority` of a URL.
fn origin_of(url: &str) -> Option<String> {
    let uri: Uri = url.parse().ok()?;
    Some(format!("{}://{}", uri.scheme_str()?, uri.authority()?))
}

impl<Svc, B: 'static> Transform<Svc, ServiceRequest> for CrossSiteGuard
where
    Svc: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Transform = CrossSiteGuardMiddleware<Svc>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: Svc) -> Self::Future {
        ready(Ok(CrossSiteGuardMiddleware { service: Rc::new(service), guard: self.clone() }))
    }
}

/// The service [`CrossSiteGuard`] wraps around the app.
#[derive(Debug)]
pub struct CrossSiteGuardMiddleware<Svc> {
    service: Rc<Svc>,
    guard: CrossSiteGuard,
}

impl<Svc, B: 'static> Service<ServiceRequest> for CrossSiteGuardMiddleware<Svc>
where
    Svc: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error> + 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = Error;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>>>>;

    actix_web::dev::forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        if let Some(origin) = self.guard.refusal(&req) {
            let origin: String = origin.chars().take(120).collect();
            let path = req.path();
            let has_authorization = req.headers().contains_key(AUTHORIZATION);
            // Any page on the web can send these: at most one warn line a
            // second, counting the others.
            match CROSS_SITE_REFUSALS.admit(Instant::now()) {
                Some(suppressed) => tracing::warn!(
                    path,
                    origin,
                    has_authorization,
                    suppressed,
                    "cross-site request refused"
                ),
                None => {
                    tracing::debug!(path, origin, has_authorization, "cross-site request refused")
                }
            }
            let response = json_error(StatusCode::FORBIDDEN, "cross-site request refused");
            return Box::pin(ready(Ok(req.into_response(response).map_into_right_body())));
        }
        let service = self.service.clone();
        Box::pin(async move { service.call(req).await.map(ServiceResponse::map_into_left_body) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::cookie::Cookie;
    use actix_web::test::TestRequest;

    fn guard() -> CrossSiteGuard {
        CrossSiteGuard::new(["https://app.example"])
    }

    fn cookie_post() -> TestRequest {
        TestRequest::post()
            .uri("/todo")
            .insert_header(("Host", "api.example"))
            .cookie(Cookie::new(ACCESS_COOKIE, "t"))
    }

    #[test]
    fn a_cookie_post_from_another_site_is_refused() {
        let req = cookie_post().insert_header(("Origin", "https://evil.example")).to_srv_request();
        assert_eq!(guard().refusal(&req).as_deref(), Some("https://evil.example"));
        let req = cookie_post().insert_header(("Origin", "null")).to_srv_request();
        assert!(guard().refusal(&req).is_some());
    }

    #[test]
    fn two_origin_or_referer_headers_are_refused_in_either_order() {
        for (first, second) in [
            ("https://evil.example", "https://app.example"),
            ("https://app.example", "https://evil.example"),
        ] {
            let req = cookie_post()
                .append_header(("Origin", first))
                .append_header(("Origin", second))
                .to_srv_request();
            assert_eq!(guard().refusal(&req).as_deref(), Some("more than one origin header"));
            let req = cookie_post()
                .append_header(("Referer", format!("{first}/page")))
                .append_header(("Referer", format!("{second}/page")))
                .to_srv_request();
            assert_eq!(guard().refusal(&req).as_deref(), Some("more than one referer header"));
        }
    }

    #[test]
    fn a_cookie_post_from_an_allowed_or_the_own_origin_passes() {
        let req = cookie_post().insert_header(("Origin", "https://app.example")).to_srv_request();
        assert_eq!(guard().refusal(&req), None);
        let req = cookie_post().insert_header(("Origin", "http://api.example")).to_srv_request();
        assert_eq!(guard().refusal(&req), None);
    }

    #[test]
    fn without_a_host_only_the_allowed_origins_pass() {
        let no_host = || TestRequest::post().uri("/todo").cookie(Cookie::new(ACCESS_COOKIE, "t"));
        let req = no_host().insert_header(("Origin", "http://")).to_srv_request();
        assert_eq!(guard().refusal(&req).as_deref(), Some("http://"));
        let req = no_host().insert_header(("Origin", "https://app.example")).to_srv_request();
        assert_eq!(guard().refusal(&req), None);
    }

    #[test]
    fn referer_stands_in_for_a_missing_origin() {
        let req = cookie_post()
            .insert_header(("Referer", "https://evil.example/page?x=1"))
            .to_srv_request();
        assert_eq!(guard().refusal(&req).as_deref(), Some("https://evil.example"));
        let req =
            cookie_post().insert_header(("Referer", "https://app.example/todos")).to_srv_request();
        assert_eq!(guard().refusal(&req), None);
    }

    #[test]
    fn bearer_requests_safe_methods_and_requests_without_origin_are_exempt() {
        let bearer = cookie_post()
            .insert_header(("Origin", "https://evil.example"))
            .insert_header(("Authorization", "Bearer a.b.c"))
            .to_srv_request();
        assert_eq!(guard().refusal(&bearer), None);
        let get = TestRequest::get()
            .cookie(Cookie::new(ACCESS_COOKIE, "t"))
            .insert_header(("Origin", "https://evil.example"))
            .to_srv_request();
        assert_eq!(guard().refusal(&get), None);
        let cli = TestRequest::post().to_srv_request();
        assert_eq!(guard().require_origin(true).refusal(&cli), None);
    }

    #[test]
    fn a_cookieless_post_from_another_site_is_refused_too() {
        let login =
            TestRequest::post().insert_header(("Origin", "https://evil.example")).to_srv_request();
        assert!(guard().refusal(&login).is_some());
    }

    #[test]
    fn forwarding_headers_do_not_make_a_foreign_origin_our_own() {
        let req = cookie_post()
            .insert_header(("Origin", "https://evil.example"))
            .insert_header(("X-Forwarded-Host", "evil.example"))
            .insert_header(("X-Forwarded-Proto", "https"))
            .insert_header(("Forwarded", "host=evil.example;proto=https"))
            .to_srv_request();
        assert!(guard().refusal(&req).is_some());
    }

    #[test]
    fn no_origin_and_no_referer_passes_unless_required() {
        let req = cookie_post().to_srv_request();
        assert_eq!(guard().refusal(&req), None);
        let req = cookie_post().to_srv_request();
        assert!(guard().require_origin(true).refusal(&req).is_some());
    }
}
