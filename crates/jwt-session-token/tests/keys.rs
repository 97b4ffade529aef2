//! Asymmetric keys, key sets, rotation, JWKS publishing and consuming,
//! algorithm confusion and custom claims, through the public API only.

// Test code: a panic is how a failed step reports itself.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jws::{JwsSigner, HS256};
use jwt_session_token::{
    Algorithm, JwksVerifier, JwsKey, KeySet, TokenError, TokenKeys, TokenKind, TokenService,
    TokenSettings,
};
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

const NOW: u64 = 1_800_000_000;

fn settings() -> TokenSettings {
    TokenSettings::new("issuer", "audience")
}

fn service(access: JwsKey, refresh: JwsKey) -> TokenService {
    let keys =
        TokenKeys::from_key_sets(KeySet::new(access).unwrap(), KeySet::new(refresh).unwrap());
    TokenService::new(settings(), keys.unwrap()).unwrap()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn header_of(token: &str) -> Value {
    let part = token.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

fn access_claims() -> Value {
    json!({"iss": "issuer", "aud": "audience", "sub": "1", "jti": "j", "sid": "s",
           "iat": NOW, "exp": NOW + 60})
}

/// A compact JWS over `header` and `claims` with a raw HMAC-SHA256 secret.
fn hs256_with_secret(secret: &[u8], header: &Value, claims: &Value) -> String {
    let input =
        format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let signature = HS256.signer_from_bytes(secret).unwrap().sign(input.as_bytes()).unwrap();
    format!("{input}.{}", b64(&signature))
}

/// A compact JWS over `header` and `claims` signed by `key`.
fn signed_by(key: &JwsKey, header: &Value, claims: &Value) -> String {
    let input =
        format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    format!("{input}.{}", b64(&key.sign(input.as_bytes()).unwrap()))
}

#[test]
fn every_algorithm_issues_tokens_that_verify_and_carry_the_kid() {
    for alg in Algorithm::ALL {
        let key = JwsKey::generate(alg).unwrap().with_kid(format!("{alg}-1"));
        let tokens = service(key, JwsKey::generate(alg).unwrap());

        let pair = tokens.issue_pair_at("user", "session", NOW).unwrap();
        let claims = tokens.verify_at(&pair.access.token, TokenKind::Access, NOW);

        assert_eq!(claims.unwrap().sub, "user", "{alg}");
        assert!(tokens.verify_at(&pair.refresh.token, TokenKind::Refresh, NOW).is_ok(), "{alg}");
        let header = header_of(&pair.access.token);
        assert_eq!(
            header,
            json!({"alg": alg.as_str(), "typ": "at+jwt", "kid": format!("{alg}-1")})
        );
    }
}

#[test]
fn private_pem_signs_and_public_pem_only_verifies() {
    let private_keys = [
        (Algorithm::Rs256, PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap()),
        (Algorithm::Ps384, PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap()),
        (Algorithm::Es384, {
            let group = EcGroup::from_curve_name(Nid::SECP384R1).unwrap();
            PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
        }),
        (Algorithm::EdDsa, PKey::generate_ed25519().unwrap()),
    ];
    for (alg, private) in private_keys {
        let signer = JwsKey::from_pem(alg, &private.private_key_to_pem_pkcs8().unwrap()).unwrap();
        let public_pem = private.public_key_to_pem().unwrap();
        let verifier = JwsKey::from_pem(alg, &public_pem).unwrap();

        assert!(signer.can_sign() && !verifier.can_sign(), "{alg}");
        assert_eq!(signer.kid(), verifier.kid(), "{alg}: both get the thumbprint");
        let signature = signer.sign(b"input").unwrap();
        assert!(verifier.verify(b"input", &signature).is_ok(), "{alg}");
        assert!(matches!(verifier.sign(b"input"), Err(TokenError::NoSigningKey)), "{alg}");
        assert_eq!(verifier.public_key_pem().unwrap().as_bytes(), public_pem.as_slice());
    }
}

#[test]
fn traditional_rsa_pem_forms_are_read() {
    let rsa = Rsa::generate(2048).unwrap();
    let signer = JwsKey::from_pem(Algorithm::Rs512, &rsa.private_key_to_pem().unwrap()).unwrap();
    let verifier =
        JwsKey::from_pem(Algorithm::Rs512, &rsa.public_key_to_pem_pkcs1().unwrap()).unwrap();
    assert!(verifier.verify(b"x", &signer.sign(b"x").unwrap()).is_ok());
}

#[test]
fn rsa_under_2048_bits_is_refused_from_pem_der_and_jwk() {
    let rsa = Rsa::generate(1024).unwrap();
    let from_pem = JwsKey::from_pem(Algorithm::Rs256, &rsa.private_key_to_pem().unwrap());
    let from_der = JwsKey::from_der(Algorithm::Ps256, &rsa.public_key_to_der().unwrap());
    let jwk = json!({"kty": "RSA", "n": b64(&rsa.n().to_vec()), "e": b64(&rsa.e().to_vec())});
    let from_jwk = JwsKey::from_jwk(&jwk, Some(Algorithm::Rs256));

    for refused in [from_pem, from_der, from_jwk] {
        let err = refused.unwrap_err();
        assert!(matches!(err, TokenError::WeakRsaKey { bits: 1024, min: 2048 }), "{err}");
        assert_eq!(err.to_string(), "rsa key is 1024 bits; at least 2048 bits are required");
    }
}

#[test]
fn hmac_secret_under_256_bits_is_refused() {
    let err = JwsKey::hmac(Algorithm::Hs256, &[1; 31]).unwrap_err();
    assert!(matches!(err, TokenError::WeakKey { len: 31, min: 32 }), "{err}");
    let jwk = json!({"kty": "oct", "k": b64(&[1; 16]), "alg": "HS256"});
    assert!(matches!(JwsKey::from_jwk(&jwk, None), Err(TokenError::WeakKey { len: 16, .. })));
}

#[test]
fn key_whose_type_does_not_fit_its_algorithm_is_refused() {
    let p384 = EcKey::generate(&EcGroup::from_curve_name(Nid::SECP384R1).unwrap()).unwrap();
    let p384 = PKey::from_ec_key(p384).unwrap().private_key_to_pem_pkcs8().unwrap();
    let rsa = Rsa::generate(2048).unwrap().private_key_to_pem().unwrap();
    let ed448 = PKey::generate_ed448().unwrap().private_key_to_pem_pkcs8().unwrap();
    let ed25519 = PKey::generate_ed25519().unwrap().public_key_to_pem().unwrap();

    let cases: [(Algorithm, &[u8], &str); 6] = [
        (Algorithm::Es256, &p384, "ec p-384"),
        (Algorithm::Es256, &rsa, "rsa"),
        (Algorithm::Rs256, &p384, "ec p-384"),
        (Algorithm::EdDsa, &ed448, "ed448"),
        (Algorithm::Ps256, &ed25519, "ed25519"),
        (Algorithm::Hs256, &rsa, "pem-encoded"),
    ];
    for (alg, pem, what) in cases {
        let err = JwsKey::from_pem(alg, pem).unwrap_err();
        assert!(
            matches!(&err, TokenError::KeyMismatch { alg: a, key } if *a == alg.as_str() && *key == what),
            "{alg} with {what}: {err}"
        );
    }
}

#[test]
fn jwk_whose_type_or_alg_does_not_fit_is_refused() {
    let ed = JwsKey::generate(Algorithm::EdDsa).unwrap();
    let public = Value::Object(ed.public_jwk().unwrap());

    assert!(matches!(
        JwsKey::from_jwk(&public, Some(Algorithm::Es256)),
        Err(TokenError::InvalidKey(_))
    ));
    let mut without_alg = public.clone();
    without_alg.as_object_mut().unwrap().remove("alg");
    assert!(matches!(
        JwsKey::from_jwk(&without_alg, Some(Algorithm::Es256)),
        Err(TokenError::KeyMismatch { alg: "ES256", key: "ed25519" })
    ));
    let ed448 = json!({"kty": "OKP", "crv": "Ed448", "x": b64(&[0; 57])});
    assert!(matches!(
        JwsKey::from_jwk(&ed448, Some(Algorithm::EdDsa)),
        Err(TokenError::KeyMismatch { alg: "EdDSA", key: "ed448" })
    ));
    let oct = json!({"kty": "oct", "k": b64(&[1; 64])});
    assert!(matches!(
        JwsKey::from_jwk(&oct, Some(Algorithm::Rs256)),
        Err(TokenError::KeyMismatch { alg: "RS256", key: "oct" })
    ));
    let mut encryption = public;
    encryption["use"] = json!("enc");
    assert!(matches!(JwsKey::from_jwk(&encryption, None), Err(TokenError::InvalidKey(_))));
}

#[test]
fn private_jwk_whose_halves_do_not_match_is_refused() {
    let a = JwsKey::generate(Algorithm::Es256).unwrap();
    let other = EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap();
    let mut jwk = Value::Object(a.public_jwk().unwrap());
    jwk["d"] = json!(b64(&other.private_key().to_vec_padded(32).unwrap()));

    let err = JwsKey::from_jwk(&jwk, None).unwrap_err();

    assert!(matches!(err, TokenError::InvalidKey(_) | TokenError::KeyRefused(_)), "{err}");
}

#[test]
fn hs256_token_whose_secret_is_the_rsa_public_key_is_refused() {
    let rsa = JwsKey::generate(Algorithm::Rs256).unwrap().with_kid("rsa-1");
    let pem = rsa.public_key_pem().unwrap();
    let der = rsa.public_key_der().unwrap().to_vec();
    let tokens = service(rsa, JwsKey::generate(Algorithm::Rs256).unwrap());

    for secret in [pem.as_bytes(), pem.trim_end().as_bytes(), der.as_slice()] {
        for header in [
            json!({"alg": "HS256", "typ": "at+jwt", "kid": "rsa-1"}),
            json!({"alg": "HS256", "typ": "at+jwt"}),
        ] {
            let forged = hs256_with_secret(secret, &header, &access_claims());
            let refused = tokens.verify_at(&forged, TokenKind::Access, NOW);
            assert!(matches!(refused, Err(TokenError::WrongAlgorithm)), "{refused:?}");
        }
    }
    assert!(matches!(
        JwsKey::hmac(Algorithm::Hs256, pem.as_bytes()),
        Err(TokenError::KeyMismatch { key: "pem-encoded", .. })
    ));
}

#[test]
fn every_header_supplied_key_is_ignored() {
    let ours = JwsKey::generate(Algorithm::Es256).unwrap().with_kid("ours");
    let tokens = service(ours, JwsKey::generate(Algorithm::Es256).unwrap());
    let attacker = JwsKey::generate(Algorithm::Es256).unwrap();
    let attacker_jwk = Value::Object(attacker.public_jwk().unwrap());

    let pointing = [
        json!({"alg": "ES256", "typ": "at+jwt", "kid": "ours", "jwk": attacker_jwk}),
        json!({"alg": "ES256", "typ": "at+jwt", "kid": "ours", "jku": "http://127.0.0.1:1/jwks"}),
        json!({"alg": "ES256", "typ": "at+jwt", "kid": "ours", "x5u": "http://127.0.0.1:1/cert"}),
        json!({"alg": "ES256", "typ": "at+jwt", "kid": "ours", "x5c": ["MIIB"]}),
        json!({"alg": "ES256", "typ": "at+jwt", "jwk": attacker_jwk}),
    ];
    for header in pointing {
        let forged = signed_by(&attacker, &header, &access_claims());
        let refused = tokens.verify_at(&forged, TokenKind::Access, NOW);
        assert!(matches!(refused, Err(TokenError::BadSignature)), "{header}: {refused:?}");
    }

    let their_kid = json!({"alg": "ES256", "typ": "at+jwt", "kid": attacker.kid(),
                           "jwk": attacker_jwk});
    let forged = signed_by(&attacker, &their_kid, &access_claims());
    assert!(matches!(
        tokens.verify_at(&forged, TokenKind::Access, NOW),
        Err(TokenError::UnknownKid)
    ));
}

#[test]
fn crit_zip_enc_and_five_part_jwe_are_refused() {
    let key = JwsKey::generate(Algorithm::EdDsa).unwrap().with_kid("k");
    let verifier =
        KeySet::verify_only([JwsKey::from_der(Algorithm::EdDsa, key.public_key_der().unwrap())
            .unwrap()
            .with_kid("k")])
        .unwrap();
    let cases = [
        (json!({"alg": "EdDSA", "kid": "k", "crit": ["b64"], "b64": false}), "crit"),
        (json!({"alg": "EdDSA", "kid": "k", "crit": []}), "crit"),
        (json!({"alg": "EdDSA", "kid": "k", "zip": "DEF"}), "zip"),
        (json!({"alg": "EdDSA", "kid": "k", "enc": "A128GCM"}), "enc"),
    ];
    for (header, name) in cases {
        let jws = signed_by(&key, &header, &json!({"a": 1}));
        let refused = verifier.verify_compact(&jws);
        assert!(matches!(refused, Err(TokenError::UnsupportedHeader(n)) if n == name), "{header}");
    }

    let jwe = "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.a2V5.aXY.Y2lwaGVy.dGFn";
    assert!(matches!(verifier.verify_compact(jwe), Err(TokenError::Malformed(_))));
}

#[test]
fn rotation_keeps_every_earlier_token_verifying_while_verifiers_run() {
    let tokens = Arc::new(service(
        JwsKey::generate(Algorithm::Es256).unwrap().with_kid("a1"),
        JwsKey::generate(Algorithm::Es256).unwrap().with_kid("r1"),
    ));
    let mut issued = vec![tokens.issue_pair_at("u", "s", NOW).unwrap()];

    let verifiers: Vec<_> = (0..2)
        .map(|_| {
            let tokens = Arc::clone(&tokens);
            let earlier = issued[0].clone();
            std::thread::spawn(move || {
                for _ in 0..200 {
                    tokens.verify_at(&earlier.access.token, TokenKind::Access, NOW + 5).unwrap();
                    tokens.verify_at(&earlier.refresh.token, TokenKind::Refresh, NOW + 5).unwrap();
                }
            })
        })
        .collect();
    for round in 2..=4 {
        let now = NOW + round;
        for (kind, prefix) in [(TokenKind::Access, "a"), (TokenKind::Refresh, "r")] {
            let key =
                JwsKey::generate(Algorithm::Es256).unwrap().with_kid(format!("{prefix}{round}"));
            tokens.rotate_key_at(kind, key, now).unwrap();
        }
        issued.push(tokens.issue_pair_at("u", "s", now).unwrap());
    }
    for verifier in verifiers {
        verifier.join().unwrap();
    }

    for (index, pair) in issued.iter().enumerate() {
        let access = tokens.verify_at(&pair.access.token, TokenKind::Access, NOW + 10);
        let refresh = tokens.verify_at(&pair.refresh.token, TokenKind::Refresh, NOW + 10);
        assert!(access.is_ok() && refresh.is_ok(), "pair {index}: {access:?} {refresh:?}");
    }
    assert_eq!(header_of(&issued[3].access.token)["kid"], "a4");
    assert_eq!(tokens.jwks().keys.len(), 4, "old access keys stay published while they verify");
}

#[test]
fn rotated_out_key_stops_verifying_once_its_tokens_have_expired() {
    let tokens = service(
        JwsKey::generate(Algorithm::Hs256).unwrap().with_kid("old"),
        JwsKey::generate(Algorithm::Hs256).unwrap(),
    );
    let old = tokens.issue_at(TokenKind::Access, "u", "s", NOW).unwrap();
    let new_key = JwsKey::generate(Algorithm::Hs256).unwrap().with_kid("new");
    tokens.rotate_key_at(TokenKind::Access, new_key, NOW).unwrap();

    // Access tokens live 900 s, with 30 s of leeway.
    assert!(tokens.verify_at(&old.token, TokenKind::Access, NOW + 929).is_ok());
    let later = tokens.verify_at(&old.token, TokenKind::Access, NOW + 930);
    assert!(matches!(later, Err(TokenError::UnknownKid)), "{later:?}");
}

#[test]
fn rotation_needs_kids_and_a_private_key() {
    let tokens = service(
        JwsKey::generate(Algorithm::Hs256).unwrap(),
        JwsKey::generate(Algorithm::Hs256).unwrap(),
    );
    let kidless_rotation =
        tokens.rotate_key_at(TokenKind::Access, JwsKey::generate(Algorithm::Hs256).unwrap(), NOW);
    assert!(matches!(kidless_rotation, Err(TokenError::KidRequired)));

    let public_only = JwsKey::from_der(
        Algorithm::EdDsa,
        JwsKey::generate(Algorithm::EdDsa).unwrap().public_key_der().unwrap(),
    )
    .unwrap();
    assert!(matches!(
        tokens.rotate_key_at(TokenKind::Access, public_only, NOW),
        Err(TokenError::NoSigningKey)
    ));
    let pair = tokens.issue_pair_at("u", "s", NOW).unwrap();
    assert!(tokens.verify_at(&pair.access.token, TokenKind::Access, NOW).is_ok());
}

#[test]
fn token_without_kid_is_refused_when_several_keys_could_have_signed_it() {
    let first = JwsKey::hmac(Algorithm::Hs256, &[3; 32]).unwrap().with_kid("one");
    let tokens = service(first, JwsKey::generate(Algorithm::Hs256).unwrap());
    let second = JwsKey::generate(Algorithm::Hs256).unwrap().with_kid("two");
    tokens.rotate_key_at(TokenKind::Access, second, NOW).unwrap();

    let kidless =
        hs256_with_secret(&[3; 32], &json!({"alg": "HS256", "typ": "at+jwt"}), &access_claims());

    let refused = tokens.verify_at(&kidless, TokenKind::Access, NOW);
    assert!(matches!(refused, Err(TokenError::MissingKid)), "{refused:?}");
}

#[test]
fn published_jwks_has_public_members_with_kid_alg_use_and_no_hmac_key() {
    let set = KeySet::new(JwsKey::generate(Algorithm::Rs256).unwrap())
        .unwrap()
        .with_key(JwsKey::generate(Algorithm::Es512).unwrap())
        .unwrap()
        .with_key(JwsKey::generate(Algorithm::EdDsa).unwrap())
        .unwrap()
        .with_key(JwsKey::generate(Algorithm::Hs512).unwrap().with_kid("secret"))
        .unwrap();

    let jwks: Value = serde_json::from_str(&set.jwks().to_json()).unwrap();

    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3, "the HMAC key is never published");
    let allowed = ["kty", "kid", "alg", "use", "n", "e", "crv", "x", "y"];
    for jwk in keys {
        let jwk = jwk.as_object().unwrap();
        for name in ["kid", "alg", "use", "kty"] {
            assert!(jwk.contains_key(name), "{name} missing");
        }
        assert_eq!(jwk["use"], "sig");
        for name in jwk.keys() {
            assert!(allowed.contains(&name.as_str()), "unexpected member {name}");
        }
        assert_ne!(jwk["kty"], "oct");
    }
    let algs: Vec<_> = keys.iter().map(|k| k["alg"].as_str().unwrap()).collect();
    assert_eq!(algs, ["RS256", "ES512", "EdDSA"]);
}

#[test]
fn jwks_verifier_checks_access_tokens_with_published_keys_only() {
    let tokens = service(
        JwsKey::generate(Algorithm::Ps256).unwrap(),
        JwsKey::generate(Algorithm::Hs256).unwrap(),
    );
    let jwks = tokens.jwks().to_json();
    let verifier = JwksVerifier::from_jwks(settings(), &jwks).unwrap();
    let pair = tokens.issue_pair_at("user", "session", NOW).unwrap();

    assert_eq!(verifier.verify_at(&pair.access.token, TokenKind::Access, NOW).unwrap().sub, "user");
    assert!(verifier.keys().keys().all(|key| !key.can_sign()));
    assert!(verifier.verify_at(&pair.refresh.token, TokenKind::Refresh, NOW).is_err());
    let wrong_aud = JwksVerifier::from_jwks(TokenSettings::new("issuer", "other"), &jwks).unwrap();
    assert!(matches!(
        wrong_aud.verify_at(&pair.access.token, TokenKind::Access, NOW),
        Err(TokenError::WrongAudience)
    ));
}

#[test]
fn jwks_document_never_yields_secrets_or_signing_keys() {
    let oct_only =
        json!({"keys": [{"kty": "oct", "k": b64(&[1; 32]), "alg": "HS256", "kid": "h"}]});
    assert!(matches!(KeySet::from_jwks(&oct_only.to_string()), Err(TokenError::InvalidJwks(_))));

    let vector: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/vectors/jose/rfc7515-a2-rs256.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let mut private = vector["jwk"].clone();
    private["alg"] = json!("RS256");
    private["kid"] = json!("with-private-members");
    let set =
        KeySet::from_jwks(&json!({"keys": [private, oct_only["keys"][0]]}).to_string()).unwrap();

    assert_eq!(set.len(), 1);
    assert!(!set.keys().next().unwrap().can_sign());
    assert!(set.verify_compact(vector["compact"].as_str().unwrap()).is_ok());
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Roles {
    roles: Vec<String>,
    tenant: u32,
}

#[test]
fn custom_claims_round_trip_beside_the_registered_ones() {
    let tokens = service(
        JwsKey::generate(Algorithm::EdDsa).unwrap(),
        JwsKey::generate(Algorithm::EdDsa).unwrap(),
    );
    let roles = Roles { roles: vec!["admin".into()], tenant: 7 };

    let issued = tokens.issue_custom_at(TokenKind::Access, "u", "s", &roles, NOW).unwrap();
    let verified = tokens.verify_custom_at::<Roles>(&issued.token, TokenKind::Access, NOW).unwrap();

    assert_eq!(verified.custom, roles);
    assert_eq!(verified.claims, issued.claims);
    assert_eq!(tokens.verify_at(&issued.token, TokenKind::Access, NOW).unwrap(), issued.claims);
    let verifier = JwksVerifier::from_jwks(settings(), &tokens.jwks().to_json()).unwrap();
    let remote = verifier.verify_custom_at::<Roles>(&issued.token, TokenKind::Access, NOW);
    assert_eq!(remote.unwrap().custom, roles);
}

#[test]
fn custom_claims_may_not_replace_registered_ones_or_be_other_than_an_object() {
    let tokens = service(
        JwsKey::generate(Algorithm::Hs256).unwrap(),
        JwsKey::generate(Algorithm::Hs256).unwrap(),
    );
    for bad in [json!({"sub": "admin"}), json!({"exp": 1}), json!(["x"]), json!("x")] {
        let refused = tokens.issue_custom_at(TokenKind::Access, "u", "s", &bad, NOW);
        assert!(matches!(refused, Err(TokenError::InvalidInput(_))), "{bad}");
    }

    let plain = tokens.issue_at(TokenKind::Access, "u", "s", NOW).unwrap();
    let refused = tokens.verify_custom_at::<Roles>(&plain.token, TokenKind::Access, NOW);
    assert!(matches!(refused, Err(TokenError::CustomClaims(_))));
}

#[test]
fn key_debug_output_shows_no_key_material() {
    let vector: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/vectors/jose/rfc8037-a4-eddsa.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let key = JwsKey::from_jwk(&vector["jwk"], None).unwrap();
    let shown_key = format!("{key:?}");
    let shown = format!("{shown_key} {:?}", KeySet::new(key).unwrap());

    for member in ["d", "x"] {
        let value = vector["jwk"][member].as_str().unwrap();
        assert!(!shown.contains(value), "debug output shows the `{member}` member");
    }
    assert!(shown.contains("redacted"));
}
