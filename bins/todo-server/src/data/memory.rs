//! The embedded backend: everything in the process, lost when it ends.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use jwt_session_store::StoreError;

use super::{Account, LoginSteps, LoginThrottle, Todo, TodoChange, TodoPage, TodoStore, UserStore};

/// Above this many throttle counters, expired ones are swept on each attempt.
const THROTTLE_SWEEP_ABOVE: usize = 1024;

#[derive(Clone, Debug, Default)]
pub(crate) struct MemoryData {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    accounts: HashMap<String, Account>,
    /// Todos by owner, then by id (time-ordered, so the last is the newest).
    todos: HashMap<String, BTreeMap<String, Todo>>,
    /// Attempt count and window end, by throttle key.
    attempts: HashMap<String, (u64, u64)>,
}

impl MemoryData {
    /// Locks the state. Nothing panics while it is held; a poisoned lock is
    /// taken over rather than turned into a panic on every later request.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl UserStore for MemoryData {
    async fn create_account(&self, account: &Account) -> Result<bool, StoreError> {
        let mut state = self.lock();
        if state.accounts.contains_key(&account.username) {
            return Ok(false);
        }
        state.accounts.insert(account.username.clone(), account.clone());
        Ok(true)
    }

    async fn account(&self, username: &str) -> Result<Option<Account>, StoreError> {
        Ok(self.lock().accounts.get(username).cloned())
    }
}

impl TodoStore for MemoryData {
    async fn add_todo(&self, owner: &str, todo: &Todo, most: u64) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let todos = state.todos.entry(owner.to_owned()).or_default();
        if todos.len() as u64 >= most {
            return Ok(false);
        }
        todos.insert(todo.id.clone(), todo.clone());
        Ok(true)
    }

    async fn todos(&self, owner: &str, offset: u64, limit: u64) -> Result<TodoPage, StoreError> {
        let state = self.lock();
        let Some(todos) = state.todos.get(owner) else {
            return Ok(TodoPage { todos: Vec::new(), total: 0 });
        };
        let skip = usize::try_from(offset).unwrap_or(usize::MAX);
        let take = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(TodoPage {
            todos: todos.values().rev().skip(skip).take(take).cloned().collect(),
            total: todos.len() as u64,
        })
    }

    async fn todo(&self, owner: &str, id: &str) -> Result<Option<Todo>, StoreError> {
        Ok(self.lock().todos.get(owner).and_then(|todos| todos.get(id)).cloned())
    }

    async fn change_todo(
        &self,
        owner: &str,
        id: &str,
        change: &TodoChange,
    ) -> Result<Option<Todo>, StoreError> {
        let mut state = self.lock();
        let Some(todo) = state.todos.get_mut(owner).and_then(|todos| todos.get_mut(id)) else {
            return Ok(None);
        };
        if let Some(title) = &change.title {
            todo.title.clone_from(title);
        }
        if let Some(done) = change.done {
            todo.done = done;
        }
        todo.updated_at = change.now;
        Ok(Some(todo.clone()))
    }

    async fn delete_todo(&self, owner: &str, id: &str) -> Result<bool, StoreError> {
        let mut state = self.lock();
        let Some(todos) = state.todos.get_mut(owner) else {
            return Ok(false);
        };
        let deleted = todos.remove(id).is_some();
        if todos.is_empty() {
            state.todos.remove(owner);
        }
        Ok(deleted)
    }
}

impl LoginThrottle for MemoryData {
    async fn count_attempt(
        &self,
        key: &str,
        window_secs: u64,
        now: u64,
    ) -> Result<(u64, u64), StoreError> {
        let mut state = self.lock();
        if state.attempts.len() > THROTTLE_SWEEP_ABOVE {
            state.attempts.retain(|_, (_, ends)| *ends > now);
        }
        let entry = state.attempts.entry(key.to_owned()).or_insert((0, 0));
        if entry.1 <= now {
            *entry = (0, now.saturating_add(window_secs));
        }
        entry.0 += 1;
        Ok((entry.0, entry.1 - now))
    }

    async fn uncount_attempt(&self, key: &str, now: u64) -> Result<(), StoreError> {
        if let Some((count, ends)) = self.lock().attempts.get_mut(key) {
            if *ends > now {
                *count = count.saturating_sub(1);
            }
        }
        Ok(())
    }

    async fn clear_attempts(&self, key: &str) -> Result<(), StoreError> {
        self.lock().attempts.remove(key);
        Ok(())
    }
}

/// Every step is in the process: the trait's plain sequence is as good.
impl LoginSteps for MemoryData {}
