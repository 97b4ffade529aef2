//! The attack catalogue: known attacks on JWT and session systems, one row
//! each, run against the real `todo-server` over a raw socket and against the
//! `JwtAuth` middleware in process.
//!
//! Every row is a crafted request and the one answer it must get. A token
//! that is forged yet correctly signed with our key is `token revoked`: it
//! passes verification and stops at the store, which never recorded its id.
//! Real acceptance needs a token from a login. `docs/SECURITY.md` lists every
//! row by name; a test below keeps the two in step.

// Test code: a panic is how a failed step reports itself.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{test as actix_test, web, App, HttpResponse};
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;
use e2e::raw::{self, RawAnswer};
use e2e::ServerProcess;
use josekit::jwe::{Dir, JweHeader};
use josekit::jws::{JwsSigner, ES256, ES384, HS256, RS256};
use jwt_session_actix::{Authenticated, JwtAuth};
use jwt_session_store::{AccessGrant, MemoryStore, NewSession, SessionLifetime, SessionStore};
use jwt_session_token::{unix_now, TokenKeys, TokenService, TokenSettings};
use serde_json::{json, Value};

const ACCESS_SECRET: &str = "access-secret-for-the-attack-tests-64-bytes-long-0123456789abcdef";
const REFRESH_SECRET: &str = "refresh-secret-for-the-attack-tests-64-bytes-long-0123456789abcd";
const ATTACKER_SECRET: &str = "the-attackers-own-secret-of-at-least-32-bytes";
const TITLE_BODY: &str = r#"{"title":"t"}"#;

/// What a request must get.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// A 2xx: only for real tokens from a login.
    Accepted,
    /// Exactly this status with `{"error": message}`.
    Refused(u16, &'static str),
    /// Too big for the HTTP layer: 431 or 400, or the connection closed;
    /// a layer that lets it through must refuse it as `invalid token`.
    CutOff,
    /// Bytes HTTP forbids in a header: 400 from the HTTP layer, or
    /// `invalid token` where they get through.
    BadBytes,
    /// Whitespace after a header value: HTTP drops it (RFC 9110, section
    /// 5.5), so the server sees the bare forged token (`token revoked`); the
    /// middleware, handed the raw value, refuses it as `invalid token`.
    Trimmed,
}

const INVALID: Expect = Expect::Refused(401, "invalid token");
/// Correctly signed with our key: passes verification, unknown to the store.
const VERIFIED: Expect = Expect::Refused(401, "token revoked");

/// One attack.
struct Case {
    name: &'static str,
    path: &'static str,
    /// Raw header lines, `name: value`, any bytes.
    headers: Vec<Vec<u8>>,
    body: String,
    expect: Expect,
}

/// The tokens a login handed out, for the rows that need real ones.
struct Login {
    access: String,
    refresh: String,
}

fn now() -> u64 {
    unix_now()
}

fn claims() -> Value {
    let now = now();
    json!({
        "iss": "jwt-todo-app", "aud": ["jwt-todo-client"], "sub": "1",
        "jti": "forged", "sid": "forged-session", "iat": now, "exp": now + 600,
    })
}

fn claims_with(name: &str, value: Value) -> Value {
    let mut claims = claims();
    claims[name] = value;
    claims
}

fn header() -> Value {
    json!({"alg": "HS256", "typ": "at+jwt"})
}

fn header_with(name: &str, value: Value) -> Value {
    let mut header = header();
    header[name] = value;
    header
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Signs exact header and payload bytes (duplicate keys, bad UTF-8 and all).
fn sign_raw(signer: &dyn JwsSigner, header: &[u8], payload: &[u8]) -> String {
    let input = format!("{}.{}", b64(header), b64(payload));
    let signature = signer.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", b64(&signature))
}

fn ours() -> impl JwsSigner {
    HS256.signer_from_bytes(ACCESS_SECRET).unwrap()
}

/// Header and claims as JSON, signed with the access secret.
fn forge(header: &Value, claims: &Value) -> String {
    sign_raw(&ours(), header.to_string().as_bytes(), claims.to_string().as_bytes())
}

/// A token whose header names `alg` and whose signature is `signature`.
fn with_signature(alg: &str, signature: &[u8]) -> String {
    let header = json!({"alg": alg, "typ": "at+jwt"}).to_string();
    format!(
        "{}.{}.{}",
        b64(header.as_bytes()),
        b64(claims().to_string().as_bytes()),
        b64(signature)
    )
}

fn bearer(token: &str) -> Vec<Vec<u8>> {
    vec![format!("Authorization: Bearer {token}").into_bytes()]
}

fn cookie(token: &str) -> Vec<Vec<u8>> {
    vec![format!("Cookie: access_token={token}").into_bytes()]
}

fn line(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Rows whose token goes once as a Bearer header and once as the cookie.
fn both_ways(rows: Vec<(&'static str, String, Expect)>) -> Vec<Case> {
    let mut cases = Vec::new();
    for (name, token, expect) in rows {
        for headers in [bearer(&token), cookie(&token)] {
            cases.push(Case { name, path: "/todo", headers, body: TITLE_BODY.to_owned(), expect });
        }
    }
    cases
}

fn case(name: &'static str, headers: Vec<Vec<u8>>, expect: Expect) -> Case {
    Case { name, path: "/todo", headers, body: TITLE_BODY.to_owned(), expect }
}

/// Every row of the catalogue. `login` supplies real tokens.
fn catalogue(login: &Login) -> Vec<Case> {
    let rsa = RS256.generate_key_pair(2048).unwrap();
    let ec = ES256.generate_key_pair().unwrap();
    let rsa_public_pem = rsa.to_pem_public_key();
    let ec_public_pem = ec.to_pem_public_key();
    let hs_with = |secret: &[u8], header: &Value| {
        let signer = HS256.signer_from_bytes(secret).unwrap();
        sign_raw(&signer, header.to_string().as_bytes(), claims().to_string().as_bytes())
    };
    let attacker = |header: Value| hs_with(ATTACKER_SECRET.as_bytes(), &header);
    let rs_signed = |header: Value| {
        let signer = RS256.signer_from_der(rsa.to_der_private_key()).unwrap();
        sign_raw(&signer, header.to_string().as_bytes(), claims().to_string().as_bytes())
    };
    let valid = forge(&header(), &claims());
    let (valid_input, valid_signature) = valid.rsplit_once('.').unwrap();
    let p256_order = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
    let p256_order: Vec<u8> =
        (0..32).map(|i| u8::from_str_radix(&p256_order[2 * i..2 * i + 2], 16).unwrap()).collect();
    let jwe = {
        let mut header = JweHeader::new();
        header.set_content_encryption("A256GCM");
        header.set_token_type("at+jwt");
        let encrypter = Dir.encrypter_from_bytes(&ACCESS_SECRET.as_bytes()[..32]).unwrap();
        josekit::jwe::serialize_compact(claims().to_string().as_bytes(), &header, &encrypter)
            .unwrap()
    };
    let std_alphabet = {
        // `???>>>` encodes to `/` and `+` in the standard alphabet.
        let header = header_with("x", json!("???>>>")).to_string();
        let input = format!(
            "{}.{}",
            STANDARD_NO_PAD.encode(header.as_bytes()),
            b64(claims().to_string().as_bytes())
        );
        let signature = ours().sign(input.as_bytes()).unwrap();
        format!("{input}.{}", b64(&signature))
    };
    let padded_header = {
        let header = header().to_string();
        let mut encoded = base64::engine::general_purpose::URL_SAFE.encode(header.as_bytes());
        if !encoded.ends_with('=') {
            encoded.push_str("==");
        }
        let input = format!("{encoded}.{}", b64(claims().to_string().as_bytes()));
        format!("{input}.{}", b64(&ours().sign(input.as_bytes()).unwrap()))
    };
    let non_canonical = {
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let last = valid_signature.chars().last().unwrap();
        let sibling = alphabet.chars().nth(alphabet.find(last).unwrap() ^ 1).unwrap();
        format!("{valid_input}.{}{sibling}", &valid_signature[..valid_signature.len() - 1])
    };
    let raw_claims =
        |json: &str| sign_raw(&ours(), header().to_string().as_bytes(), json.as_bytes());
    let now = now();
    let exp = now + 600;
    let nested = |depth: usize| {
        let json = format!(
            r#"{{"iss":"jwt-todo-app","aud":"jwt-todo-client","sub":"1","jti":"j","sid":"s","iat":{now},"exp":{exp},"x":{}{}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        );
        raw_claims(&json)
    };

    let refresh_resigned = {
        let (input, _) = login.refresh.rsplit_once('.').unwrap_or((&login.refresh, ""));
        format!("{input}.{}", b64(&ours().sign(input.as_bytes()).unwrap()))
    };

    let mut rows = vec![
        ("positive control: forged with our key", valid.clone(), VERIFIED),
        // alg none.
        ("alg none without signature", with_signature("none", b""), INVALID),
        ("alg None with signature", with_signature("None", b"signature"), INVALID),
        ("alg NONE without signature", with_signature("NONE", b""), INVALID),
        ("alg nOnE with our MAC", {
            let input = format!("{}.{}", b64(json!({"alg": "nOnE", "typ": "at+jwt"}).to_string().as_bytes()), b64(claims().to_string().as_bytes()));
            format!("{input}.{}", b64(&ours().sign(input.as_bytes()).unwrap()))
        }, INVALID),
        // Algorithm confusion.
        ("HS256 keyed with the RSA public key", hs_with(rsa_public_pem.as_slice(), &header()), INVALID),
        ("RS256 header, HMAC keyed with the RSA public key", hs_with(rsa_public_pem.as_slice(), &json!({"alg": "RS256", "typ": "at+jwt"})), INVALID),
        ("HS256 keyed with the EC public key", hs_with(ec_public_pem.as_slice(), &header()), INVALID),
        ("RS256 signed by an attacker key", rs_signed(json!({"alg": "RS256", "typ": "at+jwt"})), INVALID),
        ("ES256 signed by an attacker key", {
            let signer = ES256.signer_from_der(ec.to_der_private_key()).unwrap();
            sign_raw(&signer, json!({"alg": "ES256", "typ": "at+jwt"}).to_string().as_bytes(), claims().to_string().as_bytes())
        }, INVALID),
        // ECDSA signatures out of range.
        ("ES256 with r = s = 0", with_signature("ES256", &[0; 64]), INVALID),
        ("ES256 with r = s = n", with_signature("ES256", &[p256_order.clone(), p256_order.clone()].concat()), INVALID),
        ("ES256 with r = 0, s = 1", with_signature("ES256", &[[0u8; 32].as_slice(), &[[0u8; 31].as_slice(), &[1]].concat()].concat()), INVALID),
        ("ES256 with r = s = 0 in DER", with_signature("ES256", &[0x30, 6, 2, 1, 0, 2, 1, 0]), INVALID),
        ("ES384 with r = s = 0", with_signature("ES384", &[0; 96]), INVALID),
        ("ES256 with an empty signature", with_signature("ES256", b""), INVALID),
        ("EdDSA with a zero signature", with_signature("EdDSA", &[0; 64]), INVALID),
        ("ES384 signed by an attacker key", {
            let pair = ES384.generate_key_pair().unwrap();
            let signer = ES384.signer_from_der(pair.to_der_private_key()).unwrap();
            sign_raw(&signer, json!({"alg": "ES384", "typ": "at+jwt"}).to_string().as_bytes(), claims().to_string().as_bytes())
        }, INVALID),
        // kid.
        ("kid path traversal, attacker key", attacker(header_with("kid", json!("../../../../../../dev/null"))), INVALID),
        ("kid SQL injection, attacker key", attacker(header_with("kid", json!("x' UNION SELECT 'secret' -- ")), ), INVALID),
        ("kid of 1500 bytes, attacker key", attacker(header_with("kid", json!("k".repeat(1500)))), INVALID),
        ("kid of 4000 bytes, our key", forge(&header_with("kid", json!("k".repeat(4000))), &claims()), INVALID),
        ("kid path traversal, our key (an unknown kid is refused)", forge(&header_with("kid", json!("../../etc/passwd")), &claims()), INVALID),
        // Header-supplied keys.
        ("jwk header with the attacker's RSA key", rs_signed(json!({"alg": "RS256", "typ": "at+jwt", "jwk": serde_json::from_str::<Value>(&rsa.to_jwk_public_key().to_string()).unwrap()})), INVALID),
        ("jwk header with the attacker's HMAC key", attacker(header_with("jwk", json!({"kty": "oct", "k": b64(ATTACKER_SECRET.as_bytes())}))), INVALID),
        ("jku header to an attacker JWKS", rs_signed(json!({"alg": "RS256", "typ": "at+jwt", "jku": "http://127.0.0.1:1/jwks.json"})), INVALID),
        ("x5u header to an attacker certificate", rs_signed(json!({"alg": "RS256", "typ": "at+jwt", "x5u": "http://127.0.0.1:1/cert.pem"})), INVALID),
        ("x5c header with an attacker certificate", rs_signed(json!({"alg": "RS256", "typ": "at+jwt", "x5c": [STANDARD_NO_PAD.encode(rsa.to_der_public_key())]})), INVALID),
        ("jku with HS256 and the attacker secret", attacker(header_with("jku", json!("http://127.0.0.1:1/jwks.json"))), INVALID),
        // Header parameters we refuse.
        ("unknown crit parameter", forge(&json!({"alg": "HS256", "typ": "at+jwt", "crit": ["urn:example:x"], "urn:example:x": 1}), &claims()), INVALID),
        ("empty crit list", forge(&header_with("crit", json!([])), &claims()), INVALID),
        ("zip DEF", forge(&header_with("zip", json!("DEF")), &claims()), INVALID),
        ("typ missing", forge(&json!({"alg": "HS256"}), &claims()), INVALID),
        ("typ JWT", forge(&header_with("typ", json!("JWT")), &claims()), INVALID),
        // Shape.
        ("five-part JWE under our secret", jwe, INVALID),
        ("five parts", format!("{valid}.e30.e30"), INVALID),
        ("four parts", format!("{valid}.e30"), INVALID),
        ("two parts", valid_input.to_owned(), INVALID),
        ("one part", b64(claims().to_string().as_bytes()), INVALID),
        ("empty parts", "..".to_owned(), INVALID),
        ("trailing dot", format!("{valid}."), INVALID),
        ("leading dot", format!(".{valid}"), INVALID),
        ("empty signature", format!("{valid_input}."), INVALID),
        // base64url.
        ("padded signature", format!("{valid}="), INVALID),
        ("padded header, re-signed", padded_header, INVALID),
        ("non-canonical last character", non_canonical, INVALID),
        ("standard base64 alphabet, re-signed", std_alphabet, INVALID),
        // Bytes inside the token.
        ("non-UTF-8 in the header JSON", sign_raw(&ours(), b"{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"x\":\"\xff\xfe\"}", claims().to_string().as_bytes()), INVALID),
        ("control byte in a claim", raw_claims(&format!("{{\"iss\":\"jwt-todo-app\",\"aud\":\"jwt-todo-client\",\"sub\":\"\u{1}\",\"jti\":\"j\",\"sid\":\"s\",\"iat\":{now},\"exp\":{exp}}}")), INVALID),
        ("byte order mark before the header", sign_raw(&ours(), format!("\u{feff}{}", header()).as_bytes(), claims().to_string().as_bytes()), INVALID),
        ("header is a JSON array", sign_raw(&ours(), br#"["HS256"]"#, claims().to_string().as_bytes()), INVALID),
        ("claims are not JSON", raw_claims("not json"), INVALID),
        // Duplicate keys.
        ("duplicate alg, none last", sign_raw(&ours(), br#"{"alg":"HS256","typ":"at+jwt","alg":"none"}"#, claims().to_string().as_bytes()), INVALID),
        ("duplicate typ", sign_raw(&ours(), br#"{"alg":"HS256","typ":"refresh+jwt","typ":"at+jwt"}"#, claims().to_string().as_bytes()), INVALID),
        ("duplicate sub", raw_claims(&format!(r#"{{"iss":"jwt-todo-app","aud":"jwt-todo-client","sub":"1","sub":"2","jti":"j","sid":"s","iat":{now},"exp":{exp}}}"#)), INVALID),
        ("duplicate exp", raw_claims(&format!(r#"{{"iss":"jwt-todo-app","aud":"jwt-todo-client","sub":"1","jti":"j","sid":"s","iat":{now},"exp":1,"exp":{exp}}}"#)), INVALID),
        ("duplicate aud", raw_claims(&format!(r#"{{"iss":"jwt-todo-app","aud":"other","aud":"jwt-todo-client","sub":"1","jti":"j","sid":"s","iat":{now},"exp":{exp}}}"#)), INVALID),
        // Times.
        ("exp as a string", forge(&header(), &claims_with("exp", json!(exp.to_string()))), INVALID),
        ("exp as a float", forge(&header(), &claims_with("exp", json!(exp as f64 + 0.5))), INVALID),
        ("exp as a whole float", raw_claims(&format!(r#"{{"iss":"jwt-todo-app","aud":"jwt-todo-client","sub":"1","jti":"j","sid":"s","iat":{now},"exp":{exp}.0}}"#)), INVALID),
        ("exp negative", forge(&header(), &claims_with("exp", json!(-1))), INVALID),
        ("exp 1e300", forge(&header(), &claims_with("exp", json!(1e300))), INVALID),
        ("exp beyond u64", raw_claims(&format!(r#"{{"iss":"jwt-todo-app","aud":"jwt-todo-client","sub":"1","jti":"j","sid":"s","iat":{now},"exp":18446744073709551616}}"#)), INVALID),
        ("exp null", forge(&header(), &claims_with("exp", Value::Null)), INVALID),
        ("exp in the past", forge(&header(), &claims_with("exp", json!(now - 3600))), INVALID),
        ("exp u64::MAX, our key", forge(&header(), &claims_with("exp", json!(u64::MAX))), VERIFIED),
        ("nbf as a string", forge(&header(), &claims_with("nbf", json!(now.to_string()))), INVALID),
        ("nbf as a float", forge(&header(), &claims_with("nbf", json!(1.5))), INVALID),
        ("nbf negative", forge(&header(), &claims_with("nbf", json!(-1))), INVALID),
        ("nbf in the future", forge(&header(), &claims_with("nbf", json!(now + 3600))), INVALID),
        ("nbf beyond u64", raw_claims(&format!(r#"{{"iss":"jwt-todo-app","aud":"jwt-todo-client","sub":"1","jti":"j","sid":"s","iat":{now},"nbf":99999999999999999999999,"exp":{exp}}}"#)), INVALID),
        ("iat as a string", forge(&header(), &claims_with("iat", json!(now.to_string()))), INVALID),
        ("iat as a float", forge(&header(), &claims_with("iat", json!(now as f64 + 0.25))), INVALID),
        ("iat negative", forge(&header(), &claims_with("iat", json!(-5))), INVALID),
        ("iat huge", forge(&header(), &claims_with("iat", json!(u64::MAX))), INVALID),
        // Audience and issuer.
        ("aud array containing ours among others", forge(&header(), &claims_with("aud", json!(["a", "jwt-todo-client", "b"]))), VERIFIED),
        ("aud array without ours", forge(&header(), &claims_with("aud", json!(["a", "jwt-todo-client-2", "JWT-TITLE_BODY-CLIENT"]))), INVALID),
        ("aud empty array", forge(&header(), &claims_with("aud", json!([]))), INVALID),
        ("aud nested array", forge(&header(), &claims_with("aud", json!([["jwt-todo-client"]]))), INVALID),
        ("aud as a number", forge(&header(), &claims_with("aud", json!(1))), INVALID),
        ("another issuer, same secret", forge(&header(), &claims_with("iss", json!("another-app"))), INVALID),
        ("empty sub", forge(&header(), &claims_with("sub", json!(""))), INVALID),
        // Size and depth.
        ("claims nested 10,000 levels", nested(10_000), INVALID),
        // Within the size limit, a deep unknown member is skipped without
        // recursion: no crash, and the token is as good as its signature.
        ("claims nested 1,000 levels, our key", nested(1_000), VERIFIED),
        ("header nested 1,000 levels, attacker key", sign_raw(&HS256.signer_from_bytes(ATTACKER_SECRET).unwrap(), format!(r#"{{"alg":"HS256","typ":"at+jwt","x":{}{}}}"#, "[".repeat(1_000), "]".repeat(1_000)).as_bytes(), claims().to_string().as_bytes()), INVALID),
        // Real tokens in the wrong place.
        ("refresh token as access token", login.refresh.clone(), INVALID),
        ("refresh token re-signed with the access secret", refresh_resigned, INVALID),
        ("a real access token", login.access.clone(), Expect::Accepted),
    ];
    rows.push((
        "non-UTF-8 in a claim",
        sign_raw(
            &ours(),
            header().to_string().as_bytes(),
            &[
                br#"{"iss":"jwt-todo-app","aud":"jwt-todo-client","sub":""#.as_slice(),
                b"\xc3\x28",
                format!(r#"","jti":"j","sid":"s","iat":{now},"exp":{exp}}}"#).as_bytes(),
            ]
            .concat(),
        ),
        INVALID,
    ));
    let mut cases = both_ways(rows);

    let access = login.access.as_bytes();
    let forged = valid.as_bytes();
    cases.extend([
        // Authorization header forms.
        case(
            "bearer in lowercase",
            vec![line(&[b"Authorization: bearer ", access])],
            Expect::Accepted,
        ),
        case(
            "BEARER in capitals",
            vec![line(&[b"Authorization: BEARER ", access])],
            Expect::Accepted,
        ),
        case("two spaces after Bearer", vec![line(&[b"Authorization: Bearer  ", access])], INVALID),
        case(
            "trailing space after the token",
            vec![line(&[b"Authorization: Bearer ", forged, b" \t"])],
            Expect::Trimmed,
        ),
        case(
            "tab instead of a space",
            vec![line(&[b"Authorization: Bearer\t", access])],
            Expect::Refused(401, "missing token"),
        ),
        case("Bearer without a token", vec![b"Authorization: Bearer".to_vec()], INVALID),
        case(
            "two Authorization headers",
            vec![
                line(&[b"Authorization: Bearer ", access]),
                line(&[b"Authorization: Bearer ", access]),
            ],
            INVALID,
        ),
        case(
            "comma-joined credentials",
            vec![line(&[b"Authorization: Bearer ", access, b", Bearer ", access])],
            INVALID,
        ),
        case(
            "Basic scheme only",
            vec![b"Authorization: Basic dXNlcjpwYXNz".to_vec()],
            Expect::Refused(401, "missing token"),
        ),
        case("no credentials at all", vec![], Expect::Refused(401, "missing token")),
        case(
            "empty access cookie",
            vec![b"Cookie: access_token=".to_vec()],
            Expect::Refused(401, "missing token"),
        ),
        // Raw bytes HTTP forbids.
        case(
            "non-UTF-8 byte after a Bearer token",
            vec![line(&[b"Authorization: Bearer ", forged, b"\xff"])],
            Expect::BadBytes,
        ),
        case(
            "non-UTF-8 byte in the cookie",
            vec![line(&[b"Cookie: access_token=", forged, b"\xfe"])],
            Expect::Refused(401, "missing token"),
        ),
        case(
            "control byte in the Bearer header",
            vec![line(&[b"Authorization: Bearer \x01", forged])],
            Expect::BadBytes,
        ),
        case(
            "NUL byte in the cookie",
            vec![line(&[b"Cookie: access_token=\x00", forged])],
            Expect::BadBytes,
        ),
        // Sizes.
        case(
            "a 1 MB cookie",
            vec![line(&[b"Cookie: access_token=", "a".repeat(1 << 20).as_bytes()])],
            Expect::CutOff,
        ),
        case(
            "a 1 MB Bearer header",
            vec![line(&[b"Authorization: Bearer ", "a".repeat(1 << 20).as_bytes()])],
            Expect::CutOff,
        ),
        // Cookie and header together.
        case(
            "cookie and Bearer header that disagree",
            vec![
                line(&[b"Cookie: access_token=", access]),
                line(&[b"Authorization: Bearer ", forged]),
            ],
            INVALID,
        ),
        case(
            "forged cookie beside the real Bearer header",
            vec![
                line(&[b"Cookie: access_token=", forged]),
                line(&[b"Authorization: Bearer ", access]),
            ],
            INVALID,
        ),
        case(
            "cookie and Bearer header that agree",
            vec![
                line(&[b"Cookie: access_token=", access]),
                line(&[b"Authorization: Bearer ", access]),
            ],
            Expect::Accepted,
        ),
        // Refresh route.
        Case {
            name: "access token as refresh token",
            path: "/token/refresh",
            headers: vec![line(&[b"Cookie: refresh_token=", access])],
            body: String::new(),
            expect: Expect::Refused(401, "invalid refresh token"),
        },
        Case {
            name: "forged refresh token under the access secret",
            path: "/token/refresh",
            headers: vec![line(&[
                b"Cookie: refresh_token=",
                forge(&json!({"alg": "HS256", "typ": "refresh+jwt"}), &claims()).as_bytes(),
            ])],
            body: String::new(),
            expect: Expect::Refused(401, "invalid refresh token"),
        },
        // Bodies.
        Case {
            name: "login body nested 10,000 levels",
            path: "/login",
            headers: vec![],
            body: "[".repeat(10_000),
            expect: Expect::Refused(422, "invalid json"),
        },
        Case {
            name: "login body of 64 KB",
            path: "/login",
            headers: vec![],
            body: format!(r#"{{"username":"{}","password":"p"}}"#, "u".repeat(64 << 10)),
            expect: Expect::Refused(413, "request body too large"),
        },
    ]);
    cases
}

/// Checks one answer; `Err` says what was wrong.
fn check(expect: Expect, status: Option<u16>, body: &Value) -> Result<(), String> {
    let invalid = json!({"error": "invalid token"});
    let ok = match (expect, status) {
        (_, Some(s)) if s >= 500 => false,
        (Expect::Accepted, Some(s)) => (200..300).contains(&s),
        (Expect::Refused(want, message), Some(s)) => {
            s == want && *body == json!({ "error": message })
        }
        (Expect::CutOff, None) => true,
        (Expect::CutOff, Some(s)) => s == 431 || s == 400 || (s == 401 && *body == invalid),
        (Expect::BadBytes, Some(s)) => s == 400 || (s == 401 && *body == invalid),
        (Expect::Trimmed, Some(s)) => {
            s == 401 && (*body == invalid || *body == json!({"error": "token revoked"}))
        }
        (_, None) => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("expected {expect:?}, got {status:?} {body}"))
    }
}

async fn login(server: &ServerProcess) -> Login {
    let http = e2e::Http::new(server);
    let credentials = json!({"username": "user", "password": "pass"});
    let answer = http.post("/login", &credentials, &e2e::CookieJar::default()).await;
    assert_eq!(answer.status, 200, "login: {}", answer.body);
    Login {
        access: answer.cookie("access_token").value.clone(),
        refresh: answer.cookie("refresh_token").value.clone(),
    }
}

#[tokio::test]
async fn every_attack_gets_its_answer_from_the_real_server() {
    let server = ServerProcess::start(&[
        ("APP_ENV", "development"),
        ("ACCESS_SECRET", ACCESS_SECRET),
        ("REFRESH_SECRET", REFRESH_SECRET),
    ]);
    let login = login(&server).await;
    let cases = catalogue(&login);
    let addr = server.addr().to_owned();

    let failures = tokio::task::spawn_blocking(move || {
        let mut failures = Vec::new();
        for case in &cases {
            let answer = raw::post(&addr, case.path, &case.headers, &case.body);
            let (status, body) = match &answer {
                RawAnswer::Response { status, body } => (Some(*status), body.clone()),
                RawAnswer::Closed(_) => (None, Value::Null),
            };
            if let Err(why) = check(case.expect, status, &body) {
                failures.push(format!("{} ({}): {why}", case.name, case.path));
            }
        }
        let health =
            raw::exchange(&addr, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assert_eq!(health.status(), Some(200), "the server stopped serving");
        failures
    })
    .await
    .unwrap();

    assert!(failures.is_empty(), "{} rows failed:\n{}", failures.len(), failures.join("\n"));
    assert!(!server.logs().contains("panicked"), "the server panicked:\n{}", server.logs());
}

async fn todo(caller: Authenticated) -> HttpResponse {
    HttpResponse::Created().json(json!({ "user_id": caller.subject() }))
}

/// The same rows against `JwtAuth` in process: no HTTP parser in front, so
/// the middleware itself meets every byte the test client can put in a
/// header. Rows for other routes, and bytes a header value cannot hold at
/// all, belong to the server test only.
#[actix_web::test]
async fn every_attack_gets_its_answer_from_the_middleware() {
    let keys = TokenKeys::hs256(ACCESS_SECRET.as_bytes(), REFRESH_SECRET.as_bytes()).unwrap();
    let tokens = Arc::new(
        TokenService::new(TokenSettings::new("jwt-todo-app", "jwt-todo-client"), keys).unwrap(),
    );
    let store = MemoryStore::new();
    let pair = tokens.issue_pair("1", "session-1").unwrap();
    store
        .start(&NewSession {
            subject: "1",
            sid: "session-1",
            device: "test",
            ip: "127.0.0.1",
            now: unix_now(),
            access: AccessGrant {
                jti: &pair.access.claims.jti,
                expires_at: tokens.retain_until(&pair.access.claims),
            },
            refresh_jti: &pair.refresh.claims.jti,
            lifetime: SessionLifetime { idle_secs: 3600, absolute_secs: 86_400 },
            max_sessions: None,
        })
        .await
        .unwrap();
    let login = Login { access: pair.access.token, refresh: pair.refresh.token };
    let app = actix_test::init_service(App::new().service(
        web::resource("/todo").wrap(JwtAuth::new(tokens, store)).route(web::post().to(todo)),
    ))
    .await;

    let mut failures = Vec::new();
    let mut ran = 0;
    'cases: for case in catalogue(&login).iter().filter(|c| c.path == "/todo") {
        let mut req = actix_test::TestRequest::post().uri("/todo").set_payload(case.body.clone());
        for line in &case.headers {
            let colon = line.iter().position(|b| *b == b':').unwrap();
            let name = HeaderName::from_bytes(&line[..colon]).unwrap();
            let value = line[colon + 1..].strip_prefix(b" ").unwrap_or(&line[colon + 1..]);
            let Ok(value) = HeaderValue::from_bytes(value) else {
                continue 'cases;
            };
            req = req.append_header((name, value));
        }
        let res = actix_test::call_service(&app, req.to_request()).await;
        let status = res.status().as_u16();
        let body: Value =
            serde_json::from_slice(&actix_test::read_body(res).await).unwrap_or_default();
        ran += 1;
        if let Err(why) = check(case.expect, Some(status), &body) {
            failures.push(format!("{}: {why}", case.name));
        }
    }

    assert!(ran > 150, "only {ran} rows reached the middleware");
    assert!(failures.is_empty(), "{} rows failed:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn security_md_lists_every_row_of_the_catalogue() {
    let path = e2e::workspace_root().join("docs/SECURITY.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let login = Login { access: "a.b.c".to_owned(), refresh: "d.e.f".to_owned() };
    let missing: Vec<&str> = catalogue(&login)
        .iter()
        .map(|case| case.name)
        .filter(|name| !doc.contains(&format!("`{name}`")))
        .collect();
    assert!(missing.is_empty(), "docs/SECURITY.md does not list: {missing:#?}");
}
