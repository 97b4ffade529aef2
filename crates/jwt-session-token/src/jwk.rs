//! JWK helpers: reading members, RFC 7638 thumbprints and the published
//! JWK Set (RFC 7517 section 5).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{compact, TokenError};

/// A JWK Set: `{"keys": [...]}` (RFC 7517 section 5).
///
/// The sets this crate publishes hold public keys only, each with `kid`,
/// `alg` and `use`; HMAC keys never appear.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys, each a JWK object.
    pub keys: Vec<Map<String, Value>>,
}

impl Jwks {
    /// The set as JSON text, fit to serve at `/.well-known/jwks.json`.
    pub fn to_json(&self) -> String {
        let keys = self.keys.iter().cloned().map(Value::Object).collect();
        Value::Object(Map::from_iter([("keys".to_owned(), Value::Array(keys))])).to_string()
    }
}

/// The RFC 7638 SHA-256 thumbprint of a public JWK, base64url-encoded.
///
/// Only the required members of its `kty` take part (`e`, `kty`, `n` for
/// RSA; `crv`, `kty`, `x`, `y` for EC; `crv`, `kty`, `x` for OKP; `k`,
/// `kty` for oct), so `kid`, `alg` and `use` do not change it.
///
/// # Errors
///
/// [`TokenError::InvalidKey`] when the JWK is not an object, its `kty` is
/// unknown or a required member is missing or not a string.
pub fn jwk_thumbprint(jwk: &Value) -> Result<String, TokenError> {
    thumbprint_of(jwk.as_object().ok_or(TokenError::InvalidKey("jwk is not a json object"))?)
}

pub(crate) fn thumbprint_of(jwk: &Map<String, Value>) -> Result<String, TokenError> {
    let digest = openssl::sha::sha256(canonical_json(jwk)?.as_bytes());
    Ok(compact::encode(&digest))
}

/// The required members of the JWK's `kty`, in lexicographic order, without
/// whitespace (RFC 7638 section 3.2).
pub(crate) fn canonical_json(jwk: &Map<String, Value>) -> Result<String, TokenError> {
    let required: &[&str] = match member(jwk, "kty")? {
        "RSA" => &["e", "kty", "n"],
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        "oct" => &["k", "kty"],
        _ => return Err(TokenError::InvalidKey("unsupported jwk `kty`")),
    };
    let mut json = String::from("{");
    for (index, name) in required.iter().enumerate() {
        if index > 0 {
            json.push(',');
        }
        json.push_str(&Value::from(*name).to_string());
        json.push(':');
        json.push_str(&Value::from(member(jwk, name)?).to_string());
    }
    json.push('}');
    Ok(json)
}

/// A string member of a JWK.
pub(crate) fn member<'a>(jwk: &'a Map<String, Value>, name: &str) -> Result<&'a str, TokenError> {
    jwk.get(name)
        .and_then(Value::as_str)
        .ok_or(TokenError::InvalidKey("jwk member is missing or not a string"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vector(name: &str) -> Value {
        let path = format!("{}/../../../shared/vectors/jose/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn canonical_json_matches_the_rfc_vectors_byte_for_byte() {
        for name in ["rfc7638-3.1-thumbprint.json", "rfc8037-a3-thumbprint.json"] {
            let vector = vector(name);
            let jwk = vector["jwk"].as_object().unwrap();
            assert_eq!(canonical_json(jwk).unwrap(), vector["thumbprint_input"], "{name}");
        }
    }

    #[test]
    fn extra_members_do_not_change_the_thumbprint() {
        let plain = json!({"kty": "OKP", "crv": "Ed25519", "x": "abc"});
        let extra = json!({"kty": "OKP", "crv": "Ed25519", "x": "abc", "kid": "1", "use": "sig"});
        assert_eq!(jwk_thumbprint(&plain).unwrap(), jwk_thumbprint(&extra).unwrap());
    }

    #[test]
    fn jwk_without_a_required_member_has_no_thumbprint() {
        assert!(jwk_thumbprint(&json!({"kty": "RSA", "n": "AQAB"})).is_err());
        assert!(jwk_thumbprint(&json!({"kty": "XYZ"})).is_err());
        assert!(jwk_thumbprint(&json!("RSA")).is_err());
    }

    #[test]
    fn jwks_json_is_an_object_with_a_keys_array() {
        let jwks = Jwks { keys: vec![json!({"kty": "OKP"}).as_object().unwrap().clone()] };
        let parsed: Value = serde_json::from_str(&jwks.to_json()).unwrap();
        assert_eq!(parsed, json!({"keys": [{"kty": "OKP"}]}));
        assert_eq!(Jwks::default().to_json(), r#"{"keys":[]}"#);
    }
}
