use actix_web::cookie::time::Duration;
use actix_web::cookie::{Cookie, SameSite};

/// Name of the cookie carrying the access token.
pub const ACCESS_COOKIE: &str = "access_token";
/// Name of the cookie carrying the refresh token.
pub const REFRESH_COOKIE: &str = "refresh_token";

/// The attributes of the token cookies.
///
/// Token cookies are always `HttpOnly`: no script of the page can read them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CookiePolicy {
    /// Send the cookies over HTTPS only. Default: `true`.
    pub secure: bool,
    /// `SameSite` attribute. Default: `Lax`.
    pub same_site: SameSite,
    /// `Path` attribute. Default: `/`.
    pub path: String,
    /// `Domain` attribute; none (host-only cookies) by default.
    pub domain: Option<String>,
}

impl Default for CookiePolicy {
    fn default() -> Self {
        Self { secure: true, same_site: SameSite::Lax, path: "/".to_owned(), domain: None }
    }
}

impl CookiePolicy {
    /// A cookie carrying `value` for `max_age_secs` seconds.
    pub fn token_cookie(
        &self,
        name: &'static str,
        value: String,
        max_age_secs: u64,
    ) -> Cookie<'static> {
        let max_age = Duration::seconds(i64::try_from(max_age_secs).unwrap_or(i64::MAX));
        self.build(name, value, max_age)
    }

    /// A cookie that clears `name`: empty value, `Max-Age=0`, same attributes.
    pub fn removal(&self, name: &'static str) -> Cookie<'static> {
        self.build(name, String::new(), Duration::ZERO)
    }

    fn build(&self, name: &'static str, value: String, max_age: Duration) -> Cookie<'static> {
        let mut cookie = Cookie::build(name, value)
            .path(self.path.clone())
            .http_only(true)
            .secure(self.secure)
            .same_site(self.same_site)
            .max_age(max_age)
            .finish();
        if let Some(domain) = &self.domain {
            cookie.set_domain(domain.clone());
        }
        cookie
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_cookie_has_the_reference_attributes() {
        let cookie = CookiePolicy::default().token_cookie(ACCESS_COOKIE, "t".into(), 900);
        assert_eq!(
            cookie.to_string(),
            "access_token=t; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=900"
        );
    }

    #[test]
    fn removal_cookie_is_empty_with_max_age_zero() {
        let cookie = CookiePolicy::default().removal(REFRESH_COOKIE);
        assert_eq!(
            cookie.to_string(),
            "refresh_token=; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=0"
        );
    }
}
