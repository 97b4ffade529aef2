/// The two kinds of token this crate issues.
///
/// The kind is written into the JOSE header's `typ` and checked on every
/// verification, so a refresh token can never pass as an access token even
/// when both kinds share a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// A short-lived token presented on every request (`typ` `at+jwt`, RFC 9068).
    Access,
    /// A long-lived token presented only to obtain a new pair (`typ` `refresh+jwt`).
    Refresh,
}

impl TokenKind {
    /// Both kinds, in the order of their discriminants.
    pub(crate) const ALL: [TokenKind; 2] = [Self::Access, Self::Refresh];

    /// The `typ` header value written for this kind.
    pub const fn typ(self) -> &'static str {
        match self {
            Self::Access => "at+jwt",
            Self::Refresh => "refresh+jwt",
        }
    }

    /// A short lowercase name (`access`, `refresh`) for logs and storage keys.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
        }
    }

    /// Whether a header's `typ` names this kind.
    ///
    /// `typ` is a media type (RFC 7515, section 4.1.9): it compares without
    /// regard to case, and the `application/` prefix may be left out.
    pub fn matches_typ(self, typ: &str) -> bool {
        crate::rules::typ_matches(typ, self.typ())
    }
}

impl std::fmt::Display for TokenKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::TokenKind;

    #[test]
    fn typ_matches_with_or_without_media_type_prefix_in_any_case() {
        assert!(TokenKind::Access.matches_typ("at+jwt"));
        assert!(TokenKind::Access.matches_typ("application/AT+JWT"));
        assert!(TokenKind::Refresh.matches_typ("Refresh+JWT"));
    }

    #[test]
    fn typ_of_one_kind_does_not_match_the_other() {
        assert!(!TokenKind::Access.matches_typ("refresh+jwt"));
        assert!(!TokenKind::Refresh.matches_typ("at+jwt"));
        assert!(!TokenKind::Access.matches_typ("JWT"));
        assert!(!TokenKind::Access.matches_typ("application/"));
    }
}
