//! What command-line tools need from the crate: weak HMAC secrets for
//! verification only (or, deliberately, for signing), private key export as
//! PEM and JWK, and signing any header and payload.

// Test code: a panic is how a failed step reports itself.
#![allow(clippy::unwrap_used)]

use jwt_session_token::{unverified, Algorithm, JwsKey, KeySet, TokenError};
use serde_json::{json, Map, Value};

const KNOWN_GOOD: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdXRob3JpemVkIjp0cnVlLCJ1c2VyX2lkIjo3fQ.bK73DLHVXVmtLXBYwl_TVLVf21OEJ0bzfZHXRbiAboA";

const ASYMMETRIC: [Algorithm; 10] = [
    Algorithm::Rs256,
    Algorithm::Rs384,
    Algorithm::Rs512,
    Algorithm::Ps256,
    Algorithm::Ps384,
    Algorithm::Ps512,
    Algorithm::Es256,
    Algorithm::Es384,
    Algorithm::Es512,
    Algorithm::EdDsa,
];

#[test]
fn a_weak_secret_verifies_but_cannot_sign() {
    assert!(matches!(
        JwsKey::hmac(Algorithm::Hs256, b"my-secret-key"),
        Err(TokenError::WeakKey { len: 13, min: 32 })
    ));
    let key = JwsKey::hmac_verify_only(Algorithm::Hs256, b"my-secret-key").unwrap();
    assert!(!key.can_sign());
    assert!(matches!(key.sign(b"x"), Err(TokenError::NoSigningKey)));
    assert!(matches!(KeySet::new(key), Err(TokenError::NoSigningKey)));

    let set =
        KeySet::verify_only(
            [JwsKey::hmac_verify_only(Algorithm::Hs256, b"my-secret-key").unwrap()],
        )
        .unwrap();
    assert_eq!(set.verify_compact(KNOWN_GOOD).unwrap(), br#"{"authorized":true,"user_id":7}"#);

    let other =
        KeySet::verify_only(
            [JwsKey::hmac_verify_only(Algorithm::Hs256, b"my-secret-kez").unwrap()],
        )
        .unwrap();
    assert!(matches!(other.verify_compact(KNOWN_GOOD), Err(TokenError::BadSignature)));
}

#[test]
fn weak_paths_still_refuse_empty_and_pem_secrets() {
    for build in [JwsKey::hmac_verify_only, JwsKey::insecure_weak_hmac] {
        assert!(matches!(build(Algorithm::Hs256, b""), Err(TokenError::WeakKey { .. })));
        assert!(matches!(
            build(Algorithm::Hs256, b"-----BEGIN PUBLIC KEY-----\n"),
            Err(TokenError::KeyMismatch { .. })
        ));
        assert!(matches!(build(Algorithm::Rs256, b"secret"), Err(TokenError::KeyMismatch { .. })));
    }
}

#[test]
fn the_insecure_weak_hmac_key_reproduces_the_known_good_token() {
    let key = JwsKey::insecure_weak_hmac(Algorithm::Hs256, b"my-secret-key").unwrap();
    let header = json!({"typ": "JWT"}).as_object().unwrap().clone();
    let token = key.sign_compact(&header, br#"{"authorized":true,"user_id":7}"#).unwrap();
    assert_eq!(token, KNOWN_GOOD);
}

#[test]
fn sign_compact_writes_the_keys_alg_and_refuses_another() {
    let key = JwsKey::generate(Algorithm::Es256).unwrap().with_kid("k1");
    let header: Map<String, Value> =
        json!({"typ": "JWT", "kid": "k1"}).as_object().unwrap().clone();
    let token = key.sign_compact(&header, b"{}").unwrap();
    let decoded = unverified::decode(&token).unwrap();
    assert_eq!(Value::Object(decoded.header), json!({"alg": "ES256", "typ": "JWT", "kid": "k1"}));
    assert!(KeySet::new(key).unwrap().verify_compact(&token).is_ok());

    let key = JwsKey::generate(Algorithm::Es256).unwrap();
    let lying = json!({"alg": "HS256"}).as_object().unwrap().clone();
    assert!(matches!(key.sign_compact(&lying, b"{}"), Err(TokenError::WrongAlgorithm)));
}

#[test]
fn exported_private_keys_load_back_as_the_same_key_pair() {
    for alg in ASYMMETRIC {
        let key = JwsKey::generate(alg).unwrap().with_kid("exported");
        let signed = key.sign_compact(&Map::new(), b"payload").unwrap();

        let pem = key.private_key_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{alg}");
        let from_pem = JwsKey::from_pem(alg, pem.as_bytes()).unwrap();
        assert!(from_pem.can_sign(), "{alg}");
        assert_eq!(from_pem.thumbprint(), key.thumbprint(), "{alg}");

        let jwk: Value = serde_json::from_str(&key.private_jwk().unwrap()).unwrap();
        assert_eq!(
            (&jwk["kid"], &jwk["alg"], &jwk["use"]),
            (&json!("exported"), &json!(alg.as_str()), &json!("sig"))
        );
        assert!(jwk.get("d").is_some(), "{alg}");
        let from_jwk = JwsKey::from_jwk(&jwk, None).unwrap();
        assert!(from_jwk.can_sign(), "{alg}");
        let resigned = from_jwk.sign_compact(&Map::new(), b"payload").unwrap();

        let set =
            KeySet::verify_only([JwsKey::from_der(alg, key.public_key_der().unwrap()).unwrap()])
                .unwrap();
        assert!(set.verify_compact(&signed).is_ok(), "{alg}");
        assert!(set.verify_compact(&resigned).is_ok(), "{alg}");
    }
}

#[test]
fn keys_without_exportable_private_parts_refuse_export() {
    let hmac = JwsKey::generate(Algorithm::Hs256).unwrap();
    assert!(matches!(hmac.private_key_pem(), Err(TokenError::NoSigningKey)));
    assert!(matches!(hmac.private_jwk(), Err(TokenError::NoSigningKey)));

    let private = JwsKey::generate(Algorithm::EdDsa).unwrap();
    let public = JwsKey::from_der(Algorithm::EdDsa, private.public_key_der().unwrap()).unwrap();
    assert!(matches!(public.private_key_pem(), Err(TokenError::NoSigningKey)));
    assert!(matches!(public.private_jwk(), Err(TokenError::NoSigningKey)));
}
