use actix_web::http::header::{HeaderMap, AUTHORIZATION};
use actix_web::HttpRequest;
use jwt_session_token::TokenError;

use crate::cookies::ACCESS_COOKIE;
use crate::AuthError;

/// Where a request's access token came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenSource {
    /// The `access_token` cookie.
    Cookie,
    /// An `Authorization: Bearer` header (RFC 6750).
    Bearer,
}

/// Takes the access token from the `access_token` cookie, else from the
/// `Authorization: Bearer` header, as the reference does.
///
/// A request that carries both must carry the same token in both: RFC 6750
/// (section 2) forbids a client to send a token by more than one method, and
/// two different credentials leave it open whose request this is (a cookie
/// planted by a sibling site must not override the caller's own header).
/// The same token twice is accepted, as coming from the cookie.
///
/// # Errors
///
/// [`AuthError::MissingToken`] when neither carries one;
/// [`AuthError::InvalidToken`] for a header that is not exactly one
/// well-formed Bearer credential, or a cookie and a Bearer header that
/// disagree.
pub fn access_token(req: &HttpRequest) -> Result<(String, TokenSource), AuthError> {
    let bearer = bearer_token(req.headers())?;
    let Some(cookie) = single_cookie(req, ACCESS_COOKIE)? else {
        return bearer.map(|t| (t.to_owned(), TokenSource::Bearer)).ok_or(AuthError::MissingToken);
    };
    if bearer.is_some_and(|token| token != cookie) {
        let why = "cookie and Authorization header carry different tokens";
        return Err(AuthError::InvalidToken(TokenError::Malformed(why)));
    }
    Ok((cookie, TokenSource::Cookie))
}

/// The value of the cookie `name`, if the request sends it, non-empty.
///
/// A cookie sent twice with different values (one planted by a sibling
/// domain or for a narrower path, say) is ambiguous and refused, as two
/// `Authorization` headers are.
///
/// # Errors
///
/// [`AuthError::InvalidToken`] when the request carries `name` twice with
/// different values.
pub fn single_cookie(req: &HttpRequest, name: &str) -> Result<Option<String>, AuthError> {
    let Ok(cookies) = req.cookies() else {
        return Ok(None);
    };
    let mut values =
        cookies.iter().filter(|c| c.name() == name && !c.value().is_empty()).map(|c| c.value());
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.any(|other| other != first) {
        let why = "the cookie is sent twice with different values";
        return Err(AuthError::InvalidToken(TokenError::Malformed(why)));
    }
    Ok(Some(first.to_owned()))
}

/// The credential of an `Authorization: Bearer <token>` header.
///
/// The scheme matches in any letter case; exactly one space separates it from
/// the token, which must be an RFC 6750 `b64token`. Another scheme (`Basic`)
/// means no Bearer token: `Ok(None)`.
///
/// # Errors
///
/// [`AuthError::InvalidToken`] for two `Authorization` headers, a value that
/// is not visible ASCII, or a Bearer credential that is empty or has stray
/// spaces or characters.
pub fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, AuthError> {
    let invalid = |why| AuthError::InvalidToken(TokenError::Malformed(why));

    let mut values = headers.get_all(AUTHORIZATION);
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(invalid("more than one Authorization header"));
    }
    let value = value.to_str().map_err(|_| invalid("Authorization header is not visible ASCII"))?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(None);
    }
    if !is_b64token(token) {
        return Err(invalid("Bearer credential is not a single b64token"));
    }
    Ok(Some(token))
}

/// `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty() && body.bytes().all(|b| B64TOKEN_CHARS[usize::from(b)])
}

/// The characters of a b64token before its padding, as a table: every
/// protected request runs each byte of its token through it.
const B64TOKEN_CHARS: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] =
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        byte += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn bearer_scheme_matches_in_any_case() {
        for value in ["Bearer a.b.c", "bearer a.b.c", "BEARER a.b.c"] {
            assert_eq!(bearer_token(&headers(&[value])).unwrap(), Some("a.b.c"), "{value}");
        }
    }

    #[test]
    fn stray_spaces_empty_credentials_and_odd_characters_are_invalid() {
        for value in
            ["Bearer  a.b.c", "Bearer a.b.c ", "Bearer ", "Bearer", "Bearer a b", "Bearer a,b"]
        {
            let map = headers(&[value]);
            let refused = bearer_token(&map);
            assert!(matches!(refused, Err(AuthError::InvalidToken(_))), "{value:?}");
        }
    }

    #[test]
    fn an_access_cookie_sent_twice_with_different_values_is_invalid() {
        let req = actix_web::test::TestRequest::get()
            .insert_header(("Cookie", "access_token=a.b.c; access_token=d.e.f"))
            .to_http_request();
        assert!(matches!(access_token(&req), Err(AuthError::InvalidToken(_))));
        let same = actix_web::test::TestRequest::get()
            .insert_header(("Cookie", "access_token=a.b.c; access_token=a.b.c"))
            .to_http_request();
        assert_eq!(access_token(&same).unwrap(), ("a.b.c".to_owned(), TokenSource::Cookie));
    }

    #[test]
    fn two_authorization_headers_are_invalid() {
        let map = headers(&["Bearer a.b.c", "Bearer d.e.f"]);
        let refused = bearer_token(&map);
        assert!(matches!(refused, Err(AuthError::InvalidToken(_))));
    }

    fn request(cookie: Option<&str>, authorization: Option<&str>) -> HttpRequest {
        let mut req = actix_web::test::TestRequest::default();
        if let Some(value) = cookie {
            req = req.cookie(actix_web::cookie::Cookie::new(ACCESS_COOKIE, value.to_owned()));
        }
        if let Some(value) = authorization {
            req = req.insert_header((AUTHORIZATION, value));
        }
        req.to_http_request()
    }

    #[test]
    fn cookie_and_bearer_header_that_disagree_are_invalid() {
        let refused = access_token(&request(Some("a.b.c"), Some("Bearer d.e.f")));
        assert!(matches!(refused, Err(AuthError::InvalidToken(_))));
        let refused = access_token(&request(Some("a.b.c"), Some("Bearer  a.b.c")));
        assert!(
            matches!(refused, Err(AuthError::InvalidToken(_))),
            "malformed header beside a cookie"
        );
    }

    #[test]
    fn the_same_token_in_cookie_and_header_counts_as_the_cookie() {
        let found = access_token(&request(Some("a.b.c"), Some("Bearer a.b.c"))).unwrap();
        assert_eq!(found, ("a.b.c".to_owned(), TokenSource::Cookie));
        let found = access_token(&request(Some("a.b.c"), Some("Basic dXNlcjpwYXNz"))).unwrap();
        assert_eq!(found, ("a.b.c".to_owned(), TokenSource::Cookie));
        let found = access_token(&request(None, Some("Bearer a.b.c"))).unwrap();
        assert_eq!(found, ("a.b.c".to_owned(), TokenSource::Bearer));
        assert!(matches!(access_token(&request(None, None)), Err(AuthError::MissingToken)));
    }

    #[test]
    fn other_schemes_and_no_header_carry_no_bearer_token() {
        assert_eq!(bearer_token(&headers(&["Basic dXNlcjpwYXNz"])).unwrap(), None);
        assert_eq!(bearer_token(&headers(&[])).unwrap(), None);
    }
}
