use crate::TokenError;

/// What the issuer writes into tokens and what the verifier demands of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenSettings {
    /// `iss` written into every token and required on verification.
    pub issuer: String,
    /// `aud` written into every token; on verification the token's `aud`
    /// (string or array) must contain it.
    pub audience: String,
    /// Lifetime of access tokens in seconds. Default: 900 (15 minutes).
    pub access_ttl_secs: u64,
    /// Lifetime of refresh tokens in seconds. Default: 604 800 (7 days).
    pub refresh_ttl_secs: u64,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds. Default: 30.
    pub leeway_secs: u64,
    /// Longest token accepted, in bytes; longer input is refused before any
    /// decoding. Default: 4096.
    pub max_token_bytes: usize,
}

impl TokenSettings {
    /// Settings for `issuer` and `audience` with the default lifetimes,
    /// leeway and size limit.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            access_ttl_secs: 900,
            refresh_ttl_secs: 7 * 24 * 3600,
            leeway_secs: 30,
            max_token_bytes: 4096,
        }
    }

    /// Lifetime of a token of `kind`, in seconds.
    pub fn ttl_secs(&self, kind: crate::TokenKind) -> u64 {
        match kind {
            crate::TokenKind::Access => self.access_ttl_secs,
            crate::TokenKind::Refresh => self.refresh_ttl_secs,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), TokenError> {
        let problem = if self.issuer.is_empty() {
            "issuer is empty"
        } else if self.audience.is_empty() {
            "audience is empty"
        } else if self.access_ttl_secs == 0 {
            "access_ttl_secs is 0"
        } else if self.refresh_ttl_secs == 0 {
            "refresh_ttl_secs is 0"
        } else if self.max_token_bytes < 128 {
            "max_token_bytes is below 128"
        } else {
            return Ok(());
        };
        Err(TokenError::InvalidSettings(problem))
    }
}
