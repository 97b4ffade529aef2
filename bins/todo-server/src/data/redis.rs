//! The Redis backend, on the session store's pool. Keys of one user share
//! the user's hash tag, so each multi-key step is one script on one slot:
//!
//! - `<prefix>account:{<username>}`: hash of id, username, password hash;
//! - `<prefix>todo:{<owner>}:<id>`: hash of one todo;
//! - `<prefix>todos:{<owner>}`: sorted set of the owner's todo ids (equal
//!   scores, so ordered by their time-ordered ids);
//! - `<prefix>throttle:{<key>}`: login-attempt counter with the window as TTL.

use std::collections::HashMap;
use std::sync::Arc;

use jwt_session_store::{command_error, hash_tag as tag, RedisPool, StoreError};
use redis::Script;

use super::{
    begin_login_step_by_step, Account, Counter, LoginStart, LoginSteps, LoginThrottle, Todo,
    TodoChange, TodoPage, TodoStore, UserStore,
};

const SCRIPT_CREATE_ACCOUNT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'username', ARGV[2], 'hash', ARGV[3])
return 1
";

/// KEYS: the todo, the owner's index; ARGV: id, title, done, created,
/// updated, the most todos the owner may have. 0 when they are all taken.
const SCRIPT_ADD: &str = r"
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[6]) then return 0 end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'title', ARGV[2], 'done', ARGV[3],
  'created', ARGV[4], 'updated', ARGV[5])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
return 1
";

/// KEYS: the index; ARGV: todo key prefix, first, last. Returns the total,
/// then id, title, done, created, updated per todo.
const SCRIPT_LIST: &str = r"
local out = { redis.call('ZCARD', KEYS[1]) }
for _, id in ipairs(redis.call('ZREVRANGE', KEYS[1], ARGV[2], ARGV[3])) do
  local f = redis.call('HMGET', ARGV[1] .. id, 'id', 'title', 'done', 'created', 'updated')
  if f[1] then for i = 1, 5 do table.insert(out, f[i]) end end
end
return out
";

/// KEYS: the todo; ARGV: title or '', done or '', now. Returns the fields, or
/// nothing when the todo does not exist.
const SCRIPT_CHANGE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
if ARGV[1] ~= '' then redis.call('HSET', KEYS[1], 'title', ARGV[1]) end
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'done', ARGV[2]) end
redis.call('HSET', KEYS[1], 'updated', ARGV[3])
return redis.call('HMGET', KEYS[1], 'id', 'title', 'done', 'created', 'updated')
";

const SCRIPT_DELETE: &str = r"
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])
";

/// KEYS: `ARGV[2]` attempt counters, then optionally an account; ARGV:
/// window seconds, number of counters, then each counter's limit. Counts one
/// attempt under each counter in turn (a new window starts with its first
/// attempt), stopping at the first over its limit. Returns how many were
/// counted, the count and the seconds left in the window of each, then,
/// unless one was over its limit, the account's id, username and password
/// hash when it exists.
const SCRIPT_COUNT_ATTEMPTS: &str = r"
local out = { 0 }
local counters = tonumber(ARGV[2])
for i = 1, counters do
  local count = redis.call('INCR', KEYS[i])
  local ttl = redis.call('TTL', KEYS[i])
  if ttl < 0 then
    redis.call('EXPIRE', KEYS[i], ARGV[1])
    ttl = tonumber(ARGV[1])
  end
  out[1] = i
  table.insert(out, count)
  table.insert(out, ttl)
  if count > tonumber(ARGV[2 + i]) then return out end
end
local account = KEYS[counters + 1]
if account then
  local f = redis.call('HMGET', account, 'id', 'username', 'hash')
  if f[1] and f[2] and f[3] then
    for i = 1, 3 do table.insert(out, f[i]) end
  end
end
return out
";

/// KEYS: attempt counters; ARGV: how many of the first KEYS to clear. Clears
/// those, and takes one attempt back from each of the others (never below
/// zero).
const SCRIPT_SETTLE_ATTEMPTS: &str = r"
local clear = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  if i <= clear then
    redis.call('DEL', key)
  elseif tonumber(redis.call('GET', key) or '0') > 0 then
    redis.call('DECR', key)
  end
end
return 0
";

#[derive(Clone)]
pub(crate) struct RedisData {
    pool: RedisPool,
    prefix: String,
    scripts: Arc<Scripts>,
}

struct Scripts {
    create_account: Script,
    add_todo: Script,
    list_todos: Script,
    change_todo: Script,
    delete_todo: Script,
    count_attempts: Script,
    settle_attempts: Script,
}

impl std::fmt::Debug for RedisData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisData").field("pool", &self.pool).field("prefix", &self.prefix).finish()
    }
}

fn todo_from(fields: &[String]) -> Option<Todo> {
    let [id, title, done, created, updated] = fields else {
        return None;
    };
    Some(Todo {
        id: id.clone(),
        title: title.clone(),
        done: done == "1",
        created_at: created.parse().unwrap_or(0),
        updated_at: updated.parse().unwrap_or(0),
    })
}

impl RedisData {
    pub(crate) fn new(pool: RedisPool, prefix: &str) -> Self {
        Self {
            pool,
            prefix: prefix.to_owned(),
            scripts: Arc::new(Scripts {
                create_account: Script::new(SCRIPT_CREATE_ACCOUNT),
                add_todo: Script::new(SCRIPT_ADD),
                list_todos: Script::new(SCRIPT_LIST),
                change_todo: Script::new(SCRIPT_CHANGE),
                delete_todo: Script::new(SCRIPT_DELETE),
                count_attempts: Script::new(SCRIPT_COUNT_ATTEMPTS),
                settle_attempts: Script::new(SCRIPT_SETTLE_ATTEMPTS),
            }),
        }
    }

    fn account_key(&self, username: &str) -> String {
        format!("{}account:{}", self.prefix, tag(username))
    }

    fn todo_prefix(&self, owner: &str) -> String {
        format!("{}todo:{}:", self.prefix, tag(owner))
    }

    fn todo_index(&self, owner: &str) -> String {
        format!("{}todos:{}", self.prefix, tag(owner))
    }

    fn throttle_key(&self, key: &str) -> String {
        format!("{}throttle:{}", self.prefix, tag(key))
    }
}

impl UserStore for RedisData {
    async fn create_account(&self, account: &Account) -> Result<bool, StoreError> {
        let key = self.account_key(&account.username);
        self.pool
            .run(|mut conn| async move {
                let mut call = self.scripts.create_account.key(key);
                call.arg(&account.id).arg(&account.username).arg(&account.password_hash);
                let created: u8 = call.invoke_async(&mut conn).await.map_err(command_error)?;
                Ok(created == 1)
            })
            .await
    }

    async fn account(&self, username: &str) -> Result<Option<Account>, StoreError> {
        let mut read = redis::cmd("HGETALL");
        read.arg(self.account_key(username));
        let read = &read;
        let mut fields: HashMap<String, String> = self
            .pool
            .run_repeatable(|mut conn| async move {
                read.query_async(&mut conn).await.map_err(command_error)
            })
            .await?;
        Ok(account_from(fields.remove("id"), fields.remove("username"), fields.remove("hash")))
    }
}

impl TodoStore for RedisData {
    async fn add_todo(&self, owner: &str, todo: &Todo, most: u64) -> Result<bool, StoreError> {
        let keys = [format!("{}{}", self.todo_prefix(owner), todo.id), self.todo_index(owner)];
        self.pool
            .run(|mut conn| async move {
                let mut call = self.scripts.add_todo.key(&keys[0]);
                call.key(&keys[1]).arg(&todo.id).arg(&todo.title).arg(u8::from(todo.done));
                call.arg(todo.created_at).arg(todo.updated_at).arg(most);
                let added: u8 = call.invoke_async(&mut conn).await.map_err(command_error)?;
                Ok(added == 1)
            })
            .await
    }

    async fn todos(&self, owner: &str, offset: u64, limit: u64) -> Result<TodoPage, StoreError> {
        let (index, prefix) = (self.todo_index(owner), self.todo_prefix(owner));
        let last = offset.saturating_add(limit).saturating_sub(1);
        let (total, fields): (u64, Vec<String>) = self
            .pool
            .run(|mut conn| async move {
                let mut call = self.scripts.list_todos.key(index);
                call.arg(prefix).arg(offset).arg(last);
                let values: Vec<redis::Value> =
                    call.invoke_async(&mut conn).await.map_err(command_error)?;
                let mut values = values.into_iter();
                let unexpected = |e: redis::ParsingError| StoreError::Command(e.to_string().into());
                let total =
                    values.next().map_or(Ok(0), redis::from_redis_value).map_err(unexpected)?;
                let fields = values
                    .map(redis::from_redis_value)
                    .collect::<Result<_, _>>()
                    .map_err(unexpected)?;
                Ok((total, fields))
            })
            .await?;
        let todos = if limit == 0 {
            Vec::new()
        } else {
            fields.chunks_exact(5).filter_map(todo_from).collect()
        };
        Ok(TodoPage { todos, total })
    }

    async fn todo(&self, owner: &str, id: &str) -> Result<Option<Todo>, StoreError> {
        let mut read = redis::cmd("HMGET");
        read.arg(format!("{}{id}", self.todo_prefix(owner)));
        read.arg(&["id", "title", "done", "created", "updated"][..]);
        let read = &read;
        let fields: Vec<Option<String>> = self
            .pool
            .run_repeatable(|mut conn| async move {
                read.query_async(&mut conn).await.map_err(command_error)
            })
            .await?;
        let fields: Option<Vec<String>> = fields.into_iter().collect();
        Ok(fields.as_deref().and_then(todo_from))
    }

    async fn change_todo(
        &self,
        owner: &str,
        id: &str,
        change: &TodoChange,
    ) -> Result<Option<Todo>, StoreError> {
        let key = format!("{}{id}", self.todo_prefix(owner));
        let done = change.done.map_or("", |done| if done { "1" } else { "0" });
        let fields: Vec<String> = self
            .pool
            .run(|mut conn| async move {
                let mut call = self.scripts.change_todo.key(key);
                call.arg(change.title.as_deref().unwrap_or("")).arg(done).arg(change.now);
                call.invoke_async(&mut conn).await.map_err(command_error)
            })
            .await?;
        Ok(todo_from(&fields))
    }

    async fn delete_todo(&self, owner: &str, id: &str) -> Result<bool, StoreError> {
        let keys = [format!("{}{id}", self.todo_prefix(owner)), self.todo_index(owner)];
        self.pool
            .run(|mut conn| async move {
                let mut call = self.scripts.delete_todo.key(&keys[0]);
                call.key(&keys[1]).arg(id);
                let deleted: u8 = call.invoke_async(&mut conn).await.map_err(command_error)?;
                Ok(deleted == 1)
            })
            .await
    }
}

/// An account from the fields of its hash, when all three are there.
fn account_from(
    id: Option<String>,
    username: Option<String>,
    password_hash: Option<String>,
) -> Option<Account> {
    Some(Account { id: id?, username: username?, password_hash: password_hash? })
}

impl RedisData {
    /// Counts one attempt under each of `counters` (key and limit) in turn,
    /// stopping at the first over its limit, and then reads the account
    /// under `account_key`, in one script: every key must be in one hash
    /// slot unless the server is standalone. Returns the count and window
    /// left of each counter counted, and the account.
    async fn count_attempts(
        &self,
        counters: &[(String, u64)],
        window_secs: u64,
        account_key: Option<String>,
    ) -> Result<(Vec<(u64, u64)>, Option<Account>), StoreError> {
        let values: Vec<redis::Value> = self
            .pool
            .run(|mut conn| async move {
                let mut call = self.scripts.count_attempts.prepare_invoke();
                for key in counters.iter().map(|(key, _)| key).chain(&account_key) {
                    call.key(key);
                }
                call.arg(window_secs).arg(counters.len());
                for (_, limit) in counters {
                    call.arg(*limit);
                }
                call.invoke_async(&mut conn).await.map_err(command_error)
            })
            .await?;
        let unexpected = |e: redis::ParsingError| StoreError::Command(e.to_string().into());
        let short = || StoreError::Command("short answer from the throttle".into());
        let mut values = values.into_iter();
        let counted: usize =
            redis::from_redis_value(values.next().ok_or_else(short)?).map_err(unexpected)?;
        let mut counts = Vec::with_capacity(counted);
        for _ in 0..counted.min(counters.len()) {
            let (count, ttl) = (values.next().ok_or_else(short)?, values.next().ok_or_else(short)?);
            let count: u64 = redis::from_redis_value(count).map_err(unexpected)?;
            let ttl: i64 = redis::from_redis_value(ttl).map_err(unexpected)?;
            counts.push((count, u64::try_from(ttl).unwrap_or(window_secs)));
        }
        let mut field = || values.next().and_then(|v| redis::from_redis_value(v).ok());
        let account = account_from(field(), field(), field());
        Ok((counts, account))
    }

    /// Clears the first `clear` of `counters` and takes one attempt back
    /// from the others, in one script (one hash slot unless standalone).
    async fn settle_attempts(&self, counters: &[String], clear: usize) -> Result<(), StoreError> {
        self.pool
            .run(|mut conn| async move {
                let mut call = self.scripts.settle_attempts.prepare_invoke();
                for key in counters {
                    call.key(key);
                }
                call.arg(clear).invoke_async::<()>(&mut conn).await.map_err(command_error)
            })
            .await
    }
}

impl LoginThrottle for RedisData {
    async fn count_attempt(
        &self,
        key: &str,
        window_secs: u64,
        _now: u64,
    ) -> Result<(u64, u64), StoreError> {
        let counter = [(self.throttle_key(key), u64::MAX)];
        let (counts, _) = self.count_attempts(&counter, window_secs, None).await?;
        counts.first().copied().ok_or_else(|| StoreError::Command("no count".into()))
    }

    async fn uncount_attempt(&self, key: &str, _now: u64) -> Result<(), StoreError> {
        self.settle_attempts(&[self.throttle_key(key)], 0).await
    }

    async fn clear_attempts(&self, key: &str) -> Result<(), StoreError> {
        self.settle_attempts(&[self.throttle_key(key)], 1).await
    }
}

/// One script for each step on a standalone (or Sentinel-led) server. A
/// Cluster keeps the counters and the account in different slots, so there
/// each counter is one command in turn, then the account.
impl LoginSteps for RedisData {
    async fn begin_login(
        &self,
        counters: &[Counter<'_>],
        window_secs: u64,
        username: Option<&str>,
        now: u64,
    ) -> Result<LoginStart, StoreError> {
        if self.pool.is_cluster() {
            return begin_login_step_by_step(self, counters, window_secs, username, now).await;
        }
        let keys: Vec<(String, u64)> =
            counters.iter().map(|c| (self.throttle_key(c.key), c.limit)).collect();
        let (counts, account) = self
            .count_attempts(&keys, window_secs, username.map(|name| self.account_key(name)))
            .await?;
        let throttled_for = counts
            .iter()
            .zip(counters)
            .position(|((count, _), counter)| *count > counter.limit)
            .map(|index| (index, counts[index].1));
        Ok(LoginStart { throttled_for, account: account.filter(|_| throttled_for.is_none()) })
    }

    async fn settle_login(&self, clear: &str, uncount: &str, now: u64) -> Result<(), StoreError> {
        if self.pool.is_cluster() {
            let (cleared, uncounted) =
                tokio::join!(self.clear_attempts(clear), self.uncount_attempt(uncount, now));
            return cleared.and(uncounted);
        }
        self.settle_attempts(&[self.throttle_key(clear), self.throttle_key(uncount)], 1).await
    }
}
