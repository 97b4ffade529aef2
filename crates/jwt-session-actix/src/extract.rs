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
/// # Errors
///
/// [`AuthError::MissingToken`] when neither carries one;
/// [`AuthError::InvalidToken`] for a header that is not exactly one
/// well-formed Bearer credential.
pub fn access_token(req: &HttpRequest) -> Result<(String, TokenSource), AuthError> {
    if let Some(cookie) = req.cookie(ACCESS_COOKIE).filter(|c| !c.value().is_empty()) {
        return Ok((cookie.value().to_owned(), TokenSource::Cookie));
    }
    match bearer_token(req.headers())? {
        Some(token) => Ok((token.to_owned(), TokenSource::Bearer)),
        None => Err(AuthError::MissingToken),
    }
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
    !body.is_empty() && body.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

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
    fn two_authorization_headers_are_invalid() {
        let map = headers(&["Bearer a.b.c", "Bearer d.e.f"]);
        let refused = bearer_token(&map);
        assert!(matches!(refused, Err(AuthError::InvalidToken(_))));
    }

    #[test]
    fn other_schemes_and_no_header_carry_no_bearer_token() {
        assert_eq!(bearer_token(&headers(&["Basic dXNlcjpwYXNz"])).unwrap(), None);
        assert_eq!(bearer_token(&headers(&[])).unwrap(), None);
    }
}
