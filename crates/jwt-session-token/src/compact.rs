//! The JWS compact serialization: `base64url(header).base64url(payload).base64url(signature)`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::{Deserialize, Deserializer, IgnoredAny};
use std::borrow::Cow;

use crate::{JwsKey, TokenError};

/// The protected header fields this crate reads. Other fields are ignored:
/// in particular `jku`, `x5u`, `x5c` and `jwk` never find or supply a key;
/// only `kid` selects one, among the keys the verifier already holds.
/// Strings are borrowed from the decoded header unless they hold escapes.
#[derive(serde::Deserialize)]
pub(crate) struct Header<'a> {
    #[serde(borrow)]
    pub(crate) alg: Cow<'a, str>,
    #[serde(borrow)]
    pub(crate) typ: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(crate) kid: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "present")]
    pub(crate) crit: bool,
    #[serde(default, deserialize_with = "present")]
    pub(crate) zip: bool,
    #[serde(default, deserialize_with = "present")]
    pub(crate) enc: bool,
}

/// True whenever the field appears, whatever its value (even `null`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(deserializer).map(|_| true)
}

/// The three parts of a compact JWS, split but not yet decoded.
pub(crate) struct Parts<'a> {
    pub(crate) header: &'a str,
    pub(crate) payload: &'a str,
    pub(crate) signing_input: &'a str,
    pub(crate) signature: &'a str,
}

pub(crate) fn split(token: &str) -> Result<Parts<'_>, TokenError> {
    const THREE_PARTS: TokenError = TokenError::Malformed("expected three dot-separated parts");

    let (Some(first), Some(last)) = (token.find('.'), token.rfind('.')) else {
        return Err(THREE_PARTS);
    };
    let (signing_input, signature) = (&token[..last], &token[last + 1..]);
    let (header, payload) = (&token[..first], signing_input.get(first + 1..).ok_or(THREE_PARTS)?);
    if payload.contains('.') {
        if token.bytes().filter(|&b| b == b'.').count() == 4 {
            return Err(TokenError::Malformed("five parts: encrypted jwe is not accepted"));
        }
        return Err(THREE_PARTS);
    }
    Ok(Parts { header, payload, signing_input, signature })
}

/// Decodes unpadded, canonical base64url; padding, other alphabets and
/// non-zero trailing bits are refused.
pub(crate) fn decode(part: &str, what: &'static str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD.decode(part).map_err(|_| TokenError::Malformed(what))
}

/// Decodes a part that must be UTF-8 text as a whole: serde_json checks only
/// the strings it keeps, so bytes in members it skips would pass unseen
/// (RFC 8725, section 3.7).
pub(crate) fn decode_text(part: &str, what: &'static str) -> Result<Vec<u8>, TokenError> {
    let bytes = decode(part, what)?;
    std::str::from_utf8(&bytes).map_err(|_| TokenError::Malformed(what))?;
    Ok(bytes)
}

/// The longest signature decoded without a heap allocation: RSA 4096.
pub(crate) const STACK_SIGNATURE_BYTES: usize = 512;

/// Decodes a part as [`decode`] does, into `buffer` when its bytes fit
/// (the caller's stack, so no allocation), else onto the heap.
pub(crate) fn decode_signature<'b>(
    part: &str,
    what: &'static str,
    buffer: &'b mut [u8; STACK_SIGNATURE_BYTES],
) -> Result<Cow<'b, [u8]>, TokenError> {
    if part.len() / 4 * 3 + 3 > STACK_SIGNATURE_BYTES {
        return decode(part, what).map(Cow::Owned);
    }
    let len =
        URL_SAFE_NO_PAD.decode_slice(part, buffer).map_err(|_| TokenError::Malformed(what))?;
    Ok(Cow::Borrowed(&buffer[..len]))
}

pub(crate) fn decode_json<T: serde::de::DeserializeOwned>(
    part: &str,
    what: &'static str,
) -> Result<T, TokenError> {
    serde_json::from_slice(&decode_text(part, what)?).map_err(|_| TokenError::Malformed(what))
}

pub(crate) fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Signs `encoded_header.base64url(payload)` and returns the whole token.
pub(crate) fn sign(
    key: &JwsKey,
    encoded_header: &str,
    payload: &[u8],
) -> Result<String, TokenError> {
    let mut token = String::with_capacity(encoded_header.len() + payload.len() * 4 / 3 + 700);
    token.push_str(encoded_header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut token);

    let signature = key.sign(token.as_bytes())?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_decode_alike_on_the_stack_and_on_the_heap() {
        for len in [0, 1, 32, 64, 256, 383, 384, 385, 512, 513, 1024] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
            let part = encode(&bytes);
            let mut buffer = [0u8; STACK_SIGNATURE_BYTES];
            let decoded = decode_signature(&part, "sig", &mut buffer).unwrap();
            assert_eq!(&*decoded, bytes.as_slice(), "{len} bytes");
        }
        for bad in ["AB=", "AB", "A", "!!!!", "AAA="] {
            let mut buffer = [0u8; STACK_SIGNATURE_BYTES];
            let stack = decode_signature(bad, "sig", &mut buffer).is_err();
            assert_eq!(stack, decode(bad, "sig").is_err(), "{bad}");
        }
        let long_bad = format!("{}=", "A".repeat(800));
        let mut buffer = [0u8; STACK_SIGNATURE_BYTES];
        assert!(decode_signature(&long_bad, "sig", &mut buffer).is_err());
    }

    #[test]
    fn split_finds_three_parts_or_names_the_problem() {
        let parts = split("h.p.s").unwrap();
        assert_eq!((parts.header, parts.payload, parts.signature), ("h", "p", "s"));
        assert_eq!(parts.signing_input, "h.p");
        let parts = split("..").unwrap();
        assert_eq!((parts.header, parts.payload, parts.signature), ("", "", ""));
        for bad in ["", "h", "h.p", "h.p.s.x", "h..p.s", ".p.s.x.y.z"] {
            assert!(
                matches!(split(bad), Err(TokenError::Malformed(m)) if m.starts_with("expected")),
                "{bad}"
            );
        }
        assert!(
            matches!(split("a.b.c.d.e"), Err(TokenError::Malformed(m)) if m.starts_with("five"))
        );
    }
}
