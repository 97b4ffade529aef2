//! User accounts: argon2id password hashes, normalised unique usernames, and
//! logins that cost the same whether or not the user exists.

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use tokio::sync::Semaphore;

use crate::data::{Account, AppData, UserStore};
use crate::errors::ApiError;

const DEMO_USERNAME: &str = "user";
const DEMO_PASSWORD: &str = "pass";
const DEMO_USER_ID: &str = "1";

/// Usernames are 3 to 64 characters once trimmed and lowercased.
const USERNAME_CHARS: std::ops::RangeInclusive<usize> = 3..=64;
/// Passwords chosen at registration are 8 to 1024 bytes.
const PASSWORD_BYTES: std::ops::RangeInclusive<usize> = 8..=1024;

/// The accounts the server knows, and how they are checked.
#[derive(Clone, Debug)]
pub(crate) struct Accounts {
    data: AppData,
    /// The development demo user, kept in the process only.
    demo: Option<Account>,
    /// Verified against when the user does not exist, so that both cases
    /// take the time of one argon2 verification.
    dummy_hash: String,
    registration: bool,
    /// Bounds the argon2 computations queued or running: each holds about
    /// 19 MiB and a core, so an unbounded burst of logins could exhaust both.
    hashing: Arc<Semaphore>,
    /// Threads of their own for argon2. Only these few threads ever hold its
    /// buffers, so the allocator's per-thread caches stay bounded; spread
    /// over actix's large blocking pool, a burst of logins left 19 MiB cached
    /// on each thread it touched (the load test saw gigabytes).
    pool: Arc<rayon::ThreadPool>,
}

/// Where the account of a login's username is.
#[derive(Debug)]
pub(crate) enum LoginName {
    /// The development demo user, kept in the process.
    Demo(Account),
    /// A stored account's normalised username (it may not exist).
    Stored(String),
    /// A username that breaks the rules: no account can have it.
    Unknown,
}

/// How long a request waits for a hashing slot before it is answered 503.
const HASHING_WAIT: Duration = Duration::from_secs(2);

impl Accounts {
    /// Accounts in `data`, plus the demo user `user`/`pass` when `with_demo_user`.
    pub(crate) fn new(
        data: AppData,
        with_demo_user: bool,
        registration: bool,
    ) -> Result<Self, ApiError> {
        let demo = with_demo_user
            .then(|| {
                hash_now(DEMO_PASSWORD).map(|password_hash| Account {
                    id: DEMO_USER_ID.to_owned(),
                    username: DEMO_USERNAME.to_owned(),
                    password_hash,
                })
            })
            .transpose()?;
        let dummy_hash = hash_now(&jwt_session_token::new_id())?;
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(cores)
            .thread_name(|i| format!("argon2-{i}"))
            .panic_handler(|_| tracing::error!("an argon2 worker panicked"))
            .build()
            .map_err(|_| ApiError::Hashing)?;
        Ok(Self {
            data,
            demo,
            dummy_hash,
            registration,
            hashing: Arc::new(Semaphore::new(cores * 2)),
            pool: Arc::new(pool),
        })
    }

    /// Runs one argon2 computation on the hashing threads, when a slot is free.
    async fn hashing<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit = tokio::time::timeout(HASHING_WAIT, self.hashing.clone().acquire_owned())
            .await
            .map_err(|_| ApiError::Busy)?
            .map_err(|_| ApiError::Busy)?;
        let (done, result) = tokio::sync::oneshot::channel();
        self.pool.spawn(move || {
            let _ = done.send(work());
            drop(permit);
        });
        result.await.map_err(|_| ApiError::Hashing)?
    }

    /// Whether anyone can log in without registering first.
    pub(crate) fn has_demo_user(&self) -> bool {
        self.demo.is_some()
    }

    pub(crate) fn registration_open(&self) -> bool {
        self.registration
    }

    /// The account whose username and password match, if any.
    ///
    /// # Errors
    ///
    /// [`ApiError::Store`] when the account store cannot answer.
    #[cfg(test)]
    pub(crate) async fn authenticate(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Option<Account>, ApiError> {
        let account = match self.login_name(username) {
            LoginName::Demo(demo) => Some(demo),
            LoginName::Stored(name) => self.data.account(&name).await?,
            LoginName::Unknown => None,
        };
        self.check_password(account, password).await
    }

    /// Where the account of a login's username is: the demo user in the
    /// process, a stored account to look up by its normalised name, or none
    /// (the name breaks the rules).
    pub(crate) fn login_name(&self, username: &str) -> LoginName {
        match normalize_username(username) {
            Ok(name) => match &self.demo {
                Some(demo) if demo.username == name => LoginName::Demo(demo.clone()),
                _ => LoginName::Stored(name),
            },
            Err(_) => LoginName::Unknown,
        }
    }

    /// `account` if `password` is its password. Without an account, a
    /// password is checked against a dummy hash, so that both cases take the
    /// time of one argon2 verification.
    ///
    /// # Errors
    ///
    /// [`ApiError::Busy`] when no hashing slot frees up in time.
    pub(crate) async fn check_password(
        &self,
        account: Option<Account>,
        password: &str,
    ) -> Result<Option<Account>, ApiError> {
        let hash = account.as_ref().map_or(&self.dummy_hash, |a| &a.password_hash).clone();
        let password = password.to_owned();
        let matches = self.hashing(move || Ok(verify(&password, &hash))).await?;
        Ok(account.filter(|_| matches))
    }

    /// Creates an account.
    ///
    /// # Errors
    ///
    /// [`ApiError::RegistrationClosed`], [`ApiError::InvalidField`],
    /// [`ApiError::UsernameTaken`], or [`ApiError::Store`].
    pub(crate) async fn register(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Account, ApiError> {
        if !self.registration {
            return Err(ApiError::RegistrationClosed);
        }
        let username = normalize_username(username)?;
        if !PASSWORD_BYTES.contains(&password.len()) {
            return Err(ApiError::InvalidField("password must be 8 to 1024 bytes long"));
        }
        let demo_name = self.demo.as_ref().is_some_and(|demo| demo.username == username);
        // A cheap look first, so a taken name costs no hashing; the create
        // below stays the atomic check.
        if demo_name || self.data.account(&username).await?.is_some() {
            return Err(ApiError::UsernameTaken);
        }
        let password = password.to_owned();
        let password_hash = self.hashing(move || hash_now(&password)).await?;
        let account = Account { id: jwt_session_token::new_id(), username, password_hash };
        if !self.data.create_account(&account).await? {
            return Err(ApiError::UsernameTaken);
        }
        Ok(account)
    }
}

/// NFKC, trimmed and lowercased; 3 to 64 letters, digits, `.`, `_`, `-` or `@`.
///
/// # Errors
///
/// [`ApiError::InvalidField`] naming the rule.
pub(crate) fn normalize_username(raw: &str) -> Result<String, ApiError> {
    let name = crate::text::fold_username(raw);
    let allowed = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@');
    if USERNAME_CHARS.contains(&name.chars().count()) && name.chars().all(allowed) {
        Ok(name)
    } else {
        Err(ApiError::InvalidField(
            "username must be 3 to 64 letters, digits or . _ - @ (case is ignored)",
        ))
    }
}

fn hash_now(password: &str) -> Result<String, ApiError> {
    let mut salt_bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|_| ApiError::Hashing)?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| ApiError::Hashing)
}

/// Whether `password` matches the PHC string `hash`; slow by design.
fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_trimmed_and_lowercased() {
        assert_eq!(normalize_username("  Alice.B ").unwrap(), "alice.b");
        assert_eq!(normalize_username("ÉLODIE").unwrap(), "élodie");
        assert_eq!(normalize_username("ａｌｉｃｅ").unwrap(), "alice");
    }

    #[test]
    fn usernames_outside_the_rules_are_refused_naming_the_field() {
        for bad in ["ab", "", "has space", "semi;colon", "tab\there", &"x".repeat(65)] {
            let err = normalize_username(bad).unwrap_err();
            assert!(err.to_string().starts_with("username must be"), "{bad:?}");
        }
    }

    #[actix_web::test]
    async fn the_demo_user_logs_in_only_with_its_password_and_only_when_enabled() {
        let data = AppData::Memory(crate::data::MemoryData::default());
        let with_demo = Accounts::new(data.clone(), true, false).unwrap();
        let without = Accounts::new(data, false, false).unwrap();

        assert_eq!(with_demo.authenticate("user", "pass").await.unwrap().unwrap().id, "1");
        assert!(with_demo.authenticate("user", "pass ").await.unwrap().is_none());
        assert!(without.authenticate("user", "pass").await.unwrap().is_none());
    }

    #[actix_web::test]
    async fn registered_users_log_in_with_any_case_of_their_name_and_names_are_unique() {
        let accounts =
            Accounts::new(AppData::Memory(crate::data::MemoryData::default()), true, true).unwrap();

        let account = accounts.register(" Bob ", "correct horse").await.unwrap();

        assert_eq!(account.username, "bob");
        assert!(account.password_hash.starts_with("$argon2id$"));
        let logged_in = accounts.authenticate("BOB", "correct horse").await.unwrap();
        assert_eq!(logged_in.map(|a| a.id), Some(account.id));
        assert!(matches!(
            accounts.register("bob", "another one").await,
            Err(ApiError::UsernameTaken)
        ));
        assert!(matches!(
            accounts.register("USER", "another one").await,
            Err(ApiError::UsernameTaken)
        ));
        assert!(matches!(
            accounts.register("carol", "short").await,
            Err(ApiError::InvalidField(_))
        ));
    }

    #[actix_web::test]
    async fn registration_can_be_closed() {
        let accounts =
            Accounts::new(AppData::Memory(crate::data::MemoryData::default()), false, false)
                .unwrap();
        assert!(matches!(
            accounts.register("dave", "long enough").await,
            Err(ApiError::RegistrationClosed)
        ));
    }
}
