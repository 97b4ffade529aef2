//! The todo server's own data: accounts, todos and login throttling, each
//! behind a trait, with an embedded backend and a Redis one that shares the
//! session store's connection pool (and so fails closed the same way).

mod memory;
mod redis;

use std::future::Future;

use jwt_session_store::StoreError;
use serde::Serialize;

pub(crate) use self::memory::MemoryData;
pub(crate) use self::redis::RedisData;

/// A user account.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Account {
    /// The stable user id: the `sub` of the user's tokens.
    pub(crate) id: String,
    /// The normalised, unique username.
    pub(crate) username: String,
    /// The argon2id hash in PHC string form.
    pub(crate) password_hash: String,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account").field("id", &self.id).field("username", &self.username).finish()
    }
}

/// A todo of one user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub(crate) struct Todo {
    /// Its id (a time-ordered UUID).
    pub(crate) id: String,
    /// 1 to 500 characters.
    pub(crate) title: String,
    /// Whether it is done.
    pub(crate) done: bool,
    /// Creation time, in seconds since the Unix epoch.
    pub(crate) created_at: u64,
    /// Last change, in seconds since the Unix epoch.
    pub(crate) updated_at: u64,
}

/// One page of a user's todos, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TodoPage {
    pub(crate) todos: Vec<Todo>,
    pub(crate) total: u64,
}

/// A change to a todo; absent fields stay as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct TodoChange {
    pub(crate) title: Option<String>,
    pub(crate) done: Option<bool>,
    pub(crate) now: u64,
}

/// User accounts.
pub(crate) trait UserStore: Send + Sync {
    /// Creates an account; false when the username is taken.
    fn create_account(
        &self,
        account: &Account,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The account of a normalised username.
    fn account(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<Account>, StoreError>> + Send;
}

/// Todos, kept per owner.
pub(crate) trait TodoStore: Send + Sync {
    /// Stores a new todo unless the owner already has `most`; false then.
    fn add_todo(
        &self,
        owner: &str,
        todo: &Todo,
        most: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// A page of the owner's todos, newest first.
    fn todos(
        &self,
        owner: &str,
        offset: u64,
        limit: u64,
    ) -> impl Future<Output = Result<TodoPage, StoreError>> + Send;
    /// One of the owner's todos.
    fn todo(
        &self,
        owner: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<Todo>, StoreError>> + Send;
    /// Changes one of the owner's todos; `None` if it does not exist.
    fn change_todo(
        &self,
        owner: &str,
        id: &str,
        change: &TodoChange,
    ) -> impl Future<Output = Result<Option<Todo>, StoreError>> + Send;
    /// Deletes one of the owner's todos; false if it did not exist.
    fn delete_todo(
        &self,
        owner: &str,
        id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Counters of login attempts in fixed windows.
///
/// An attempt is counted before its password is checked, so concurrent
/// attempts cannot all slip under the limit; a success then takes its count
/// back.
pub(crate) trait LoginThrottle: Send + Sync {
    /// Counts one attempt under `key` and returns the count in the current
    /// window with the seconds until the window ends; a new window of
    /// `window_secs` starts with the first attempt.
    fn count_attempt(
        &self,
        key: &str,
        window_secs: u64,
        now: u64,
    ) -> impl Future<Output = Result<(u64, u64), StoreError>> + Send;
    /// Takes one attempt back (a successful login's).
    fn uncount_attempt(
        &self,
        key: &str,
        now: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Forgets every attempt under `key`.
    fn clear_attempts(&self, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// What a login finds before its password is checked.
#[derive(Debug)]
pub(crate) struct LoginStart {
    /// The first counter found over its limit, if one was: its index in
    /// the counters given, and the seconds until its window ends.
    pub(crate) throttled_for: Option<(usize, u64)>,
    /// The stored account, if it exists (not read when throttled).
    pub(crate) account: Option<Account>,
}

/// One login-attempt counter and its limit within a window.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Counter<'a> {
    /// What it counts, for the logs: `ip` or `user`.
    pub(crate) name: &'static str,
    pub(crate) key: &'a str,
    pub(crate) limit: u64,
}

/// The store steps of one login, each in one round trip where the backend
/// allows: the attempt counters and the account before the password check,
/// then the counters' settling after a success (the session itself is
/// started beside it, by the session store).
pub(crate) trait LoginSteps: LoginThrottle + UserStore {
    /// Counts one attempt under each of `counters` in turn (see
    /// [`LoginThrottle::count_attempt`]), stopping at the first one over its
    /// limit: an attempt refused by one counter costs the later ones nothing
    /// (so a client throttled by its IP cannot lock users out). Unless
    /// throttled, reads the account of the normalised `username`.
    fn begin_login(
        &self,
        counters: &[Counter<'_>],
        window_secs: u64,
        username: Option<&str>,
        now: u64,
    ) -> impl Future<Output = Result<LoginStart, StoreError>> + Send {
        begin_login_step_by_step(self, counters, window_secs, username, now)
    }

    /// After a successful login: forgets every attempt under `clear` and
    /// takes this login's attempt back under `uncount`.
    fn settle_login(
        &self,
        clear: &str,
        uncount: &str,
        now: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async move {
            self.clear_attempts(clear).await?;
            self.uncount_attempt(uncount, now).await
        }
    }
}

/// [`LoginSteps::begin_login`] one command at a time: each counter in turn,
/// then the account.
pub(crate) async fn begin_login_step_by_step<S: LoginThrottle + UserStore + ?Sized>(
    store: &S,
    counters: &[Counter<'_>],
    window_secs: u64,
    username: Option<&str>,
    now: u64,
) -> Result<LoginStart, StoreError> {
    for (index, counter) in counters.iter().enumerate() {
        let (count, window_left) = store.count_attempt(counter.key, window_secs, now).await?;
        if count > counter.limit {
            return Ok(LoginStart { throttled_for: Some((index, window_left)), account: None });
        }
    }
    let account = match username {
        Some(username) => store.account(username).await?,
        None => None,
    };
    Ok(LoginStart { throttled_for: None, account })
}

/// The backend chosen by configuration.
#[derive(Clone, Debug)]
pub(crate) enum AppData {
    Memory(MemoryData),
    Redis(RedisData),
}

macro_rules! delegate {
    ($self:ident, $data:ident => $call:expr) => {
        match $self {
            AppData::Memory($data) => $call.await,
            AppData::Redis($data) => $call.await,
        }
    };
}

impl UserStore for AppData {
    async fn create_account(&self, account: &Account) -> Result<bool, StoreError> {
        delegate!(self, data => data.create_account(account))
    }

    async fn account(&self, username: &str) -> Result<Option<Account>, StoreError> {
        delegate!(self, data => data.account(username))
    }
}

impl TodoStore for AppData {
    async fn add_todo(&self, owner: &str, todo: &Todo, most: u64) -> Result<bool, StoreError> {
        delegate!(self, data => data.add_todo(owner, todo, most))
    }

    async fn todos(&self, owner: &str, offset: u64, limit: u64) -> Result<TodoPage, StoreError> {
        delegate!(self, data => data.todos(owner, offset, limit))
    }

    async fn todo(&self, owner: &str, id: &str) -> Result<Option<Todo>, StoreError> {
        delegate!(self, data => data.todo(owner, id))
    }

    async fn change_todo(
        &self,
        owner: &str,
        id: &str,
        change: &TodoChange,
    ) -> Result<Option<Todo>, StoreError> {
        delegate!(self, data => data.change_todo(owner, id, change))
    }

    async fn delete_todo(&self, owner: &str, id: &str) -> Result<bool, StoreError> {
        delegate!(self, data => data.delete_todo(owner, id))
    }
}

impl LoginThrottle for AppData {
    async fn count_attempt(
        &self,
        key: &str,
        window_secs: u64,
        now: u64,
    ) -> Result<(u64, u64), StoreError> {
        delegate!(self, data => data.count_attempt(key, window_secs, now))
    }

    async fn uncount_attempt(&self, key: &str, now: u64) -> Result<(), StoreError> {
        delegate!(self, data => data.uncount_attempt(key, now))
    }

    async fn clear_attempts(&self, key: &str) -> Result<(), StoreError> {
        delegate!(self, data => data.clear_attempts(key))
    }
}

impl LoginSteps for AppData {
    async fn begin_login(
        &self,
        counters: &[Counter<'_>],
        window_secs: u64,
        username: Option<&str>,
        now: u64,
    ) -> Result<LoginStart, StoreError> {
        delegate!(self, data => data.begin_login(counters, window_secs, username, now))
    }

    async fn settle_login(&self, clear: &str, uncount: &str, now: u64) -> Result<(), StoreError> {
        delegate!(self, data => data.settle_login(clear, uncount, now))
    }
}
