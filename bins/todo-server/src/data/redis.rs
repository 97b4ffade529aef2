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

use super::{Account, LoginThrottle, Todo, TodoChange, TodoPage, TodoStore, UserStore};

const SCRIPT_CREATE_ACCOUNT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'username', ARGV[2], 'hash', ARGV[3])
return 1
";

const SCRIPT_ADD: &str = r"
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

/// KEYS: the counter; ARGV: window seconds. Returns the count and the
/// seconds left in the window.
const SCRIPT_COUNT_ATTEMPT: &str = r"
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return { count, ttl }
";

/// KEYS: the counter. Takes one attempt back, never below zero.
const SCRIPT_UNCOUNT_ATTEMPT: &str = r"
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end
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
    count_attempt: Script,
    uncount_attempt: Script,
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
                count_attempt: Script::new(SCRIPT_COUNT_ATTEMPT),
                uncount_attempt: Script::new(SCRIPT_UNCOUNT_ATTEMPT),
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
        let key = self.account_key(username);
        let mut fields: HashMap<String, String> = self
            .pool
            .run(|mut conn| async move {
                redis::cmd("HGETALL").arg(key).query_async(&mut conn).await.map_err(command_error)
            })
            .await?;
        Ok(match (fields.remove("id"), fields.remove("username"), fields.remove("hash")) {
            (Some(id), Some(username), Some(password_hash)) => {
                Some(Account { id, username, password_hash })
            }
            _ => None,
        })
    }
}

impl TodoStore for RedisData {
    async fn add_todo(&self, owner: &str, todo: &Todo) -> Result<(), StoreError> {
        let keys = [format!("{}{}", self.todo_prefix(owner), todo.id), self.todo_index(owner)];
        self.pool
            .run(|mut conn| async move {
                let mut call = self.scripts.add_todo.key(&keys[0]);
                call.key(&keys[1]).arg(&todo.id).arg(&todo.title).arg(u8::from(todo.done));
                call.arg(todo.created_at).arg(todo.updated_at);
                call.invoke_async::<()>(&mut conn).await.map_err(command_error)
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
        let key = format!("{}{id}", self.todo_prefix(owner));
        let fields: Vec<Option<String>> = self
            .pool
            .run(|mut conn| async move {
                let mut cmd = redis::cmd("HMGET");
                cmd.arg(key).arg(&["id", "title", "done", "created", "updated"][..]);
                cmd.query_async(&mut conn).await.map_err(command_error)
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

impl LoginThrottle for RedisData {
    async fn count_attempt(
        &self,
        key: &str,
        window_secs: u64,
        _now: u64,
    ) -> Result<(u64, u64), StoreError> {
        let key = self.throttle_key(key);
        let (count, ttl): (u64, i64) = self
            .pool
            .run(|mut conn| async move {
                let mut call = self.scripts.count_attempt.key(key);
                call.arg(window_secs).invoke_async(&mut conn).await.map_err(command_error)
            })
            .await?;
        Ok((count, u64::try_from(ttl).unwrap_or(window_secs)))
    }

    async fn uncount_attempt(&self, key: &str, _now: u64) -> Result<(), StoreError> {
        let key = self.throttle_key(key);
        self.pool
            .run(|mut conn| async move {
                let call = self.scripts.uncount_attempt.key(key);
                call.invoke_async::<()>(&mut conn).await.map_err(command_error)
            })
            .await
    }

    async fn clear_attempts(&self, key: &str) -> Result<(), StoreError> {
        let key = self.throttle_key(key);
        self.pool
            .run(|mut conn| async move {
                redis::cmd("DEL").arg(key).query_async::<()>(&mut conn).await.map_err(command_error)
            })
            .await
    }
}
