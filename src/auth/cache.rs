//! A short-lived cache of session lookups for access-token checks.
//!
//! It only speeds things up: an entry is served only while it is younger than the configured
//! TTL (default 2 s, never more than 5 s), so a revocation made by another instance sharing
//! the database is seen within that time, and this instance forgets an entry the moment it
//! revokes the session. Nothing correct depends on it: with a TTL of 0 every check goes to
//! the database.
//!
//! Two details keep it both fast and correct:
//!
//! - **Refresh ahead.** Once an entry is half a TTL old, the first request to see it is told
//!   to fetch a new copy in the background while it (and everyone else) keeps using the
//!   current one. A session in steady use therefore never misses, and the sessions first
//!   cached together do not all expire together and send a burst of queries to the
//!   database every TTL. The served copy is still never older than the TTL.
//! - **Revocation epoch.** A lookup that started before a revocation on this instance must
//!   not put its (now stale) answer back after the revocation forgot the entry. Every
//!   forget bumps an epoch; a lookup carries the epoch it started in, and its answer is
//!   dropped if the epoch has moved since (unless it says the session is no longer usable,
//!   which is always safe to keep).
//! - **Never back in time.** An entry's age counts from when its database read *started*,
//!   and an answer never replaces one whose read started later — so a slow background read
//!   cannot bring back a session that a later read saw revoked by another instance.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::store::SessionAuth;

/// Entries kept at most; beyond this the cache starts over, bounding memory.
const MAX_ENTRIES: usize = 100_000;

/// Session id → the session and user as last read from the database.
pub struct SessionCache {
    ttl: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    entries: HashMap<String, Entry>,
    /// Bumped by every forget; see the module documentation.
    epoch: u64,
}

struct Entry {
    fetched: Instant,
    auth: SessionAuth,
    /// A background fetch of this entry is under way.
    refreshing: bool,
}

/// Proof of when a database lookup started, to hand back to [`SessionCache::put`].
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    epoch: u64,
    started: Instant,
}

/// What the cache knows about a session.
#[derive(Debug)]
pub enum Lookup {
    /// A copy younger than the TTL: use it.
    Hit(SessionAuth),
    /// A copy younger than the TTL: use it, and fetch a new one in the background (this
    /// caller is the only one asked to).
    HitRefreshAhead(SessionAuth, Ticket),
    /// Nothing usable: read the database, then `put` the answer with this ticket.
    Miss(Ticket),
}

impl SessionCache {
    /// A cache whose entries live `ttl`.
    pub fn new(ttl: Duration) -> SessionCache {
        SessionCache {
            ttl,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves the map consistent (every update is a
        // single insert or remove), so a poisoned lock is still safe to use.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Looks `session_id` up.
    pub fn get(&self, session_id: &str) -> Lookup {
        let mut state = self.state();
        let ticket = Ticket {
            epoch: state.epoch,
            started: Instant::now(),
        };
        if self.ttl.is_zero() {
            return Lookup::Miss(ticket);
        }
        let Some(entry) = state.entries.get_mut(session_id) else {
            return Lookup::Miss(ticket);
        };
        let age = entry.fetched.elapsed();
        if age >= self.ttl {
            Lookup::Miss(ticket)
        } else if age >= self.ttl / 2 && !entry.refreshing {
            entry.refreshing = true;
            Lookup::HitRefreshAhead(entry.auth.clone(), ticket)
        } else {
            Lookup::Hit(entry.auth.clone())
        }
    }

    /// Remembers the answer of a lookup that started with `ticket`; `None` (no such
    /// session) drops any entry. A live answer from before the latest forget is ignored,
    /// and no answer replaces one read more recently.
    pub fn put(&self, session_id: &str, auth: Option<SessionAuth>, ticket: Ticket) {
        if self.ttl.is_zero() {
            return;
        }
        let mut state = self.state();
        let Some(auth) = auth else {
            state.entries.remove(session_id);
            return;
        };
        let usable = auth.revoked_at.is_none() && !auth.disabled;
        if usable && state.epoch != ticket.epoch {
            return;
        }
        if let Some(current) = state.entries.get(session_id) {
            if current.fetched > ticket.started {
                return;
            }
        } else if state.entries.len() >= MAX_ENTRIES {
            let ttl = self.ttl;
            state.entries.retain(|_, e| e.fetched.elapsed() < ttl);
            if state.entries.len() >= MAX_ENTRIES {
                state.entries.clear();
            }
        }
        let entry = Entry {
            fetched: ticket.started,
            auth,
            refreshing: false,
        };
        state.entries.insert(session_id.to_string(), entry);
    }

    /// A background refresh of `session_id` did not happen: let the next request past half
    /// the TTL try again.
    pub fn refresh_failed(&self, session_id: &str) {
        if let Some(entry) = self.state().entries.get_mut(session_id) {
            entry.refreshing = false;
        }
    }

    /// Forgets one session (it was just revoked here).
    pub fn forget(&self, session_id: &str) {
        let mut state = self.state();
        state.epoch += 1;
        state.entries.remove(session_id);
    }

    /// Forgets everything (a user changed: role, disabled, deleted).
    pub fn forget_all(&self) {
        let mut state = self.state();
        state.epoch += 1;
        state.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Role;

    fn auth() -> SessionAuth {
        SessionAuth {
            user_id: "u1".into(),
            username: "alice".into(),
            role: Role::Viewer,
            disabled: false,
            revoked_at: None,
            idle_expires_at: i64::MAX,
            absolute_expires_at: i64::MAX,
        }
    }

    fn ticket_of(lookup: Lookup) -> Ticket {
        match lookup {
            Lookup::Miss(t) | Lookup::HitRefreshAhead(_, t) => t,
            Lookup::Hit(_) => panic!("expected a ticket, got a plain hit"),
        }
    }

    #[test]
    fn an_answer_read_before_a_forget_is_not_put_back() {
        let cache = SessionCache::new(Duration::from_secs(2));
        // A lookup starts, then the session is revoked here, then the lookup's (stale)
        // answer arrives.
        let ticket = ticket_of(cache.get("s1"));
        cache.forget("s1");
        cache.put("s1", Some(auth()), ticket);
        assert!(matches!(cache.get("s1"), Lookup::Miss(_)));

        // A lookup that starts after the forget is cached as usual.
        let ticket = ticket_of(cache.get("s1"));
        cache.put("s1", Some(auth()), ticket);
        assert!(matches!(cache.get("s1"), Lookup::Hit(_)));
    }

    #[test]
    fn forget_all_also_discards_lookups_in_flight() {
        let cache = SessionCache::new(Duration::from_secs(2));
        let ticket = ticket_of(cache.get("s1"));
        cache.forget_all();
        cache.put("s1", Some(auth()), ticket);
        assert!(matches!(cache.get("s1"), Lookup::Miss(_)));
    }

    #[test]
    fn past_half_the_ttl_exactly_one_caller_is_asked_to_refresh() {
        // Sleeps sit 400 ms away from each boundary, so a slow machine does not matter.
        let cache = SessionCache::new(Duration::from_secs(2));
        let ticket = ticket_of(cache.get("s1"));
        cache.put("s1", Some(auth()), ticket);
        assert!(matches!(cache.get("s1"), Lookup::Hit(_)));

        std::thread::sleep(Duration::from_millis(1_400));
        assert!(matches!(cache.get("s1"), Lookup::HitRefreshAhead(..)));
        assert!(matches!(cache.get("s1"), Lookup::Hit(_)));
        // A failed refresh lets the next caller try again.
        cache.refresh_failed("s1");
        assert!(matches!(cache.get("s1"), Lookup::HitRefreshAhead(..)));

        // Past the TTL nothing is served, refreshing or not.
        std::thread::sleep(Duration::from_millis(1_000));
        assert!(matches!(cache.get("s1"), Lookup::Miss(_)));
    }

    #[test]
    fn a_slow_answer_never_replaces_a_newer_one() {
        let cache = SessionCache::new(Duration::from_secs(2));
        // A background read starts and sees the session live...
        let slow = ticket_of(cache.get("s1"));
        std::thread::sleep(Duration::from_millis(5));
        // ...a later read sees it revoked (by another instance) and lands first...
        let fast = ticket_of(cache.get("s1"));
        let revoked = SessionAuth {
            revoked_at: Some(1),
            ..auth()
        };
        cache.put("s1", Some(revoked), fast);
        // ...and the slow, older answer must not bring the session back.
        cache.put("s1", Some(auth()), slow);
        match cache.get("s1") {
            Lookup::Hit(a) => assert_eq!(a.revoked_at, Some(1)),
            other => panic!("expected the revoked copy, got {other:?}"),
        }
    }

    #[test]
    fn an_answer_that_the_session_is_unusable_is_kept_even_across_a_forget() {
        let cache = SessionCache::new(Duration::from_secs(2));
        let ticket = ticket_of(cache.get("s1"));
        cache.forget("s2");
        let disabled = SessionAuth {
            disabled: true,
            ..auth()
        };
        cache.put("s1", Some(disabled), ticket);
        assert!(matches!(cache.get("s1"), Lookup::Hit(a) if a.disabled));
    }

    #[test]
    fn a_vanished_session_is_dropped_and_a_zero_ttl_caches_nothing() {
        let cache = SessionCache::new(Duration::from_secs(2));
        let ticket = ticket_of(cache.get("s1"));
        cache.put("s1", Some(auth()), ticket);
        let ticket = ticket_of(cache.get("s2"));
        cache.put("s1", None, ticket);
        assert!(matches!(cache.get("s1"), Lookup::Miss(_)));

        let off = SessionCache::new(Duration::ZERO);
        let ticket = ticket_of(off.get("s1"));
        off.put("s1", Some(auth()), ticket);
        assert!(matches!(off.get("s1"), Lookup::Miss(_)));
    }
}
