//! The JOSE RFC test vectors in `shared/vectors/jose/`: every JWS verifies
//! with its pinned algorithm and public key only, the deterministic ones
//! re-sign to the same bytes, thumbprints match, and every negative fails.

// Test code: a panic is how a failed step reports itself.
#![allow(clippy::unwrap_used)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jwt_session_token::{jwk_thumbprint, Algorithm, JwsKey, KeySet, TokenError};
use serde_json::{Map, Value};

const JWS_FILES: [&str; 5] = [
    "rfc7515-a1-hs256.json",
    "rfc7515-a2-rs256.json",
    "rfc7515-a3-es256.json",
    "rfc7519-3.1-jwt-hs256.json",
    "rfc8037-a4-eddsa.json",
];

fn vector(name: &str) -> Value {
    let path = format!("{}/../../../shared/vectors/jose/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("{path}: {e}; the shared/ folder must sit beside the repository")
    });
    serde_json::from_str(&text).unwrap()
}

fn pinned(vector: &Value) -> Algorithm {
    vector["alg"].as_str().unwrap().parse().unwrap()
}

/// The key a verifier should hold: the `oct` key itself for HMAC, the
/// public members only otherwise.
fn verification_key(vector: &Value) -> JwsKey {
    let jwk = vector["jwk"].as_object().unwrap();
    let public: Map<String, Value> = match jwk["kty"].as_str().unwrap() {
        "oct" => jwk.clone(),
        _ => ["kty", "kid", "n", "e", "crv", "x", "y"]
            .iter()
            .filter_map(|name| Some(((*name).to_owned(), jwk.get(*name)?.clone())))
            .collect(),
    };
    let key = JwsKey::from_jwk(&Value::Object(public), Some(pinned(vector))).unwrap();
    if jwk["kty"] != "oct" {
        assert!(!key.can_sign(), "a key built from public members must not sign");
    }
    key
}

fn b64(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text.as_bytes())
}

#[test]
fn every_jws_vector_verifies_with_its_public_key_and_pinned_alg() {
    for name in JWS_FILES {
        let vector = vector(name);
        let keys = KeySet::verify_only([verification_key(&vector)]).unwrap();

        let payload = keys
            .verify_compact(vector["compact"].as_str().unwrap())
            .unwrap_or_else(|e| panic!("{name}: refused: {e}"));

        assert_eq!(payload, vector["payload"].as_str().unwrap().as_bytes(), "{name}");
    }
}

#[test]
fn deterministic_vectors_re_sign_to_the_same_bytes() {
    let mut checked = 0;
    for name in JWS_FILES {
        let vector = vector(name);
        if vector["deterministic"] != true {
            continue;
        }
        let key = JwsKey::from_jwk(&vector["jwk"], Some(pinned(&vector))).unwrap();
        let input = format!(
            "{}.{}",
            b64(vector["header_raw"].as_str().unwrap()),
            b64(vector["payload"].as_str().unwrap())
        );

        let signature = URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()).unwrap());

        assert_eq!(format!("{input}.{signature}"), vector["compact"].as_str().unwrap(), "{name}");
        checked += 1;
    }
    assert_eq!(checked, 4, "A.1, A.2, RFC 7519 and RFC 8037 are deterministic");
}

#[test]
fn es256_vector_signs_afresh_with_a_signature_that_verifies() {
    let vector = vector("rfc7515-a3-es256.json");
    let signer = JwsKey::from_jwk(&vector["jwk"], Some(Algorithm::Es256)).unwrap();
    let verifier = verification_key(&vector);
    let input = vector["compact"].as_str().unwrap().rsplit_once('.').unwrap().0;

    let signature = signer.sign(input.as_bytes()).unwrap();

    assert_eq!(signature.len(), 64, "raw R||S");
    assert!(verifier.verify(input.as_bytes(), &signature).is_ok());
}

#[test]
fn rfc7519_example_carries_the_published_claims() {
    let vector = vector("rfc7519-3.1-jwt-hs256.json");
    let keys = KeySet::verify_only([verification_key(&vector)]).unwrap();

    let payload = keys.verify_compact(vector["compact"].as_str().unwrap()).unwrap();

    let claims: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(claims, vector["claims"]);
}

#[test]
fn every_negative_vector_is_refused_for_the_reason_it_was_made() {
    let negatives = vector("negatives.json");
    let cases = negatives["cases"].as_array().unwrap();
    assert_eq!(cases.len(), negatives["count"].as_u64().unwrap() as usize);

    for case in cases {
        let id = case["id"].as_str().unwrap();
        let keys = KeySet::verify_only([verification_key(case)]).unwrap();

        let refused = keys.verify_compact(case["compact"].as_str().unwrap());

        match case["variant"].as_str().unwrap() {
            "alg-none-empty-signature" => {
                assert!(matches!(refused, Err(TokenError::WrongAlgorithm)), "{id}: {refused:?}")
            }
            _ => assert!(matches!(refused, Err(TokenError::BadSignature)), "{id}: {refused:?}"),
        }
    }
}

#[test]
fn thumbprints_match_the_rfc_values() {
    for name in ["rfc7638-3.1-thumbprint.json", "rfc8037-a3-thumbprint.json"] {
        let vector = vector(name);
        let expected = vector["thumbprint"].as_str().unwrap();

        assert_eq!(jwk_thumbprint(&vector["jwk"]).unwrap(), expected, "{name}");

        let key = JwsKey::from_jwk(&vector["jwk"], None).or_else(|_| {
            // The RFC 7638 RSA key carries no `alg`; it is used for RS256 here.
            JwsKey::from_jwk(&vector["jwk"], Some(Algorithm::Rs256))
        });
        assert_eq!(key.unwrap().thumbprint().unwrap(), expected, "{name}");
    }
}

#[test]
fn asymmetric_key_without_kid_gets_its_thumbprint_as_kid() {
    let vector = vector("rfc8037-a3-thumbprint.json");
    let mut jwk = vector["jwk"].clone();
    jwk.as_object_mut().unwrap().remove("kid");

    let key = JwsKey::from_jwk(&jwk, None).unwrap();

    assert_eq!(key.kid(), vector["thumbprint"].as_str());
}
