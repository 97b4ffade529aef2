use serde_json::{Map, Value};

use crate::keys::header_for;
use crate::{Jwks, JwsKey, TokenError, TokenKind};

/// JWK members a verifier reads from a fetched or published JWKS; private
/// members (`d`, `p`, `q`, `k`, ...) are dropped before a key is loaded.
const PUBLIC_MEMBERS: [&str; 9] = ["kty", "kid", "alg", "use", "n", "e", "crv", "x", "y"];

/// The keys of one token kind: at most one signing key and any number of
/// verification keys, each pinned to its own algorithm and, when there are
/// several, told apart by a unique `kid`.
///
/// Verification picks the key by the token header's `kid` and accepts only
/// that key's algorithm. A token without `kid` is accepted only when the set
/// holds exactly one key.
#[derive(Debug)]
pub struct KeySet {
    entries: Vec<Entry>,
}

#[derive(Debug)]
struct Entry {
    key: JwsKey,
    signing: bool,
    /// Seconds since the Unix epoch from which the key no longer verifies.
    retire_at: Option<u64>,
    /// The encoded protected headers this key writes for access and refresh
    /// tokens, so a token carrying one byte for byte is known without
    /// parsing its header (see [`KeySet::known_header`]).
    headers: [String; 2],
}

impl KeySet {
    /// A set whose signing key is `signing` (which also verifies).
    ///
    /// # Errors
    ///
    /// [`TokenError::NoSigningKey`] when `signing` is only a public key.
    pub fn new(signing: JwsKey) -> Result<Self, TokenError> {
        if !signing.can_sign() {
            return Err(TokenError::NoSigningKey);
        }
        Ok(Self::single(signing))
    }

    #[cfg(feature = "jwks-fetch")]
    pub(crate) fn empty() -> Self {
        Self { entries: Vec::new() }
    }

    pub(crate) fn single(signing: JwsKey) -> Self {
        let signing_ok = signing.can_sign();
        Self { entries: vec![Entry::new(signing, signing_ok)] }
    }

    /// A set that only verifies, for a service that checks tokens another
    /// one issues.
    ///
    /// # Errors
    ///
    /// [`TokenError::KidRequired`] or [`TokenError::DuplicateKid`] as for
    /// [`add_key`](Self::add_key).
    pub fn verify_only(keys: impl IntoIterator<Item = JwsKey>) -> Result<Self, TokenError> {
        let mut set = Self { entries: Vec::new() };
        for key in keys {
            set.add_key(key)?;
        }
        Ok(set)
    }

    /// This set with one more verification key.
    ///
    /// # Errors
    ///
    /// As [`add_key`](Self::add_key).
    pub fn with_key(mut self, key: JwsKey) -> Result<Self, TokenError> {
        self.add_key(key)?;
        Ok(self)
    }

    /// Adds a key that verifies but does not sign.
    ///
    /// # Errors
    ///
    /// [`TokenError::KidRequired`] when the set would hold several keys and
    /// one has no `kid`; [`TokenError::DuplicateKid`] when the `kid` is taken.
    pub fn add_key(&mut self, key: JwsKey) -> Result<(), TokenError> {
        self.check_kid(&key)?;
        self.entries.push(Entry::new(key, false));
        Ok(())
    }

    /// Makes `signing` the signing key. The previous signing key stays as a
    /// verification key, until `retire_old_at` (seconds since the Unix
    /// epoch) when given, so tokens it signed keep verifying.
    ///
    /// # Errors
    ///
    /// [`TokenError::NoSigningKey`] when `signing` cannot sign; otherwise as
    /// [`add_key`](Self::add_key). The set is unchanged on error.
    pub fn rotate(
        &mut self,
        signing: JwsKey,
        retire_old_at: Option<u64>,
    ) -> Result<(), TokenError> {
        if !signing.can_sign() {
            return Err(TokenError::NoSigningKey);
        }
        self.check_kid(&signing)?;
        for entry in self.entries.iter_mut().filter(|entry| entry.signing) {
            entry.signing = false;
            entry.retire_at = retire_old_at;
        }
        self.entries.push(Entry::new(signing, true));
        Ok(())
    }

    /// Drops the keys retired by `now` (seconds since the Unix epoch).
    pub fn remove_retired(&mut self, now: u64) {
        self.entries.retain(|entry| entry.is_live(now));
    }

    /// The key that signs new tokens, if any.
    pub fn signing_key(&self) -> Option<&JwsKey> {
        self.entries.iter().find(|entry| entry.signing).map(|entry| &entry.key)
    }

    /// Every key, the signing key included.
    pub fn keys(&self) -> impl Iterator<Item = &JwsKey> {
        self.entries.iter().map(|entry| &entry.key)
    }

    /// How many keys the set holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the set holds no key.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether a key has this `kid`.
    pub fn contains_kid(&self, kid: &str) -> bool {
        self.keys().any(|key| key.kid() == Some(kid))
    }

    /// The public keys as a JWK Set, each with `kid`, `alg` and `use`. HMAC
    /// keys never appear; nor does any private member.
    pub fn jwks(&self) -> Jwks {
        Jwks { keys: self.keys().filter_map(JwsKey::public_jwk).collect() }
    }

    /// A verify-only set from a JWKS document (RFC 7517 section 5).
    ///
    /// Only public members are read. Keys that cannot verify JWS for us are
    /// skipped: `use` other than `sig`, `oct` keys (a shared secret is never
    /// taken from a document), RSA keys without `alg`, and keys that fail
    /// the load checks (weak, unsupported type or curve).
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidJwks`] when the text is not a JWKS or no key is
    /// usable; [`TokenError::KidRequired`] or [`TokenError::DuplicateKid`]
    /// as for [`add_key`](Self::add_key).
    pub fn from_jwks(json: &str) -> Result<Self, TokenError> {
        let document: Value =
            serde_json::from_str(json).map_err(|_| TokenError::InvalidJwks("not json"))?;
        let keys = document
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(TokenError::InvalidJwks("no `keys` array"))?;

        let usable = keys.iter().filter_map(|jwk| {
            let jwk = jwk.as_object()?;
            if jwk.get("kty").and_then(Value::as_str) == Some("oct") {
                return None;
            }
            let public: Map<String, Value> = PUBLIC_MEMBERS
                .iter()
                .filter_map(|name| Some(((*name).to_owned(), jwk.get(*name)?.clone())))
                .collect();
            JwsKey::from_jwk(&Value::Object(public), None).ok()
        });
        let set = Self::verify_only(usable)?;
        if set.is_empty() {
            return Err(TokenError::InvalidJwks("no usable signature key"));
        }
        Ok(set)
    }

    /// The key that must have signed a token whose header names `kid`.
    pub(crate) fn select(&self, kid: Option<&str>, now: u64) -> Result<&JwsKey, TokenError> {
        let entry = match kid {
            Some(kid) => self
                .entries
                .iter()
                .find(|entry| entry.key.kid() == Some(kid))
                .ok_or(TokenError::UnknownKid)?,
            None => match self.entries.as_slice() {
                [only] => only,
                [] => return Err(TokenError::UnknownKid),
                _ => return Err(TokenError::MissingKid),
            },
        };
        if !entry.is_live(now) {
            return Err(TokenError::UnknownKid);
        }
        Ok(&entry.key)
    }

    /// The key whose own header for tokens of `kind` (as this crate writes
    /// it: `alg`, `typ`, then `kid`) is exactly `encoded_header`, if any.
    ///
    /// Such a header decodes to that key's `alg` and `kid` and the `typ` of
    /// `kind`, and to nothing else, so the verifier can take those values
    /// without decoding it. A header written any other way (other members,
    /// order, spacing or escapes) is not recognised and is parsed as usual.
    pub(crate) fn known_header(&self, encoded_header: &str, kind: TokenKind) -> Option<&JwsKey> {
        let index = match kind {
            TokenKind::Access => 0,
            TokenKind::Refresh => 1,
        };
        self.entries
            .iter()
            .find(|entry| entry.headers[index] == encoded_header)
            .map(|entry| &entry.key)
    }

    fn check_kid(&self, key: &JwsKey) -> Result<(), TokenError> {
        if self.entries.is_empty() {
            return Ok(());
        }
        let kid = key.kid().ok_or(TokenError::KidRequired)?;
        if self.keys().any(|old| old.kid().is_none()) {
            return Err(TokenError::KidRequired);
        }
        if self.contains_kid(kid) {
            return Err(TokenError::DuplicateKid(kid.to_owned()));
        }
        Ok(())
    }
}

impl Entry {
    fn new(key: JwsKey, signing: bool) -> Self {
        let headers = TokenKind::ALL.map(|kind| header_for(kind, &key));
        Self { key, signing, retire_at: None, headers }
    }

    fn is_live(&self, now: u64) -> bool {
        self.retire_at.is_none_or(|retire_at| now < retire_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Algorithm;

    fn hmac(kid: Option<&str>) -> JwsKey {
        let key = JwsKey::generate(Algorithm::Hs256).unwrap();
        match kid {
            Some(kid) => key.with_kid(kid),
            None => key,
        }
    }

    #[test]
    fn a_second_key_without_kid_is_refused() {
        let mut set = KeySet::new(hmac(None)).unwrap();
        assert!(matches!(set.add_key(hmac(Some("b"))), Err(TokenError::KidRequired)));

        let mut set = KeySet::new(hmac(Some("a"))).unwrap();
        assert!(matches!(set.add_key(hmac(None)), Err(TokenError::KidRequired)));
    }

    #[test]
    fn duplicate_kid_is_refused_and_leaves_the_set_unchanged() {
        let mut set = KeySet::new(hmac(Some("a"))).unwrap();
        let err = set.rotate(hmac(Some("a")), None).unwrap_err();
        assert!(matches!(&err, TokenError::DuplicateKid(kid) if kid == "a"), "{err}");
        assert_eq!(set.len(), 1);
        assert_eq!(set.signing_key().unwrap().kid(), Some("a"));
    }

    #[test]
    fn token_without_kid_selects_only_a_lone_key() {
        let set = KeySet::new(hmac(Some("a"))).unwrap();
        assert!(set.select(None, 0).is_ok());

        let set = set.with_key(hmac(Some("b"))).unwrap();
        assert!(matches!(set.select(None, 0), Err(TokenError::MissingKid)));
        assert_eq!(set.select(Some("b"), 0).unwrap().kid(), Some("b"));
        assert!(matches!(set.select(Some("c"), 0), Err(TokenError::UnknownKid)));
    }

    #[test]
    fn rotated_out_key_verifies_until_its_retirement_only() {
        let mut set = KeySet::new(hmac(Some("old"))).unwrap();
        set.rotate(hmac(Some("new")), Some(100)).unwrap();

        assert_eq!(set.signing_key().unwrap().kid(), Some("new"));
        assert!(set.select(Some("old"), 99).is_ok());
        assert!(matches!(set.select(Some("old"), 100), Err(TokenError::UnknownKid)));

        set.remove_retired(100);
        assert_eq!(set.len(), 1);
        assert!(!set.contains_kid("old"));
    }

    #[test]
    fn public_key_cannot_be_the_signing_key() {
        let private = JwsKey::generate(Algorithm::EdDsa).unwrap();
        let public = JwsKey::from_der(Algorithm::EdDsa, private.public_key_der().unwrap()).unwrap();
        assert!(matches!(KeySet::new(public), Err(TokenError::NoSigningKey)));
    }
}
