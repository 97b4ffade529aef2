//! Reading a token **without verifying it**, for debugging tools such as
//! `tokenctl decode`. Nothing in this module checks a signature, an
//! algorithm or a claim: never decide anything on what it returns.

use serde_json::{Map, Value};

use crate::{compact, TokenError};

/// The decoded parts of a compact JWS whose signature was not checked.
#[derive(Clone, Debug, PartialEq)]
pub struct UnverifiedJws {
    /// The protected header, a JSON object.
    pub header: Map<String, Value>,
    /// The payload bytes; a JWT's claims set, or anything else for a JWS.
    pub payload: Vec<u8>,
    /// The length of the decoded signature in bytes (0 for `alg` `none`).
    pub signature_len: usize,
}

impl UnverifiedJws {
    /// The payload as a JSON object (a JWT claims set), or `None` when it is
    /// not one (the RFC 8037 example signs plain text).
    pub fn claims(&self) -> Option<Map<String, Value>> {
        match serde_json::from_slice(&self.payload) {
            Ok(Value::Object(claims)) => Some(claims),
            _ => None,
        }
    }
}

/// Splits and decodes a compact JWS without checking anything but its
/// shape: three parts, canonical unpadded base64url, a JSON object header.
///
/// # Errors
///
/// [`TokenError::Malformed`] saying which part is wrong.
pub fn decode(token: &str) -> Result<UnverifiedJws, TokenError> {
    let parts = compact::split(token)?;
    let header = match compact::decode_json(parts.header, "header is not base64url JSON")? {
        Value::Object(header) => header,
        _ => return Err(TokenError::Malformed("header is not a JSON object")),
    };
    let payload = compact::decode(parts.payload, "payload is not base64url")?;
    let signature = compact::decode(parts.signature, "signature is not base64url")?;
    Ok(UnverifiedJws { header, payload, signature_len: signature.len() })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN_GOOD: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdXRob3JpemVkIjp0cnVlLCJ1c2VyX2lkIjo3fQ.bK73DLHVXVmtLXBYwl_TVLVf21OEJ0bzfZHXRbiAboA";

    #[test]
    fn decodes_header_and_claims_without_a_key() {
        let jws = decode(KNOWN_GOOD).unwrap();
        assert_eq!(jws.header["alg"], "HS256");
        assert_eq!(jws.claims().unwrap()["user_id"], 7);
        assert_eq!(jws.signature_len, 32);
    }

    #[test]
    fn plain_text_payload_has_no_claims() {
        let token =
            format!("{}.{}.", compact::encode(br#"{"alg":"none"}"#), compact::encode(b"hi"));
        let jws = decode(&token).unwrap();
        assert_eq!(jws.payload, b"hi");
        assert!(jws.claims().is_none());
    }

    #[test]
    fn bad_shapes_are_malformed() {
        let array_header = format!("{}.e30.", compact::encode(b"[1]"));
        for bad in ["", "a.b", "a.b.c.d", "!!.e30.", "e30.e30.==", array_header.as_str()] {
            assert!(matches!(decode(bad), Err(TokenError::Malformed(_))), "{bad}");
        }
    }
}
