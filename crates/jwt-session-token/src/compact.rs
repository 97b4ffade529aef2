//! The JWS compact serialization: `base64url(header).base64url(payload).base64url(signature)`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::{Deserialize, Deserializer, IgnoredAny};

use crate::{JwsKey, TokenError};

/// The protected header fields this crate reads. Other fields are ignored:
/// in particular `jku`, `x5u`, `x5c` and `jwk` never find or supply a key;
/// only `kid` selects one, among the keys the verifier already holds.
#[derive(serde::Deserialize)]
pub(crate) struct Header {
    pub(crate) alg: String,
    pub(crate) typ: Option<String>,
    pub(crate) kid: Option<String>,
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

    if token.bytes().filter(|&b| b == b'.').count() == 4 {
        return Err(TokenError::Malformed("five parts: encrypted jwe is not accepted"));
    }
    let (signing_input, signature) = token.rsplit_once('.').ok_or(THREE_PARTS)?;
    let (header, payload) = signing_input.split_once('.').ok_or(THREE_PARTS)?;
    if payload.contains('.') {
        return Err(THREE_PARTS);
    }
    Ok(Parts { header, payload, signing_input, signature })
}

/// Decodes unpadded, canonical base64url; padding, other alphabets and
/// non-zero trailing bits are refused.
pub(crate) fn decode(part: &str, what: &'static str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD.decode(part).map_err(|_| TokenError::Malformed(what))
}

/// Decodes a part and parses it as JSON. The whole part must be UTF-8
/// (RFC 8725, section 3.7): serde_json checks only the strings it keeps, so
/// bad bytes in a member the target type ignores would otherwise pass.
/// Decodes a part that must be UTF-8 text as a whole: serde_json checks only
/// the strings it keeps, so bytes in members it skips would pass unseen
/// (RFC 8725, section 3.7).
pub(crate) fn decode_text(part: &str, what: &'static str) -> Result<Vec<u8>, TokenError> {
    let bytes = decode(part, what)?;
    std::str::from_utf8(&bytes).map_err(|_| TokenError::Malformed(what))?;
    Ok(bytes)
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
