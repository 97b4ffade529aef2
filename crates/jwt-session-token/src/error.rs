use thiserror::Error;

/// Everything that can go wrong in this crate: building keys and settings,
/// issuing tokens, and refusing them on verification.
///
/// Every refusal of untrusted input has its own variant so that callers can
/// log and count them apart; an HTTP layer usually maps all of them to one
/// opaque "invalid token" answer.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TokenError {
    /// A secret is shorter than its algorithm allows; checked when the key is
    /// built.
    #[error("secret is {len} bytes; at least {min} bytes are required")]
    WeakKey {
        /// Length of the rejected secret in bytes.
        len: usize,
        /// Minimum length in bytes.
        min: usize,
    },
    /// josekit refused the key material.
    #[error("key material was refused")]
    KeyRefused(#[source] josekit::JoseError),
    /// A setting is out of range; the message names it.
    #[error("invalid token settings: {0}")]
    InvalidSettings(&'static str),
    /// The token is longer than [`TokenSettings::max_token_bytes`].
    ///
    /// [`TokenSettings::max_token_bytes`]: crate::TokenSettings::max_token_bytes
    #[error("token is {len} bytes, more than the limit of {max}")]
    TooLong {
        /// Length of the presented token in bytes.
        len: usize,
        /// The configured limit in bytes.
        max: usize,
    },
    /// The token is not a well-formed compact JWS with JSON header and claims.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The header names an algorithm other than the one pinned for the key.
    #[error("algorithm is not the one expected for this token kind")]
    WrongAlgorithm,
    /// The header carries a parameter we refuse to process (`crit`, `zip`).
    #[error("header parameter `{0}` is not supported")]
    UnsupportedHeader(&'static str),
    /// The signature does not match the token's content.
    #[error("bad signature")]
    BadSignature,
    /// The header's `typ` is not the one of the expected token kind.
    #[error("token type is not `{expected}`")]
    WrongType {
        /// The `typ` value the verifier required.
        expected: &'static str,
    },
    /// A claim the verifier requires is absent.
    #[error("required claim `{0}` is missing")]
    MissingClaim(&'static str),
    /// The `exp` claim lies in the past, beyond the leeway.
    #[error("token has expired")]
    Expired,
    /// The `nbf` or `iat` claim lies in the future, beyond the leeway.
    #[error("token is not valid yet")]
    NotYetValid,
    /// The `iss` claim is not the configured issuer.
    #[error("wrong issuer")]
    WrongIssuer,
    /// The `aud` claim does not contain the configured audience.
    #[error("wrong audience")]
    WrongAudience,
    /// The subject or session id handed to the issuer is unusable.
    #[error("cannot issue a token: {0}")]
    InvalidInput(&'static str),
    /// The signing backend failed.
    #[error("signing failed")]
    Signing(#[source] josekit::JoseError),
    /// An algorithm name this crate does not implement (or `none`).
    #[error("algorithm is not supported")]
    UnsupportedAlgorithm,
    /// An RSA key is shorter than 2048 bits; checked when the key is loaded.
    #[error("rsa key is {bits} bits; at least {min} bits are required")]
    WeakRsaKey {
        /// Modulus length of the rejected key in bits.
        bits: u32,
        /// Minimum modulus length in bits.
        min: u32,
    },
    /// The key's type (or curve) does not fit the algorithm it was declared
    /// for, such as an RSA key for `ES256` or a P-384 key for `ES256`.
    #[error("this {key} key cannot be used with {alg}")]
    KeyMismatch {
        /// The declared algorithm.
        alg: &'static str,
        /// What the key is (`rsa`, `ec p-384`, `ed448`, `oct`, ...).
        key: &'static str,
    },
    /// Key material is not in a form this crate reads; the message says why.
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// OpenSSL could not read the key material (PEM or DER).
    #[error("key material could not be read")]
    KeyParse(#[source] openssl::error::ErrorStack),
    /// Signing was asked of a key that holds only a public key, or of a key
    /// set without a signing key.
    #[error("no private key to sign with")]
    NoSigningKey,
    /// A key set would hold several keys and one of them has no `kid`.
    #[error("every key of a set with several keys needs a kid")]
    KidRequired,
    /// Two keys of one set have the same `kid`.
    #[error("kid `{0}` is used by two keys of one set")]
    DuplicateKid(String),
    /// The token's header has no `kid` and the key set holds several keys.
    #[error("token has no kid and several keys could have signed it")]
    MissingKid,
    /// No key of the set has the token's `kid` (or its key was retired).
    #[error("no key has the token's kid")]
    UnknownKid,
    /// A JWKS document is unusable; the message says why.
    #[error("invalid jwks: {0}")]
    InvalidJwks(&'static str),
    /// The JWKS could not be fetched and no keys are cached yet.
    #[error("jwks is unavailable")]
    JwksUnavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The header's `typ` is not the one a [`ClaimRules`] requires.
    ///
    /// [`ClaimRules`]: crate::ClaimRules
    #[error("token type is not `{0}`")]
    UnexpectedTyp(String),
    /// A time claim (`exp`, `nbf`, `iat`) is not a whole, non-negative
    /// number of seconds.
    #[error("claim `{0}` is not a whole number of seconds")]
    InvalidTime(&'static str),
    /// The claims do not deserialize into the caller's custom claims type.
    #[error("custom claims do not match the expected type")]
    CustomClaims(#[source] serde_json::Error),
}
