/// A session about to start: one login on one device, with its first pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewSession<'a> {
    /// The user id (`sub`).
    pub subject: &'a str,
    /// The new session id (`sid`).
    pub sid: &'a str,
    /// A short label of the device, such as a trimmed User-Agent.
    pub device: &'a str,
    /// The client's IP address, as text.
    pub ip: &'a str,
    /// The start time, in seconds since the Unix epoch.
    pub now: u64,
    /// The first access token.
    pub access: AccessGrant<'a>,
    /// The `jti` of the first refresh token.
    pub refresh_jti: &'a str,
    /// How long the session may last.
    pub lifetime: SessionLifetime,
    /// The most sessions the user may have at once, this one included:
    /// starting one more ends those that would end soonest, by idle timeout
    /// or absolute lifetime, whichever comes first (so, while far from the
    /// absolute end, the least recently refreshed). The new session always
    /// stays. `None`: no limit.
    pub max_sessions: Option<usize>,
}

/// An access token to keep live until `expires_at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessGrant<'a> {
    /// The token's `jti`.
    pub jti: &'a str,
    /// When its entry vanishes, in seconds since the Unix epoch; usually
    /// [`TokenService::retain_until`](jwt_session_token::TokenService::retain_until).
    pub expires_at: u64,
}

/// How long a session lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionLifetime {
    /// A session unused (not refreshed) for this many seconds ends.
    pub idle_secs: u64,
    /// No session lasts longer than this many seconds from its start.
    pub absolute_secs: u64,
}

/// Names one access token of one session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessRef<'a> {
    /// The token's `sub`.
    pub subject: &'a str,
    /// The token's `sid`.
    pub sid: &'a str,
    /// The token's `jti`.
    pub jti: &'a str,
}

impl<'a> AccessRef<'a> {
    /// The reference of a verified access token.
    pub fn of(claims: &'a jwt_session_token::Claims) -> Self {
        Self { subject: &claims.sub, sid: &claims.sid, jti: &claims.jti }
    }
}

/// What to do when a refresh token is used again after it was rotated
/// (outside the grace window, or one older than the previous token).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReusePolicy {
    /// End the whole session: every access and refresh token of it stops
    /// working. The default: a reused token is a sign of theft.
    #[default]
    RevokeSession,
    /// Revoke the session's current pair (its refresh token and newest access
    /// token); the session must log in again to go on.
    RevokeSuccessor,
    /// Refuse the reused token, change nothing else.
    AlertOnly,
}

impl ReusePolicy {
    /// The configuration name: `revoke-session`, `revoke-successor`, `alert-only`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::RevokeSession => "revoke-session",
            Self::RevokeSuccessor => "revoke-successor",
            Self::AlertOnly => "alert-only",
        }
    }

    /// The policy of a configuration name.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::RevokeSession, Self::RevokeSuccessor, Self::AlertOnly]
            .into_iter()
            .find(|policy| policy.as_str() == name)
    }
}

/// A request to trade the refresh token `presented_jti` for its successor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rotation<'a> {
    /// The token's `sub`.
    pub subject: &'a str,
    /// The token's `sid`.
    pub sid: &'a str,
    /// The presented refresh token's `jti`.
    pub presented_jti: &'a str,
    /// The successor pair's refresh token `jti`.
    pub successor_refresh_jti: &'a str,
    /// The successor pair's access token.
    pub successor_access: AccessGrant<'a>,
    /// The time of the request, in seconds since the Unix epoch.
    pub now: u64,
    /// How long after a rotation the rotated token still gets the same
    /// successor, in seconds.
    pub grace_secs: u64,
    /// The session's idle lifetime, in seconds, counted again from now.
    pub idle_secs: u64,
    /// What to do on reuse.
    pub on_reuse: ReusePolicy,
}

/// What a rotation did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RotationOutcome {
    /// The presented token was current: it is rotated, the successor is live.
    Rotated,
    /// The presented token was rotated `issued_at` (seconds since the Unix
    /// epoch), within the grace window: hand out the successor issued then.
    Replayed {
        /// When the successor was issued.
        issued_at: u64,
    },
    /// The token had been rotated before the grace window, or is older than
    /// the previous one: reuse, answered by the policy.
    Reused,
    /// The session has ended, expired or never existed.
    SessionGone,
}

/// A live session, as listed to its user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    /// The session id.
    pub sid: String,
    /// The device label given at login.
    pub device: String,
    /// The client IP given at login.
    pub ip: String,
    /// Start time, in seconds since the Unix epoch.
    pub created_at: u64,
    /// Last login or refresh, in seconds since the Unix epoch.
    pub last_used_at: u64,
    /// How many refresh tokens the session has had (1 after login).
    pub refresh_count: u64,
    /// When the session ends unless refreshed, in seconds since the Unix epoch.
    pub expires_at: u64,
}

impl SessionLifetime {
    /// When a session used at `now` and started at `created` ends.
    pub(crate) fn expiry(&self, created: u64, now: u64) -> u64 {
        created.saturating_add(self.absolute_secs).min(now.saturating_add(self.idle_secs))
    }
}
