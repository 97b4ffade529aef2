use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use jwt_session_token::unix_now;

use crate::{
    AccessRef, NewSession, ReusePolicy, Rotation, RotationOutcome, SessionInfo, SessionStore,
    StoreError,
};

/// A source of the current time in seconds since the Unix epoch.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// An in-process store: the same semantics as Redis, for one process.
///
/// Sessions and access token ids vanish at their expiry, and memory is bounded
/// by what is live: every call first drops what has expired, soonest first,
/// so no background task is needed. Everything is lost when the process ends.
/// Clones share the same state.
#[derive(Clone)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
    clock: Clock,
}

type UserSession = (String, String);

#[derive(Default)]
struct State {
    sessions: BTreeMap<UserSession, Session>,
    session_expiry: BTreeSet<(u64, UserSession)>,
    /// (subject, jti) of a live access token, with its sid and expiry.
    access: HashMap<(String, String), (String, u64)>,
    access_expiry: BTreeSet<(u64, (String, String))>,
}

struct Session {
    device: String,
    ip: String,
    created: u64,
    used: u64,
    deadline: u64,
    expires: u64,
    refresh: String,
    previous: String,
    rotated_at: u64,
    access: String,
    /// The access token id before `access`: still live until it expires.
    /// Older ones are removed at each rotation.
    previous_access: String,
    family: u64,
}

impl State {
    fn drop_expired(&mut self, now: u64) {
        while let Some((expires, _)) = self.session_expiry.first() {
            if *expires > now {
                break;
            }
            if let Some((_, key)) = self.session_expiry.pop_first() {
                self.sessions.remove(&key);
            }
        }
        while let Some((expires, _)) = self.access_expiry.first() {
            if *expires > now {
                break;
            }
            if let Some((_, key)) = self.access_expiry.pop_first() {
                self.access.remove(&key);
            }
        }
    }

    fn set_access(&mut self, subject: &str, jti: &str, sid: &str, expires_at: u64, now: u64) {
        let key = (subject.to_owned(), jti.to_owned());
        self.remove_access(&key);
        if expires_at > now {
            self.access.insert(key.clone(), (sid.to_owned(), expires_at));
            self.access_expiry.insert((expires_at, key));
        }
    }

    fn remove_access(&mut self, key: &(String, String)) {
        if let Some((_, expires)) = self.access.remove(key) {
            self.access_expiry.remove(&(expires, key.clone()));
        }
    }

    fn set_expiry(&mut self, key: &UserSession, expires: u64) {
        if let Some(session) = self.sessions.get_mut(key) {
            self.session_expiry.remove(&(session.expires, key.clone()));
            session.expires = expires;
            self.session_expiry.insert((expires, key.clone()));
        }
    }

    /// Ends a session and drops its access entries (they would be refused
    /// anyway, their session gone, but would take memory until they expire).
    fn remove_session(&mut self, key: &UserSession) -> bool {
        match self.sessions.remove(key) {
            Some(session) => {
                self.session_expiry.remove(&(session.expires, key.clone()));
                for jti in [session.access, session.previous_access] {
                    if !jti.is_empty() {
                        self.remove_access(&(key.0.clone(), jti));
                    }
                }
                true
            }
            None => false,
        }
    }

    /// Ends the sessions of `subject` that end soonest until it has at most
    /// `most`, never `keep`; returns how many ended.
    fn keep_at_most(&mut self, subject: &str, most: usize, keep: &UserSession) -> usize {
        let mut others: Vec<(u64, UserSession)> = self
            .sids_of(subject)
            .into_iter()
            .filter(|key| key != keep)
            .filter_map(|key| self.sessions.get(&key).map(|s| (s.expires, key)))
            .collect();
        let over = (others.len() + 1).saturating_sub(most.max(1));
        others.sort();
        others.into_iter().take(over).filter(|(_, key)| self.remove_session(key)).count()
    }

    fn sids_of(&self, subject: &str) -> Vec<UserSession> {
        let start = (subject.to_owned(), String::new());
        self.sessions
            .range(start..)
            .map(|(key, _)| key)
            .take_while(|(s, _)| s == subject)
            .cloned()
            .collect()
    }
}

impl MemoryStore {
    /// An empty store on the system clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(unix_now))
    }

    /// An empty store reading the time from `clock`; for tests that move time.
    pub fn with_clock(clock: Clock) -> Self {
        Self { state: Arc::default(), clock }
    }

    /// How many live entries (sessions plus access token ids) the store holds.
    pub fn len(&self) -> usize {
        let (state, _) = self.lock();
        state.sessions.len() + state.access.len()
    }

    /// Whether the store holds nothing live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Locks the state with expired entries already dropped.
    ///
    /// No code panics while holding the lock, but if it ever did, every entry
    /// is still consistent on its own, so a poisoned lock is taken over rather
    /// than turned into a panic on every later request.
    fn lock(&self) -> (MutexGuard<'_, State>, u64) {
        let now = (self.clock)();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.drop_expired(now);
        (state, now)
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (state, _) = self.lock();
        f.debug_struct("MemoryStore")
            .field("sessions", &state.sessions.len())
            .field("access_tokens", &state.access.len())
            .finish()
    }
}

fn key(subject: &str, sid: &str) -> UserSession {
    (subject.to_owned(), sid.to_owned())
}

impl SessionStore for MemoryStore {
    async fn start(&self, new: &NewSession<'_>) -> Result<usize, StoreError> {
        let (mut state, clock_now) = self.lock();
        let key = key(new.subject, new.sid);
        let deadline = new.now.saturating_add(new.lifetime.absolute_secs);
        let expires = new.lifetime.expiry(new.now, new.now);
        state.remove_session(&key);
        if expires <= clock_now {
            return Ok(0);
        }
        state.sessions.insert(
            key.clone(),
            Session {
                device: new.device.to_owned(),
                ip: new.ip.to_owned(),
                created: new.now,
                used: new.now,
                deadline,
                expires,
                refresh: new.refresh_jti.to_owned(),
                previous: String::new(),
                rotated_at: 0,
                access: new.access.jti.to_owned(),
                previous_access: String::new(),
                family: 1,
            },
        );
        state.session_expiry.insert((expires, key.clone()));
        state.set_access(new.subject, new.access.jti, new.sid, new.access.expires_at, clock_now);
        Ok(new.max_sessions.map_or(0, |most| state.keep_at_most(new.subject, most, &key)))
    }

    async fn access_is_live(&self, token: AccessRef<'_>) -> Result<bool, StoreError> {
        let (state, _) = self.lock();
        let access = state.access.get(&(token.subject.to_owned(), token.jti.to_owned()));
        let of_this_session = access.is_some_and(|(sid, _)| sid == token.sid);
        Ok(of_this_session && state.sessions.contains_key(&key(token.subject, token.sid)))
    }

    async fn rotate(&self, rotation: &Rotation<'_>) -> Result<RotationOutcome, StoreError> {
        let (mut state, clock_now) = self.lock();
        let key = key(rotation.subject, rotation.sid);
        let Some(session) = state.sessions.get_mut(&key) else {
            return Ok(RotationOutcome::SessionGone);
        };
        let presented = rotation.presented_jti;
        let now = rotation.now;

        if !session.refresh.is_empty() && presented == session.refresh {
            let expires = session.deadline.min(now.saturating_add(rotation.idle_secs));
            session.previous =
                std::mem::replace(&mut session.refresh, rotation.successor_refresh_jti.to_owned());
            session.rotated_at = now;
            session.used = now;
            let current = rotation.successor_access.jti.to_owned();
            let previous = std::mem::replace(&mut session.access, current);
            let older = std::mem::replace(&mut session.previous_access, previous);
            session.family += 1;
            state.set_expiry(&key, expires);
            if !older.is_empty() {
                state.remove_access(&(rotation.subject.to_owned(), older));
            }
            let access = rotation.successor_access;
            state.set_access(
                rotation.subject,
                access.jti,
                rotation.sid,
                access.expires_at,
                clock_now,
            );
            return Ok(RotationOutcome::Rotated);
        }
        let within_grace = now.saturating_sub(session.rotated_at) <= rotation.grace_secs;
        if !session.refresh.is_empty() && presented == session.previous && within_grace {
            return Ok(RotationOutcome::Replayed { issued_at: session.rotated_at });
        }

        match rotation.on_reuse {
            ReusePolicy::RevokeSession => {
                state.remove_session(&key);
            }
            ReusePolicy::RevokeSuccessor => {
                session.refresh.clear();
                let access = (rotation.subject.to_owned(), session.access.clone());
                state.remove_access(&access);
            }
            ReusePolicy::AlertOnly => {}
        }
        Ok(RotationOutcome::Reused)
    }

    async fn end_session(&self, subject: &str, sid: &str) -> Result<bool, StoreError> {
        let (mut state, _) = self.lock();
        Ok(state.remove_session(&key(subject, sid)))
    }

    async fn end_sessions(&self, subject: &str, keep: Option<&str>) -> Result<usize, StoreError> {
        let (mut state, _) = self.lock();
        let ended = state
            .sids_of(subject)
            .into_iter()
            .filter(|(_, sid)| Some(sid.as_str()) != keep)
            .filter(|key| state.remove_session(key))
            .count();
        Ok(ended)
    }

    async fn sessions(&self, subject: &str, _now: u64) -> Result<Vec<SessionInfo>, StoreError> {
        let (state, _) = self.lock();
        let mut sessions: Vec<SessionInfo> = state
            .sids_of(subject)
            .iter()
            .filter_map(|key| state.sessions.get(key).map(|s| (key, s)))
            .map(|((_, sid), s)| SessionInfo {
                sid: sid.clone(),
                device: s.device.clone(),
                ip: s.ip.clone(),
                created_at: s.created,
                last_used_at: s.used,
                refresh_count: s.family,
                expires_at: s.expires,
            })
            .collect();
        sessions.sort_by(|a, b| (a.created_at, &a.sid).cmp(&(b.created_at, &b.sid)));
        Ok(sessions)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AccessGrant, SessionLifetime};

    #[tokio::test]
    async fn an_ended_session_leaves_no_access_entry_behind() {
        let store = MemoryStore::new();
        let now = unix_now();
        for sid in ["s1", "s2", "s3"] {
            let jti = format!("a-{sid}");
            let new = NewSession {
                subject: "u1",
                sid,
                device: "d",
                ip: "192.0.2.1",
                now,
                access: AccessGrant { jti: &jti, expires_at: now + 900 },
                refresh_jti: "r",
                lifetime: SessionLifetime { idle_secs: 3600, absolute_secs: 86_400 },
                max_sessions: Some(2),
            };
            store.start(&new).await.unwrap();
        }
        assert_eq!(store.lock().0.access.len(), 2, "the evicted session's entry is gone");
        store.end_sessions("u1", None).await.unwrap();
        assert!(store.lock().0.access.is_empty());
    }
}
