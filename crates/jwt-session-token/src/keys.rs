use std::fmt;

use josekit::jws::alg::hmac::HmacJwsSigner;
use josekit::jws::{JwsSigner, HS256};
use subtle::ConstantTimeEq;

use crate::{TokenError, TokenKind};

/// The shortest HMAC secret accepted, in bytes (256 bits, RFC 7518 section 3.2).
pub const MIN_SECRET_BYTES: usize = 32;

/// An HMAC-SHA256 key, used both to sign and to verify.
///
/// The secret lives only inside OpenSSL's key object, which clears it when
/// freed; `Debug` never shows it.
pub struct HmacKey {
    signer: HmacJwsSigner,
}

impl HmacKey {
    /// Builds an HS256 key from raw secret bytes.
    ///
    /// # Errors
    ///
    /// [`TokenError::WeakKey`] when the secret is shorter than
    /// [`MIN_SECRET_BYTES`]; [`TokenError::KeyRefused`] if josekit refuses it.
    pub fn hs256(secret: &[u8]) -> Result<Self, TokenError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(TokenError::WeakKey { len: secret.len(), min: MIN_SECRET_BYTES });
        }
        let signer = HS256.signer_from_bytes(secret).map_err(TokenError::KeyRefused)?;
        Ok(Self { signer })
    }

    /// The JWS `alg` this key is pinned to.
    pub fn algorithm(&self) -> &'static str {
        "HS256"
    }

    pub(crate) fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, TokenError> {
        self.signer.sign(signing_input).map_err(TokenError::Signing)
    }

    /// Checks a MAC in constant time.
    ///
    /// josekit's own HMAC verifier compares with `!=`, which returns at the
    /// first differing byte; so the MAC is recomputed here and compared with
    /// `subtle`.
    pub(crate) fn verify(&self, signing_input: &[u8], signature: &[u8]) -> Result<(), TokenError> {
        let expected = self.sign(signing_input)?;
        if bool::from(expected.as_slice().ct_eq(signature)) {
            Ok(())
        } else {
            Err(TokenError::BadSignature)
        }
    }
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HmacKey")
            .field("alg", &self.algorithm())
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// The keys of both token kinds.
///
/// Separate secrets per kind limit the damage of one leaking; the `typ` check
/// keeps the kinds apart even when both secrets are the same.
#[derive(Debug)]
pub struct TokenKeys {
    access: HmacKey,
    refresh: HmacKey,
}

impl TokenKeys {
    /// Pairs an access key with a refresh key.
    pub fn new(access: HmacKey, refresh: HmacKey) -> Self {
        Self { access, refresh }
    }

    /// Builds both HS256 keys from raw secrets.
    ///
    /// # Errors
    ///
    /// As [`HmacKey::hs256`], for whichever secret fails first.
    pub fn hs256(access_secret: &[u8], refresh_secret: &[u8]) -> Result<Self, TokenError> {
        Ok(Self::new(HmacKey::hs256(access_secret)?, HmacKey::hs256(refresh_secret)?))
    }

    pub(crate) fn for_kind(&self, kind: TokenKind) -> &HmacKey {
        match kind {
            TokenKind::Access => &self.access,
            TokenKind::Refresh => &self.refresh,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_shorter_than_32_bytes_is_refused_with_its_length() {
        let err = HmacKey::hs256(&[7u8; 31]).unwrap_err();
        assert!(matches!(err, TokenError::WeakKey { len: 31, min: 32 }), "{err}");
        assert_eq!(err.to_string(), "secret is 31 bytes; at least 32 bytes are required");
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let key = HmacKey::hs256(b"0123456789abcdef0123456789abcdef").unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains("0123456789"), "{shown}");
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn mac_of_a_different_length_is_refused() {
        let key = HmacKey::hs256(&[1u8; 32]).unwrap();
        let mut mac = key.sign(b"input").unwrap();
        assert!(key.verify(b"input", &mac).is_ok());
        mac.pop();
        assert!(matches!(key.verify(b"input", &mac), Err(TokenError::BadSignature)));
        assert!(matches!(key.verify(b"input", &[]), Err(TokenError::BadSignature)));
    }
}
