//! Login throttling (OWASP ASVS 5.0 §6.3.1, NIST SP 800-63B-4 §3.2.2): failed logins are
//! counted per account, whatever address they come from, and per client address, in the
//! database so that every instance sees the same counts.
//!
//! Policy: a few free failures, then an exponential back-off (2 s, 4 s, 8 s, … up to 15
//! minutes) answered with 429 and Retry-After, so the attempt after the last free failure
//! is already refused; an account is locked after
//! [`ACCOUNT_LOCK_FAILURES`] consecutive failures until an administrator re-enables it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Password checks one account may have in flight at once on one instance.
pub const ACCOUNT_CONCURRENT_ATTEMPTS: usize = 4;

/// Failures an account may have before back-off starts.
pub const ACCOUNT_FREE_FAILURES: i64 = 5;
/// Failures an address may have before back-off starts (addresses are shared behind NAT).
pub const ADDRESS_FREE_FAILURES: i64 = 20;
/// Longest back-off, in seconds.
pub const MAX_BACKOFF_SECONDS: i64 = 15 * 60;
/// Consecutive failures after which an account is locked.
pub const ACCOUNT_LOCK_FAILURES: i64 = 100;
/// An address's failures are forgotten after this long without a new one.
pub const ADDRESS_MEMORY_SECONDS: i64 = 15 * 60;
/// "Until an administrator acts": far enough to never elapse, small enough not to overflow.
pub const LOCKED: i64 = i64::MAX / 4;

/// The throttle key of an account, from its canonical username.
pub fn account_key(username: &str) -> String {
    format!("user:{username}")
}

/// The throttle key for a login name that is not a valid username: a digest, so arbitrary
/// client bytes (NUL included) never reach the database.
pub fn invalid_name_key(raw: &str) -> String {
    let digest = crate::auth::token::sha256_hex(raw);
    format!("invalid:{}", &digest[..32])
}

/// The throttle key of a client address.
pub fn address_key(ip: &str) -> String {
    format!("ip:{ip}")
}

/// Seconds an account is blocked after its `failures`-th consecutive failure.
pub fn account_block(failures: i64) -> i64 {
    if failures >= ACCOUNT_LOCK_FAILURES {
        return LOCKED;
    }
    backoff(failures - ACCOUNT_FREE_FAILURES + 1)
}

/// Seconds an address is blocked after its `failures`-th failure.
pub fn address_block(failures: i64) -> i64 {
    backoff(failures - ADDRESS_FREE_FAILURES + 1)
}

/// Lets at most [`ACCOUNT_CONCURRENT_ATTEMPTS`] password checks per account run at once on
/// this instance; the others wait their turn.
///
/// The counters are read before the slow password check and written after it. Without this
/// gate a burst of parallel guesses would all read the same count and all be checked, so
/// the back-off would only hold against one guess at a time. Through it, the counters a
/// waiting attempt reads include every attempt that went before it except those still in
/// flight: at most `ACCOUNT_CONCURRENT_ATTEMPTS − 1` extra guesses per back-off step on one
/// instance (× the number of instances). The counters themselves stay in the database.
#[derive(Default)]
pub struct AttemptGate {
    /// Per throttle key: the account's semaphore and how many attempts hold or await it.
    accounts: Mutex<HashMap<String, (Arc<Semaphore>, usize)>>,
}

/// An attempt's turn at the gate; the next waiting attempt goes when it is dropped.
pub struct AttemptTurn<'a> {
    gate: &'a AttemptGate,
    key: String,
    _permit: Option<OwnedSemaphorePermit>,
}

impl AttemptGate {
    /// Waits until the account `key` has fewer than the allowed attempts in flight.
    pub async fn enter(&self, key: &str) -> AttemptTurn<'_> {
        let key = key.to_string();
        let semaphore = {
            let mut accounts = self.accounts.lock().unwrap_or_else(PoisonError::into_inner);
            let (semaphore, users) = accounts
                .entry(key.clone())
                .or_insert_with(|| (Arc::new(Semaphore::new(ACCOUNT_CONCURRENT_ATTEMPTS)), 0));
            *users += 1;
            semaphore.clone()
        };
        // Created before waiting, so an attempt dropped while it waits is counted out too.
        let mut turn = AttemptTurn {
            gate: self,
            key,
            _permit: None,
        };
        // The semaphore is never closed.
        turn._permit = semaphore.acquire_owned().await.ok();
        turn
    }

    /// Accounts with an attempt in flight or waiting.
    #[cfg(test)]
    fn busy_accounts(&self) -> usize {
        self.accounts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl Drop for AttemptTurn<'_> {
    fn drop(&mut self) {
        let mut accounts = self
            .gate
            .accounts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((_, users)) = accounts.get_mut(&self.key) {
            *users -= 1;
            if *users == 0 {
                accounts.remove(&self.key);
            }
        }
    }
}

/// 0 while `over` ≤ 0, then 2, 4, 8, … seconds, capped. (Times are whole seconds, so the
/// shortest block lasts between 1 and 2 s.)
fn backoff(over: i64) -> i64 {
    if over <= 0 {
        return 0;
    }
    let exponent = over.min(20) as u32;
    (1i64 << exponent).min(MAX_BACKOFF_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_backoff_doubles_then_caps_then_locks() {
        assert_eq!(account_block(4), 0);
        assert_eq!(account_block(5), 2, "the 6th attempt is already refused");
        assert_eq!(account_block(6), 4);
        assert_eq!(account_block(8), 16);
        assert_eq!(account_block(60), MAX_BACKOFF_SECONDS);
        assert_eq!(account_block(100), LOCKED);
    }

    #[tokio::test]
    async fn the_gate_lets_a_few_attempts_per_account_through_and_forgets_idle_ones() {
        let gate = AttemptGate::default();
        let mut turns = Vec::new();
        for _ in 0..ACCOUNT_CONCURRENT_ATTEMPTS {
            turns.push(gate.enter("user:alice").await);
        }
        // Another account is not held up by alice's attempts.
        let bob = gate.enter("user:bob").await;
        assert_eq!(gate.busy_accounts(), 2);
        drop(bob);
        assert_eq!(gate.busy_accounts(), 1);

        // The next attempt for alice waits until one of hers ends.
        let waiting = gate.enter("user:alice");
        tokio::pin!(waiting);
        let early = tokio::time::timeout(std::time::Duration::from_millis(50), &mut waiting).await;
        assert!(early.is_err(), "a fifth attempt went through at once");
        turns.pop();
        let fifth = tokio::time::timeout(std::time::Duration::from_secs(1), &mut waiting)
            .await
            .expect("the fifth attempt goes once one ends");

        // An attempt given up while waiting is counted out too.
        let mut abandoned = Box::pin(gate.enter("user:alice"));
        let pending =
            tokio::time::timeout(std::time::Duration::from_millis(20), &mut abandoned).await;
        assert!(pending.is_err());
        drop(abandoned);
        drop(fifth);
        turns.clear();
        assert_eq!(gate.busy_accounts(), 0, "nothing is kept for idle accounts");
    }

    #[test]
    fn addresses_get_more_free_failures() {
        assert_eq!(address_block(19), 0);
        assert_eq!(address_block(20), 2);
    }
}
