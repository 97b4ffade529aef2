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
const STACK_SIGNATURE_BYTES: usize = 512;

/// A decoded signature: on the stack when it fits, else on the heap.
// The large variant is the point: it lives on the verifier's stack for one
// call, in place of a heap allocation.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Signature {
    Stack { bytes: [u8; STACK_SIGNATURE_BYTES], len: usize },
    Heap(Vec<u8>),
}

impl Signature {
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            Self::Stack { bytes, len } => &bytes[..*len],
            Self::Heap(bytes) => bytes,
        }
    }
}

/// Decodes a part as [`decode`] does, without allocating when its bytes
/// fit [`STACK_SIGNATURE_BYTES`].
pub(crate) fn decode_signature(part: &str, what: &'static str) -> Result<Signature, TokenError> {
    if part.len() / 4 * 3 + 3 > STACK_SIGNATURE_BYTES {
        return decode(part, what).map(Signature::Heap);
    }
    let mut bytes = [0u8; STACK_SIGNATURE_BYTES];
    let len =
        URL_SAFE_NO_PAD.decode_slice(part, &mut bytes).map_err(|_| TokenError::Malformed(what))?;
    Ok(Signature::Stack { bytes, len })
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
