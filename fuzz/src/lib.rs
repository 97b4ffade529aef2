//! The body of the `token_parser` fuzz target, kept apart from libFuzzer so
//! that the stable test `fuzz_corpus` (in the tests/ crate) runs the very
//! same code over the seed corpus.
//!
//! One input is tried four ways:
//!
//! 1. as a compact token, verified as an access and as a refresh token: it
//!    must be refused, since nobody signed it;
//! 2. split at its first newline into header and claims JSON that are then
//!    signed with the right key, so the parsers behind the signature check
//!    get arbitrary input too: whatever is accepted must satisfy every rule
//!    of verification;
//! 3. as an `Authorization` header value and
//! 4. as a `Cookie` header value, through the middleware's extraction.
//!
//! None may panic.

use std::sync::OnceLock;

use actix_web::http::header::{HeaderMap, HeaderValue, AUTHORIZATION, COOKIE};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jws::{JwsSigner, HS256};
use jwt_session_actix::{access_token, bearer_token};
use jwt_session_token::{Claims, TokenKeys, TokenKind, TokenService, TokenSettings};

const ACCESS_SECRET: &[u8] = b"fuzz-access-secret-fuzz-access-secret";
const REFRESH_SECRET: &[u8] = b"fuzz-refresh-secret-fuzz-refresh-secret";
/// The fixed "now" of every verification, so runs are reproducible.
pub const NOW: u64 = 1_800_000_000;
const LEEWAY: u64 = 30;

/// The verifier under test; its size limit is raised to 64 KiB so that deep
/// or long JSON reaches the parsers instead of the length check.
pub fn service() -> &'static TokenService {
    static SERVICE: OnceLock<TokenService> = OnceLock::new();
    SERVICE.get_or_init(|| {
        let keys = TokenKeys::hs256(ACCESS_SECRET, REFRESH_SECRET).expect("fuzz keys are valid");
        let settings = TokenSettings {
            max_token_bytes: 1 << 16,
            leeway_secs: LEEWAY,
            ..TokenSettings::new("jwt-todo-app", "jwt-todo-client")
        };
        TokenService::new(settings, keys).expect("fuzz settings are valid")
    })
}

/// Runs one input the four ways; panics only on a broken rule.
pub fn token_parser(data: &[u8]) {
    let tokens = service();

    if let Ok(text) = std::str::from_utf8(data) {
        for kind in [TokenKind::Access, TokenKind::Refresh] {
            assert!(tokens.verify_at(text, kind, NOW).is_err(), "an unsigned input was accepted");
        }
    }

    let (header, claims) = match data.iter().position(|b| *b == b'\n') {
        Some(newline) => (&data[..newline], &data[newline + 1..]),
        None => (&br#"{"alg":"HS256","typ":"at+jwt"}"#[..], data),
    };
    let token = sign(header, claims);
    if let Ok(claims) = tokens.verify_at(&token, TokenKind::Access, NOW) {
        check_accepted(&claims, header);
    }

    if let Ok(value) = HeaderValue::from_bytes(data) {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, value.clone());
        if let Ok(Some(credential)) = bearer_token(&headers) {
            assert!(!credential.is_empty() && !credential.contains(' '), "bad credential");
            assert!(tokens.verify_at(credential, TokenKind::Access, NOW).is_err());
        }
        let req = actix_web::test::TestRequest::default()
            .insert_header((COOKIE, value.clone()))
            .insert_header((AUTHORIZATION, value))
            .to_http_request();
        if let Ok((token, _)) = access_token(&req) {
            assert!(tokens.verify_at(&token, TokenKind::Access, NOW).is_err());
        }
    }
}

/// Signs exact header and claims bytes with the access key.
pub fn sign(header: &[u8], claims: &[u8]) -> String {
    let signer = HS256.signer_from_bytes(ACCESS_SECRET).expect("the key is valid");
    let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(claims));
    let signature = signer.sign(input.as_bytes()).expect("HMAC does not fail");
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// What verification promises about every token it accepts.
fn check_accepted(claims: &Claims, header: &[u8]) {
    if let Ok(serde_json::Value::Object(header)) = serde_json::from_slice(header) {
        assert_eq!(header.get("alg").and_then(|a| a.as_str()), Some("HS256"), "alg");
        assert!(!header.contains_key("crit") && !header.contains_key("zip"), "crit or zip");
    }
    assert!(NOW < claims.exp.saturating_add(LEEWAY), "expired token accepted");
    assert!(claims.iat <= NOW + LEEWAY, "future iat accepted");
    assert!(claims.nbf.is_none_or(|nbf| nbf <= NOW + LEEWAY), "future nbf accepted");
    assert_eq!(claims.iss, "jwt-todo-app");
    assert!(claims.aud.iter().any(|aud| aud == "jwt-todo-client"), "wrong audience accepted");
    for id in [&claims.sub, &claims.jti, &claims.sid] {
        assert!(!id.is_empty(), "empty sub, jti or sid accepted");
    }
}
