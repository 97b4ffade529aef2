use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::claims::{Claims, REGISTERED};
use crate::compact;
use crate::keys::TokenKeys;
use crate::{Jwks, JwsKey, TokenError, TokenKind, TokenSettings};

/// Longest subject or session id accepted when issuing, in bytes.
const MAX_ID_BYTES: usize = 256;

/// Issues and verifies access and refresh tokens with one set of settings and
/// keys.
///
/// Build it once at start-up and share it (it is `Send + Sync`); nothing in it
/// is rebuilt per token. Each kind's signing key can be rotated while it is
/// shared ([`rotate_key`](Self::rotate_key)).
#[derive(Debug)]
pub struct TokenService {
    settings: TokenSettings,
    keys: TokenKeys,
}

/// A freshly signed token with the claims it carries.
#[derive(Clone)]
pub struct IssuedToken {
    /// The compact JWS to hand to the client.
    pub token: String,
    /// The claims inside `token`.
    pub claims: Claims,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"<redacted>")
            .field("claims", &self.claims)
            .finish()
    }
}

/// An access token and a refresh token of one session.
#[derive(Clone, Debug)]
pub struct TokenPair {
    /// The short-lived token for requests.
    pub access: IssuedToken,
    /// The long-lived token for obtaining the next pair.
    pub refresh: IssuedToken,
}

impl TokenService {
    /// Checks the settings.
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidSettings`] naming the first setting out of range.
    pub fn new(settings: TokenSettings, keys: TokenKeys) -> Result<Self, TokenError> {
        settings.validate()?;
        Ok(Self { settings, keys })
    }

    /// The settings this service was built with.
    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    /// Issues an access and a refresh token for `subject` in session
    /// `session_id`, valid from now.
    ///
    /// # Errors
    ///
    /// [`TokenError::InvalidInput`] for an empty or over-long subject or
    /// session id; [`TokenError::Signing`] if the signing backend fails.
    pub fn issue_pair(&self, subject: &str, session_id: &str) -> Result<TokenPair, TokenError> {
        self.issue_pair_at(subject, session_id, unix_now())
    }

    /// As [`issue_pair`](Self::issue_pair), with `now` in seconds since the
    /// Unix epoch.
    ///
    /// # Errors
    ///
    /// As [`issue_pair`](Self::issue_pair).
    pub fn issue_pair_at(
        &self,
        subject: &str,
        session_id: &str,
        now: u64,
    ) -> Result<TokenPair, TokenError> {
        Ok(TokenPair {
            access: self.issue_at(TokenKind::Access, subject, session_id, now)?,
            refresh: self.issue_at(TokenKind::Refresh, subject, session_id, now)?,
        })
    }

    /// Issues one token of `kind`, with a fresh `jti`, at `now` (seconds since
    /// the Unix epoch).
    ///
    /// # Errors
    ///
    /// As [`issue_pair`](Self::issue_pair).
    pub fn issue_at(
        &self,
        kind: TokenKind,
        subject: &str,
        session_id: &str,
        now: u64,
    ) -> Result<IssuedToken, TokenError> {
        self.issue_with(kind, subject, session_id, Map::new(), now, new_id())
    }

    /// The pair that replaces the refresh token `previous`, issued at `now`.
    ///
    /// Its token ids are derived from `previous.jti` (name-based UUIDs), so
    /// issuing the successor of the same token at the same time again gives
    /// the same ids and, with a deterministic algorithm such as HS256, the
    /// same tokens. That is what lets a store answer a refresh that races
    /// another, or is retried, with the pair it already handed out.
    ///
    /// # Errors
    ///
    /// As [`issue_pair`](Self::issue_pair).
    pub fn issue_successor_at(&self, previous: &Claims, now: u64) -> Result<TokenPair, TokenError> {
        let [access_jti, refresh_jti] = successor_ids(&previous.jti);
        Ok(TokenPair {
            access: self.issue_with(
                TokenKind::Access,
                &previous.sub,
                &previous.sid,
                Map::new(),
                now,
                access_jti,
            )?,
            refresh: self.issue_with(
                TokenKind::Refresh,
                &previous.sub,
                &previous.sid,
                Map::new(),
                now,
                refresh_jti,
            )?,
        })
    }

    /// As [`issue_at`](Self::issue_at), adding the caller's own claims: `custom`
    /// must serialize to a JSON object whose members are written beside the
    /// registered claims. Read them back with
    /// [`verify_custom`](Self::verify_custom).
    ///
    /// # Errors
    ///
    /// As [`issue_pair`](Self::issue_pair); [`TokenError::InvalidInput`] when
    /// `custom` is not a JSON object or names a registered claim (`iss`,
    /// `sub`, `aud`, `jti`, `sid`, `iat`, `nbf`, `exp`).
    pub fn issue_custom_at<C: Serialize>(
        &self,
        kind: TokenKind,
        subject: &str,
        session_id: &str,
        custom: &C,
        now: u64,
    ) -> Result<IssuedToken, TokenError> {
        let Ok(Value::Object(custom)) = serde_json::to_value(custom) else {
            return Err(TokenError::InvalidInput("custom claims are not a json object"));
        };
        if custom.keys().any(|name| REGISTERED.contains(&name.as_str())) {
            return Err(TokenError::InvalidInput("custom claims use a registered claim name"));
        }
        self.issue_with(kind, subject, session_id, custom, now, new_id())
    }

    /// As [`issue_custom_at`](Self::issue_custom_at), valid from now.
    ///
    /// # Errors
    ///
    /// As [`issue_custom_at`](Self::issue_custom_at).
    pub fn issue_custom<C: Serialize>(
        &self,
        kind: TokenKind,
        subject: &str,
        session_id: &str,
        custom: &C,
    ) -> Result<IssuedToken, TokenError> {
        self.issue_custom_at(kind, subject, session_id, custom, unix_now())
    }

    /// Makes `key` the signing key of `kind` from now on. The previous
    /// signing key keeps verifying until every token it signed has expired
    /// (the kind's lifetime plus the leeway); keys retired earlier are
    /// dropped. Tokens carry the signing key's `kid`, so both keys need one.
    ///
    /// # Errors
    ///
    /// [`TokenError::NoSigningKey`] when `key` cannot sign;
    /// [`TokenError::KidRequired`] or [`TokenError::DuplicateKid`] when the
    /// kids do not tell the keys apart. Nothing changes on error.
    pub fn rotate_key(&self, kind: TokenKind, key: JwsKey) -> Result<(), TokenError> {
        self.rotate_key_at(kind, key, unix_now())
    }

    /// As [`rotate_key`](Self::rotate_key), at `now` (seconds since the Unix
    /// epoch).
    ///
    /// # Errors
    ///
    /// As [`rotate_key`](Self::rotate_key).
    pub fn rotate_key_at(&self, kind: TokenKind, key: JwsKey, now: u64) -> Result<(), TokenError> {
        let retire_at = now
            .saturating_add(self.settings.ttl_secs(kind))
            .saturating_add(self.settings.leeway_secs);
        self.keys.rotate(kind, key, now, retire_at)
    }

    /// The public keys of access tokens as a JWKS, for services that verify
    /// them with [`JwksVerifier`](crate::JwksVerifier). HMAC keys never
    /// appear, and refresh keys are not published: only this service reads
    /// refresh tokens.
    pub fn jwks(&self) -> Jwks {
        self.keys.read(TokenKind::Access).set.jwks()
    }

    fn issue_with(
        &self,
        kind: TokenKind,
        subject: &str,
        session_id: &str,
        custom: Map<String, Value>,
        now: u64,
        jti: String,
    ) -> Result<IssuedToken, TokenError> {
        check_id(subject, "subject is empty or longer than 256 bytes")?;
        check_id(session_id, "session id is empty or longer than 256 bytes")?;

        let claims = Claims {
            iss: self.settings.issuer.clone(),
            sub: subject.to_owned(),
            aud: vec![self.settings.audience.clone()],
            jti,
            sid: session_id.to_owned(),
            iat: now,
            nbf: None,
            exp: now.saturating_add(self.settings.ttl_secs(kind)),
        };
        const UNSERIALIZABLE: TokenError = TokenError::InvalidInput("claims do not serialize");
        let payload = if custom.is_empty() {
            serde_json::to_vec(&claims).map_err(|_| UNSERIALIZABLE)?
        } else {
            let Ok(Value::Object(mut all)) = serde_json::to_value(&claims) else {
                return Err(UNSERIALIZABLE);
            };
            all.extend(custom);
            serde_json::to_vec(&all).map_err(|_| UNSERIALIZABLE)?
        };

        let keys = self.keys.read(kind);
        let key = keys.set.signing_key().ok_or(TokenError::NoSigningKey)?;
        let token = compact::sign(key, &keys.header, &payload)?;
        Ok(IssuedToken { token, claims })
    }

    /// Until when a store should keep a token's id, in seconds since the Unix
    /// epoch: its expiry plus the leeway, so that a token the verifier still
    /// accepts is never reported as revoked merely because its entry expired.
    pub fn retain_until(&self, claims: &Claims) -> u64 {
        claims.exp.saturating_add(self.settings.leeway_secs)
    }

    pub(crate) fn keys(&self) -> &TokenKeys {
        &self.keys
    }
}

fn check_id(id: &str, problem: &'static str) -> Result<(), TokenError> {
    if id.is_empty() || id.len() > MAX_ID_BYTES {
        return Err(TokenError::InvalidInput(problem));
    }
    Ok(())
}

/// The access and refresh token ids of the successor of refresh token
/// `previous_jti`: name-based (v5) UUIDs, one namespace per kind.
pub fn successor_ids(previous_jti: &str) -> [String; 2] {
    const ACCESS: uuid::Uuid = uuid::Uuid::from_u128(0x5c1b_8e02_7a4d_4f0e_9b6f_0d1e_a7c3_4b21);
    const REFRESH: uuid::Uuid = uuid::Uuid::from_u128(0x9e47_13d6_2f88_4c5a_b0e9_6a2c_58f1_d730);
    [ACCESS, REFRESH].map(|ns| uuid::Uuid::new_v5(&ns, previous_jti.as_bytes()).to_string())
}

/// A new random identifier (UUID v4, hyphenated), fit for a `jti` or a
/// session id.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Seconds since the Unix epoch; 0 if the system clock is set before it.
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
