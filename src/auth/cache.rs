//! A short-lived cache of session lookups for access-token checks.
//!
//! It only speeds things up: an entry lives at most the configured TTL (default 2 s, never
//! more than 5 s), so a revocation made by another instance sharing the database is seen
//! within that time, and this instance forgets an entry the moment it revokes the session.
//! Nothing correct depends on it: with a TTL of 0 every check goes to the database.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::store::SessionAuth;

/// Entries kept at most; beyond this the cache starts over, bounding memory.
const MAX_ENTRIES: usize = 100_000;

/// Session id → the session and user as last read from the database.
pub struct SessionCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, SessionAuth)>>,
}

impl SessionCache {
    /// A cache whose entries live `ttl`.
    pub fn new(ttl: Duration) -> SessionCache {
        SessionCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The cached lookup of `session_id`, if it is younger than the TTL.
    pub fn get(&self, session_id: &str) -> Option<SessionAuth> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().ok()?;
        let (fetched, auth) = entries.get(session_id)?;
        (fetched.elapsed() < self.ttl).then(|| auth.clone())
    }

    /// Remembers a lookup.
    pub fn put(&self, session_id: &str, auth: SessionAuth) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                let ttl = self.ttl;
                entries.retain(|_, (fetched, _)| fetched.elapsed() < ttl);
                if entries.len() >= MAX_ENTRIES {
                    entries.clear();
                }
            }
            entries.insert(session_id.to_string(), (Instant::now(), auth));
        }
    }

    /// Forgets one session (it was just revoked here).
    pub fn forget(&self, session_id: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(session_id);
        }
    }

    /// Forgets everything (a user changed: role, disabled, deleted).
    pub fn forget_all(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}
