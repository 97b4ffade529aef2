//! Criterion benchmarks of the token crate's hot paths (issue 8).
//!
//! - `issue_pair/<alg>`: [`TokenService::issue_pair`] with the access key of
//!   `<alg>` (the refresh key is HS256 throughout, as in the server).
//! - `verify_access/<alg>`: one access token verified by
//!   - `ours`: [`TokenService::verify`], every check included;
//!   - `josekit`: josekit's own decode path (`jwt::decode_with_verifier`
//!     and a `JwtPayloadValidator` for `exp`, `iss`, `aud`), for the record;
//!   - `jsonwebtoken`: the `jsonwebtoken` crate (RustCrypto backend) with
//!     the same claim checks (`exp` with the same leeway, `iss`, `aud`) and
//!     the same claims struct;
//!   - for RS256, ES256 and EdDSA, `signature_only`: OpenSSL checking the
//!     signature alone (the JOSE `r || s` turned into DER for ES256) with a
//!     key parsed once, as the lower bound of any verify path on OpenSSL;
//!   - for HS256 only, the floors: splitting the token, base64url-decoding
//!     its three parts, HMAC-SHA256 over the signing input, a constant-time
//!     compare and serde parsing the claims into the same struct, nothing
//!     else. `floor` keeps a pre-keyed HMAC state and clones it (RustCrypto
//!     `hmac`, the fastest way to compute the MAC here); `floor_keyed_per_call`
//!     keys it per call, as most libraries do; `floor_openssl` uses OpenSSL's
//!     HMAC (`PKey::hmac` and a `Signer` per call), as josekit does.
//!
//! `scripts/bench-tokens` runs this and prints the table with the ratios.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use criterion::{criterion_group, criterion_main, Criterion};
use hmac::{Hmac, KeyInit, Mac};
use josekit::jws::{EdDSA, JwsVerifier, ES256, HS256, RS256};
use josekit::jwt::JwtPayloadValidator;
use jwt_session_token::{
    new_id, Algorithm, JwsKey, KeySet, TokenKeys, TokenKind, TokenService, TokenSettings,
};
use serde::Deserialize;
use sha2::Sha256;
use subtle::ConstantTimeEq;

const ISSUER: &str = "bench-issuer";
const AUDIENCE: &str = "bench-audience";
const SUBJECT: &str = "user-4242";
/// A fixed 32-byte HS256 secret (benchmarks only).
const SECRET: &[u8; 32] = b"0123456789abcdef0123456789abcdef";
const REFRESH_SECRET: &[u8; 32] = b"fedcba9876543210fedcba9876543210";

/// The claims every verifier parses the token into: the registered claims
/// this crate writes (the same shape as `jwt_session_token::Claims`).
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct BenchClaims {
    iss: String,
    sub: String,
    aud: Vec<String>,
    jti: String,
    sid: String,
    iat: u64,
    nbf: Option<u64>,
    exp: u64,
}

/// One algorithm's service, token, and the same public key for the other
/// libraries.
struct Case {
    alg: Algorithm,
    service: TokenService,
    token: String,
    /// The public key as PEM (empty for HS256).
    pem: String,
    josekit: Box<dyn JwsVerifier>,
    jwt_key: jsonwebtoken::DecodingKey,
    jwt_alg: jsonwebtoken::Algorithm,
}

fn settings() -> TokenSettings {
    TokenSettings::new(ISSUER, AUDIENCE)
}

fn access_key(alg: Algorithm) -> JwsKey {
    match alg {
        Algorithm::Hs256 => JwsKey::hmac(alg, SECRET).unwrap(),
        _ => JwsKey::generate(alg).unwrap(),
    }
}

fn case(alg: Algorithm) -> Case {
    let key = access_key(alg);
    let pem = key.public_key_pem();
    let public_pem = pem.clone().unwrap_or_default();
    let (josekit, jwt_key, jwt_alg): (Box<dyn JwsVerifier>, _, _) = match alg {
        Algorithm::Hs256 => (
            Box::new(HS256.verifier_from_bytes(SECRET).unwrap()),
            jsonwebtoken::DecodingKey::from_secret(SECRET),
            jsonwebtoken::Algorithm::HS256,
        ),
        Algorithm::Rs256 => {
            let pem = pem.unwrap();
            (
                Box::new(RS256.verifier_from_pem(&pem).unwrap()),
                jsonwebtoken::DecodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
                jsonwebtoken::Algorithm::RS256,
            )
        }
        Algorithm::Es256 => {
            let pem = pem.unwrap();
            (
                Box::new(ES256.verifier_from_pem(&pem).unwrap()),
                jsonwebtoken::DecodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
                jsonwebtoken::Algorithm::ES256,
            )
        }
        Algorithm::EdDsa => {
            let pem = pem.unwrap();
            (
                Box::new(EdDSA.verifier_from_pem(&pem).unwrap()),
                jsonwebtoken::DecodingKey::from_ed_pem(pem.as_bytes()).unwrap(),
                jsonwebtoken::Algorithm::EdDSA,
            )
        }
        other => panic!("no benchmark for {other}"),
    };
    let refresh = KeySet::new(JwsKey::hmac(Algorithm::Hs256, REFRESH_SECRET).unwrap()).unwrap();
    let keys = TokenKeys::from_key_sets(KeySet::new(key).unwrap(), refresh).unwrap();
    let service = TokenService::new(settings(), keys).unwrap();
    let token = service.issue_pair(SUBJECT, &new_id()).unwrap().access.token;
    Case { alg, service, token, pem: public_pem, josekit, jwt_key, jwt_alg }
}

fn jwt_validation(alg: jsonwebtoken::Algorithm) -> jsonwebtoken::Validation {
    let mut validation = jsonwebtoken::Validation::new(alg);
    validation.leeway = 30;
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation
}

fn josekit_verify(case: &Case) -> josekit::jwt::JwtPayload {
    let (payload, _header) =
        josekit::jwt::decode_with_verifier(&case.token, case.josekit.as_ref()).unwrap();
    let mut validator = JwtPayloadValidator::new();
    validator.set_base_time(SystemTime::now());
    validator.set_issuer(ISSUER);
    validator.set_audience(AUDIENCE);
    validator.validate(&payload).unwrap();
    payload
}

fn issue_pair(c: &mut Criterion) {
    let mut group = c.benchmark_group("issue_pair");
    for alg in [Algorithm::Hs256, Algorithm::Rs256, Algorithm::Es256, Algorithm::EdDsa] {
        let case = case(alg);
        let session = new_id();
        group.bench_function(alg.as_str(), |b| {
            b.iter(|| case.service.issue_pair(black_box(SUBJECT), black_box(&session)).unwrap())
        });
    }
    group.finish();
}

fn verify_access(c: &mut Criterion) {
    for alg in [Algorithm::Hs256, Algorithm::Rs256, Algorithm::Es256, Algorithm::EdDsa] {
        let case = case(alg);
        let validation = jwt_validation(case.jwt_alg);
        // Every contender accepts the token before it is timed.
        case.service.verify(&case.token, TokenKind::Access).unwrap();
        josekit_verify(&case);
        jsonwebtoken::decode::<BenchClaims>(&case.token, &case.jwt_key, &validation).unwrap();

        let mut group = c.benchmark_group(format!("verify_access/{}", case.alg));
        group.bench_function("ours", |b| {
            b.iter(|| case.service.verify(black_box(&case.token), TokenKind::Access).unwrap())
        });
        group.bench_function("jsonwebtoken", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<BenchClaims>(
                    black_box(&case.token),
                    &case.jwt_key,
                    &validation,
                )
                .unwrap()
            })
        });
        group.bench_function("josekit", |b| b.iter(|| josekit_verify(black_box(&case))));
        if alg == Algorithm::Hs256 {
            floors(&mut group, &case.token);
        } else {
            signature_only(&mut group, &case);
        }
        group.finish();
    }
}

/// The HS256 floors: nothing but splitting, base64url decoding, the MAC, a
/// constant-time compare and parsing the claims.
fn floors(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    token: &str,
) {
    let prekeyed = Hmac::<Sha256>::new_from_slice(SECRET).unwrap();
    let check = |token: &str, mac: &dyn Fn(&[u8]) -> [u8; 32]| -> BenchClaims {
        let (signing_input, signature) = token.rsplit_once('.').unwrap();
        let (header, payload) = signing_input.split_once('.').unwrap();
        let header = URL_SAFE_NO_PAD.decode(header).unwrap();
        black_box(&header);
        let payload = URL_SAFE_NO_PAD.decode(payload).unwrap();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        let expected = mac(signing_input.as_bytes());
        assert!(bool::from(expected.as_slice().ct_eq(&signature)));
        serde_json::from_slice(&payload).unwrap()
    };
    for claims in [
        check(token, &|input| {
            let mut mac = prekeyed.clone();
            mac.update(input);
            mac.finalize().into_bytes().into()
        }),
        check(token, &|input| openssl_hmac(input)),
    ] {
        assert_eq!(claims.sub, SUBJECT);
    }

    group.bench_function("floor", |b| {
        b.iter(|| {
            check(black_box(token), &|input| {
                let mut mac = prekeyed.clone();
                mac.update(input);
                mac.finalize().into_bytes().into()
            })
        })
    });
    group.bench_function("floor_keyed_per_call", |b| {
        b.iter(|| {
            check(black_box(token), &|input| {
                let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).unwrap();
                mac.update(input);
                mac.finalize().into_bytes().into()
            })
        })
    });
    group.bench_function("floor_openssl", |b| {
        b.iter(|| check(black_box(token), &|input| openssl_hmac(input)))
    });
}

/// OpenSSL checking the signature alone, with the public key parsed once.
fn signature_only(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    case: &Case,
) {
    use openssl::ecdsa::EcdsaSig;
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::sign::Verifier;

    let (signing_input, signature) = case.token.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let key = PKey::public_key_from_pem(case.pem.as_bytes()).unwrap();
    let alg = case.alg;
    let check = |signing_input: &str, signature: &[u8]| -> bool {
        match alg {
            Algorithm::EdDsa => Verifier::new_without_digest(&key)
                .unwrap()
                .verify_oneshot(signature, signing_input.as_bytes())
                .unwrap(),
            Algorithm::Es256 => {
                let (r, s) = signature.split_at(32);
                let der = EcdsaSig::from_private_components(
                    openssl::bn::BigNum::from_slice(r).unwrap(),
                    openssl::bn::BigNum::from_slice(s).unwrap(),
                )
                .unwrap()
                .to_der()
                .unwrap();
                let mut verifier = Verifier::new(MessageDigest::sha256(), &key).unwrap();
                verifier.update(signing_input.as_bytes()).unwrap();
                verifier.verify(&der).unwrap()
            }
            _ => {
                let mut verifier = Verifier::new(MessageDigest::sha256(), &key).unwrap();
                verifier.update(signing_input.as_bytes()).unwrap();
                verifier.verify(signature).unwrap()
            }
        }
    };
    assert!(check(signing_input, &signature));
    group.bench_function("signature_only", |b| {
        b.iter(|| assert!(check(black_box(signing_input), black_box(&signature))))
    });
}

fn openssl_hmac(input: &[u8]) -> [u8; 32] {
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::sign::Signer;
    thread_local! {
        static KEY: PKey<openssl::pkey::Private> = PKey::hmac(SECRET).unwrap();
    }
    KEY.with(|key| {
        let mut signer = Signer::new(MessageDigest::sha256(), key).unwrap();
        signer.update(input).unwrap();
        let mut out = [0u8; 32];
        signer.sign(&mut out).unwrap();
        out
    })
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(60)
}

criterion_group! {
    name = benches;
    config = config();
    targets = issue_pair, verify_access
}
criterion_main!(benches);
