//! Who may log in. Until real accounts exist, only the reference's demo user,
//! and only in development.

use subtle::ConstantTimeEq;

const DEMO_USERNAME: &[u8] = b"user";
const DEMO_PASSWORD: &[u8] = b"pass";
const DEMO_USER_ID: &str = "1";

/// The accounts the server knows.
#[derive(Clone, Debug)]
pub(crate) struct Users {
    demo: bool,
}

impl Users {
    pub(crate) fn new(with_demo_user: bool) -> Self {
        Self { demo: with_demo_user }
    }

    /// Whether any account can log in.
    pub(crate) fn any(&self) -> bool {
        self.demo
    }

    /// The user id for matching credentials.
    ///
    /// Both fields are always compared, in constant time per field, so the
    /// answer time does not tell which one was wrong.
    pub(crate) fn authenticate(&self, username: &str, password: &str) -> Option<&'static str> {
        let name_ok = username.as_bytes().ct_eq(DEMO_USERNAME);
        let password_ok = password.as_bytes().ct_eq(DEMO_PASSWORD);
        (self.demo && bool::from(name_ok & password_ok)).then_some(DEMO_USER_ID)
    }
}

#[cfg(test)]
mod tests {
    use super::Users;

    #[test]
    fn demo_user_logs_in_only_when_enabled_and_only_with_its_password() {
        assert_eq!(Users::new(true).authenticate("user", "pass"), Some("1"));
        assert_eq!(Users::new(true).authenticate("user", "pass "), None);
        assert_eq!(Users::new(true).authenticate("User", "pass"), None);
        assert_eq!(Users::new(false).authenticate("user", "pass"), None);
    }
}
