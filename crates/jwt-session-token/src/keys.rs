use std::fmt;
use std::sync::{PoisonError, RwLock, RwLockReadGuard};

use josekit::jws::alg::hmac::HmacJwsSigner;
use josekit::jws::{JwsSigner, HS256, HS384, HS512};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;
use subtle::ConstantTimeEq;

use crate::algorithm::Family;
use crate::{compact, Algorithm, JwsKey, KeySet, TokenError, TokenKind};

/// The shortest HMAC secret accepted, in bytes (256 bits, RFC 7518 section 3.2).
///
/// HS384 and HS512 need 48 and 64 bytes: a key at least as long as the hash.
pub const MIN_SECRET_BYTES: usize = 32;

/// An HMAC key (HS256, HS384 or HS512), used both to sign and to verify.
///
/// The secret lives only inside OpenSSL's key object, which clears it when
/// freed; `Debug` never shows it.
pub struct HmacKey {
    alg: Algorithm,
    mac: Mac,
}

/// What computes the MAC. josekit refuses secrets shorter than the hash, so
/// the deliberately weak keys of [`JwsKey::hmac_verify_only`] and
/// [`JwsKey::insecure_weak_hmac`] use OpenSSL's HMAC directly, the same
/// primitive josekit calls.
enum Mac {
    Josekit(HmacJwsSigner),
    Short { key: PKey<Private>, digest: MessageDigest },
}

impl HmacKey {
    /// Builds an HS256 key from raw secret bytes.
    ///
    /// # Errors
    ///
    /// [`TokenError::WeakKey`] when the secret is shorter than
    /// [`MIN_SECRET_BYTES`]; [`TokenError::KeyMismatch`] when it is a PEM
    /// block (a public key is never an HMAC secret);
    /// [`TokenError::KeyRefused`] if josekit refuses it.
    pub fn hs256(secret: &[u8]) -> Result<Self, TokenError> {
        Self::new(Algorithm::Hs256, secret)
    }

    /// Builds an HMAC key for `alg` (HS256, HS384 or HS512) from raw secret
    /// bytes, which must be at least as long as the hash (32, 48 or 64 bytes).
    ///
    /// # Errors
    ///
    /// [`TokenError::KeyMismatch`] when `alg` is not an HMAC algorithm or the
    /// secret is a PEM block; [`TokenError::WeakKey`] when the secret is too
    /// short; [`TokenError::KeyRefused`] if josekit refuses it.
    pub fn new(alg: Algorithm, secret: &[u8]) -> Result<Self, TokenError> {
        let Family::Hmac { min_bytes } = alg.family() else {
            return Err(TokenError::KeyMismatch { alg: alg.as_str(), key: "oct" });
        };
        if secret.len() < min_bytes {
            return Err(TokenError::WeakKey { len: secret.len(), min: min_bytes });
        }
        Self::without_minimum_length(alg, secret)
    }

    /// As [`new`](Self::new) but accepting any non-empty secret, however
    /// short. Only for the deliberately named weak-key paths of [`JwsKey`].
    pub(crate) fn without_minimum_length(
        alg: Algorithm,
        secret: &[u8],
    ) -> Result<Self, TokenError> {
        let Family::Hmac { min_bytes } = alg.family() else {
            return Err(TokenError::KeyMismatch { alg: alg.as_str(), key: "oct" });
        };
        if secret.is_empty() {
            return Err(TokenError::WeakKey { len: 0, min: 1 });
        }
        // A PEM key handed over as an HMAC secret is the classic algorithm
        // confusion set-up; such a "secret" is public, so it is refused.
        if secret.trim_ascii_start().starts_with(b"-----BEGIN") {
            return Err(TokenError::KeyMismatch { alg: alg.as_str(), key: "pem-encoded" });
        }
        if secret.len() < min_bytes {
            let digest = match alg {
                Algorithm::Hs384 => MessageDigest::sha384(),
                Algorithm::Hs512 => MessageDigest::sha512(),
                _ => MessageDigest::sha256(),
            };
            let key = PKey::hmac(secret).map_err(TokenError::KeyParse)?;
            return Ok(Self { alg, mac: Mac::Short { key, digest } });
        }
        let signer = match alg {
            Algorithm::Hs384 => HS384.signer_from_bytes(secret),
            Algorithm::Hs512 => HS512.signer_from_bytes(secret),
            _ => HS256.signer_from_bytes(secret),
        };
        Ok(Self { alg, mac: Mac::Josekit(signer.map_err(TokenError::KeyRefused)?) })
    }

    /// The JWS `alg` this key is pinned to.
    pub fn algorithm(&self) -> &'static str {
        self.alg.as_str()
    }

    pub(crate) fn alg(&self) -> Algorithm {
        self.alg
    }

    pub(crate) fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, TokenError> {
        match &self.mac {
            Mac::Josekit(signer) => signer.sign(signing_input).map_err(TokenError::Signing),
            Mac::Short { key, digest } => {
                let mac = || -> Result<Vec<u8>, openssl::error::ErrorStack> {
                    let mut signer = Signer::new(*digest, key)?;
                    signer.update(signing_input)?;
                    signer.sign_to_vec()
                };
                mac().map_err(TokenError::KeyParse)
            }
        }
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

/// The keys of both token kinds: one [`KeySet`] each, whose signing key signs
/// new tokens and whose every key verifies.
///
/// Separate keys per kind limit the damage of one leaking; the `typ` check
/// keeps the kinds apart even when both share a key. Each kind's set can be
/// rotated while the service is in use ([`TokenService::rotate_key`]).
///
/// [`TokenService::rotate_key`]: crate::TokenService::rotate_key
#[derive(Debug)]
pub struct TokenKeys {
    access: RwLock<KindKeys>,
    refresh: RwLock<KindKeys>,
}

/// One kind's key set and the encoded JOSE header its signing key writes.
#[derive(Debug)]
pub(crate) struct KindKeys {
    pub(crate) set: KeySet,
    pub(crate) header: String,
}

impl KindKeys {
    fn new(kind: TokenKind, set: KeySet) -> Result<Self, TokenError> {
        let header = header_for(kind, set.signing_key().ok_or(TokenError::NoSigningKey)?);
        Ok(Self { set, header })
    }
}

/// The encoded protected header of tokens of `kind` signed by `key`, with
/// its fields in a fixed order: `alg`, `typ`, then `kid` when the key has one.
fn header_for(kind: TokenKind, key: &JwsKey) -> String {
    let mut json = format!(r#"{{"alg":"{}","typ":"{}""#, key.algorithm(), kind.typ());
    if let Some(kid) = key.kid() {
        json.push_str(r#","kid":"#);
        json.push_str(&serde_json::Value::from(kid).to_string());
    }
    json.push('}');
    compact::encode(json.as_bytes())
}

impl TokenKeys {
    /// Pairs an access key with a refresh key.
    pub fn new(access: HmacKey, refresh: HmacKey) -> Self {
        let kind_keys = |kind, key: HmacKey| {
            let key = JwsKey::from(key);
            RwLock::new(KindKeys { header: header_for(kind, &key), set: KeySet::single(key) })
        };
        Self {
            access: kind_keys(TokenKind::Access, access),
            refresh: kind_keys(TokenKind::Refresh, refresh),
        }
    }

    /// Builds both HS256 keys from raw secrets.
    ///
    /// # Errors
    ///
    /// As [`HmacKey::hs256`], for whichever secret fails first.
    pub fn hs256(access_secret: &[u8], refresh_secret: &[u8]) -> Result<Self, TokenError> {
        Ok(Self::new(HmacKey::hs256(access_secret)?, HmacKey::hs256(refresh_secret)?))
    }

    /// Uses one key set per kind; each must have a signing key.
    ///
    /// # Errors
    ///
    /// [`TokenError::NoSigningKey`] when a set has no signing key.
    pub fn from_key_sets(access: KeySet, refresh: KeySet) -> Result<Self, TokenError> {
        Ok(Self {
            access: RwLock::new(KindKeys::new(TokenKind::Access, access)?),
            refresh: RwLock::new(KindKeys::new(TokenKind::Refresh, refresh)?),
        })
    }

    /// Read access to one kind's keys. A panic while the lock was held
    /// cannot leave the keys half-changed (a rotation replaces them whole),
    /// so a poisoned lock is used as it is.
    pub(crate) fn read(&self, kind: TokenKind) -> RwLockReadGuard<'_, KindKeys> {
        self.lock(kind).read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes `key` the signing key of `kind`; the previous signing key keeps
    /// verifying until `retire_old_at`. Keys retired by `now` are dropped.
    pub(crate) fn rotate(
        &self,
        kind: TokenKind,
        key: JwsKey,
        now: u64,
        retire_old_at: u64,
    ) -> Result<(), TokenError> {
        let header = header_for(kind, &key);
        let mut guard = self.lock(kind).write().unwrap_or_else(PoisonError::into_inner);
        guard.set.remove_retired(now);
        guard.set.rotate(key, Some(retire_old_at))?;
        guard.header = header;
        Ok(())
    }

    fn lock(&self, kind: TokenKind) -> &RwLock<KindKeys> {
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
    fn hs384_and_hs512_need_secrets_as_long_as_their_hash() {
        let err = HmacKey::new(Algorithm::Hs384, &[7u8; 47]).unwrap_err();
        assert!(matches!(err, TokenError::WeakKey { len: 47, min: 48 }), "{err}");
        let err = HmacKey::new(Algorithm::Hs512, &[7u8; 63]).unwrap_err();
        assert!(matches!(err, TokenError::WeakKey { len: 63, min: 64 }), "{err}");
        assert!(HmacKey::new(Algorithm::Hs512, &[7u8; 64]).is_ok());
    }

    #[test]
    fn hmac_key_for_an_asymmetric_algorithm_is_refused() {
        let err = HmacKey::new(Algorithm::Rs256, &[7u8; 64]).unwrap_err();
        assert!(matches!(err, TokenError::KeyMismatch { alg: "RS256", key: "oct" }), "{err}");
    }

    #[test]
    fn pem_block_as_hmac_secret_is_refused() {
        let pem = b"-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n";
        let err = HmacKey::hs256(pem).unwrap_err();
        assert!(matches!(err, TokenError::KeyMismatch { key: "pem-encoded", .. }), "{err}");
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

    #[test]
    fn header_names_alg_typ_and_kid_in_that_order() {
        let key = JwsKey::from(HmacKey::hs256(&[1u8; 32]).unwrap()).with_kid("k\"1");
        let header = compact::decode(&header_for(TokenKind::Access, &key), "").unwrap();
        assert_eq!(header, br#"{"alg":"HS256","typ":"at+jwt","kid":"k\"1"}"#);
    }
}
