use jwt_session_token::{Claims, TokenKind, TokenPair, TokenService};

/// Names one issued token: its kind, its subject and its `jti`.
///
/// The subject is part of the name so that every key of one user shares a
/// Redis Cluster hash tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenId<'a> {
    /// Access or refresh.
    pub kind: TokenKind,
    /// The token's `sub`.
    pub subject: &'a str,
    /// The token's `jti`.
    pub jti: &'a str,
}

/// An issued token to be kept live until `expires_at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiveToken<'a> {
    /// Which token.
    pub id: TokenId<'a>,
    /// When its entry vanishes, in seconds since the Unix epoch; usually
    /// [`TokenService::retain_until`](jwt_session_token::TokenService::retain_until).
    pub expires_at: u64,
}

impl<'a> LiveToken<'a> {
    /// Both tokens of a freshly issued pair, each kept for as long as
    /// `tokens` would accept it.
    pub fn of_pair(tokens: &TokenService, pair: &'a TokenPair) -> [Self; 2] {
        [(TokenKind::Access, &pair.access), (TokenKind::Refresh, &pair.refresh)].map(
            |(kind, issued)| Self {
                id: TokenId::of(kind, &issued.claims),
                expires_at: tokens.retain_until(&issued.claims),
            },
        )
    }
}

impl<'a> TokenId<'a> {
    /// The id of a verified token of `kind`.
    pub fn of(kind: TokenKind, claims: &'a Claims) -> Self {
        Self { kind, subject: &claims.sub, jti: &claims.jti }
    }

    /// The storage key: `<prefix><kind>:{<subject>}:<jti>`.
    ///
    /// Braces and `%` in the subject are percent-encoded so that the hash tag
    /// is always exactly the subject.
    pub(crate) fn key(&self, prefix: &str) -> String {
        let mut key =
            String::with_capacity(prefix.len() + self.subject.len() + self.jti.len() + 12);
        key.push_str(prefix);
        key.push_str(self.kind.as_str());
        key.push_str(":{");
        for c in self.subject.chars() {
            match c {
                '%' => key.push_str("%25"),
                '{' => key.push_str("%7B"),
                '}' => key.push_str("%7D"),
                other => key.push(other),
            }
        }
        key.push_str("}:");
        key.push_str(self.jti);
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_puts_the_subject_in_a_hash_tag() {
        let id = TokenId { kind: TokenKind::Access, subject: "42", jti: "abc" };
        assert_eq!(id.key("app:"), "app:access:{42}:abc");
    }

    #[test]
    fn braces_in_a_subject_cannot_change_the_hash_tag() {
        let id = TokenId { kind: TokenKind::Refresh, subject: "a}b{c%", jti: "j" };
        assert_eq!(id.key(""), "refresh:{a%7Db%7Bc%25}:j");
    }
}
