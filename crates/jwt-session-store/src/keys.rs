/// Names of the keys of one user, all sharing the hash tag `{<subject>}` so
/// that every multi-key step runs on one Redis Cluster slot:
///
/// - `<prefix>session:{<subject>}:<sid>`: the session (a hash);
/// - `<prefix>access:{<subject>}:<sid>:<jti>`: a live access token of that
///   session, so a token is live only together with its own session;
/// - `<prefix>sessions:{<subject>}`: the user's sessions by expiry (a sorted set).
///
/// Braces and `%` in the subject are percent-encoded, so the tag is always
/// exactly the subject.
#[derive(Clone, Debug)]
pub(crate) struct UserKeys {
    session_prefix: String,
    access_prefix: String,
    index: String,
}

impl UserKeys {
    pub(crate) fn new(prefix: &str, subject: &str) -> Self {
        let tag = hash_tag(subject);
        Self {
            session_prefix: format!("{prefix}session:{tag}:"),
            access_prefix: format!("{prefix}access:{tag}:"),
            index: format!("{prefix}sessions:{tag}"),
        }
    }

    pub(crate) fn session(&self, sid: &str) -> String {
        format!("{}{sid}", self.session_prefix)
    }

    pub(crate) fn session_prefix(&self) -> &str {
        &self.session_prefix
    }

    pub(crate) fn access(&self, sid: &str, jti: &str) -> String {
        format!("{}{sid}:{jti}", self.access_prefix)
    }

    /// The prefix of every access key of the user.
    pub(crate) fn access_prefix(&self) -> &str {
        &self.access_prefix
    }

    /// The prefix of the access keys of one session.
    pub(crate) fn session_access_prefix(&self, sid: &str) -> String {
        format!("{}{sid}:", self.access_prefix)
    }

    pub(crate) fn index(&self) -> &str {
        &self.index
    }

    /// The prefixes of every access key and every session key, whose
    /// changes the local cache follows.
    #[cfg(feature = "redis")]
    pub(crate) fn tracked_prefixes(prefix: &str) -> Vec<String> {
        vec![format!("{prefix}access:"), format!("{prefix}session:")]
    }
}

/// `{value}`, a Redis Cluster hash tag that is exactly `value`: braces and
/// `%` inside it are percent-encoded, so no value can end the tag early or
/// collide with another value's tag. Keys that share a tag share a slot.
pub fn hash_tag(value: &str) -> String {
    let mut tag = String::with_capacity(value.len() + 2);
    tag.push('{');
    for c in value.chars() {
        match c {
            '%' => tag.push_str("%25"),
            '{' => tag.push_str("%7B"),
            '}' => tag.push_str("%7D"),
            other => tag.push(other),
        }
    }
    tag.push('}');
    tag
}

#[cfg(test)]
mod tests {
    use super::UserKeys;

    #[test]
    fn every_key_of_a_user_carries_the_subject_as_hash_tag() {
        let keys = UserKeys::new("app:", "42");
        assert_eq!(keys.session("s1"), "app:session:{42}:s1");
        assert_eq!(keys.access("s1", "j1"), "app:access:{42}:s1:j1");
        assert_eq!(keys.index(), "app:sessions:{42}");
    }

    #[test]
    fn braces_in_a_subject_cannot_change_the_hash_tag() {
        let keys = UserKeys::new("", "a}b{c%");
        assert_eq!(keys.index(), "sessions:{a%7Db%7Bc%25}");
    }
}
