use std::fmt;
use std::sync::{PoisonError, RwLock, RwLockReadGuard};

use hmac::{Hmac, KeyInit, Mac as _};
use sha2::{Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq;

use crate::algorithm::Family;
use crate::{compact, Algorithm, JwsKey, KeySet, TokenError, TokenKind};

/// The shortest HMAC secret accepted, in bytes (256 bits, RFC 7518 section 3.2).
///
/// HS384 and HS512 need 48 and 64 bytes: a key at least as long as the hash.
pub const MIN_SECRET_BYTES: usize = 32;

/// An HMAC key (HS256, HS384 or HS512), used both to sign and to verify.
///
/// The secret is not kept: the key holds the hash states after the padded
/// secret's inner and outer blocks (RFC 2104), computed once when the key is
/// built, which every MAC starts from (so each MAC skips those two blocks).
/// Those states are zeroed when the key is dropped; `Debug` never shows
/// them.
pub struct HmacKey {
    alg: Algorithm,
    mac: Keyed,
}

/// The pre-keyed HMAC state of each hash (RustCrypto `hmac` and `sha2`,
/// which use the CPU's SHA extensions where it has them).
#[derive(Clone)]
enum Keyed {
    Sha256(Hmac<Sha256>),
    Sha384(Hmac<Sha384>),
    Sha512(Hmac<Sha512>),
}

/// The longest MAC (HS512), in bytes.
const MAX_MAC_BYTES: usize = 64;

impl Keyed {
    fn new(alg: Algorithm, secret: &[u8]) -> Self {
        // HMAC takes keys of any length (longer ones are hashed first), so
        // `new_from_slice` cannot fail; the length rules are ours, above.
        let keyed = match alg {
            Algorithm::Hs384 => Hmac::<Sha384>::new_from_slice(secret).map(Self::Sha384),
            Algorithm::Hs512 => Hmac::<Sha512>::new_from_slice(secret).map(Self::Sha512),
            _ => Hmac::<Sha256>::new_from_slice(secret).map(Self::Sha256),
        };
        keyed.unwrap_or_else(|_| unreachable!("hmac accepts keys of every length"))
    }

    /// The MAC of `input` into `out`; returns its length.
    fn compute(&self, input: &[u8], out: &mut [u8; MAX_MAC_BYTES]) -> usize {
        fn finish<D: hmac::EagerHash>(mut mac: Hmac<D>, input: &[u8], out: &mut [u8]) -> usize
        where
            Hmac<D>: hmac::Mac,
        {
            mac.update(input);
            let tag = mac.finalize().into_bytes();
            out[..tag.len()].copy_from_slice(&tag);
            tag.len()
        }
        match self {
            Self::Sha256(mac) => finish(mac.clone(), input, out),
            Self::Sha384(mac) => finish(mac.clone(), input, out),
            Self::Sha512(mac) => finish(mac.clone(), input, out),
        }
    }
}

impl HmacKey {
    /// Builds an HS256 key from raw secret bytes.
    ///
    /// # Errors
    ///
    /// [`TokenError::WeakKey`] when the secret is shorter than
    /// [`MIN_SECRET_BYTES`]; [`TokenError::KeyMismatch`] when it is a PEM
    /// block (a public key is never an HMAC secret).
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
    /// short.
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
        let Family::Hmac { .. } = alg.family() else {
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
        Ok(Self { alg, mac: Keyed::new(alg, secret) })
    }

    /// The JWS `alg` this key is pinned to.
    pub fn algorithm(&self) -> &'static str {
        self.alg.as_str()
    }

    pub(crate) fn alg(&self) -> Algorithm {
        self.alg
    }

    pub(crate) fn sign(&self, signing_input: &[u8]) -> Result<Vec<u8>, TokenError> {
        let mut out = [0u8; MAX_MAC_BYTES];
        let len = self.mac.compute(signing_input, &mut out);
        Ok(out[..len].to_vec())
    }

    /// Checks a MAC in constant time: recomputed from the pre-keyed state
    /// and compared with `subtle` (a MAC of another length is refused).
    pub(crate) fn verify(&self, signing_input: &[u8], signature: &[u8]) -> Result<(), TokenError> {
        let mut expected = [0u8; MAX_MAC_BYTES];
        let len = self.mac.compute(signing_input, &mut expected);
        if bool::from(expected[..len].ct_eq(signature)) {
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
pub(crate) fn header_for(kind: TokenKind, key: &JwsKey) -> String {
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
    use josekit::jws::{JwsSigner, HS256, HS384, HS512};
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::sign::Signer;

    #[test]
    fn macs_equal_those_of_josekit_and_openssl_for_every_hash() {
        let input = b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0";
        let secret = [0x5au8; 200]; // longer than every block: hashed first
        for (alg, len) in [(Algorithm::Hs256, 32), (Algorithm::Hs384, 48), (Algorithm::Hs512, 64)] {
            for secret in [&secret[..len], &secret[..]] {
                let ours = HmacKey::new(alg, secret).unwrap().sign(input).unwrap();
                let signer = match alg {
                    Algorithm::Hs384 => HS384.signer_from_bytes(secret),
                    Algorithm::Hs512 => HS512.signer_from_bytes(secret),
                    _ => HS256.signer_from_bytes(secret),
                };
                assert_eq!(ours, signer.unwrap().sign(input).unwrap(), "{alg}");
            }
        }
        // A weak (verify-only) key, checked against OpenSSL's HMAC.
        let weak = HmacKey::without_minimum_length(Algorithm::Hs256, b"my-secret-key").unwrap();
        let key = PKey::hmac(b"my-secret-key").unwrap();
        let mut signer = Signer::new(MessageDigest::sha256(), &key).unwrap();
        signer.update(input).unwrap();
        let expected = signer.sign_to_vec().unwrap();
        assert_eq!(weak.sign(input).unwrap(), expected);
        assert!(weak.verify(input, &expected).is_ok());
    }

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
