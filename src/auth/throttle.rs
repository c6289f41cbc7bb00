//! Login throttling (OWASP ASVS 5.0 §6.3.1, NIST SP 800-63B-4 §3.2.2): failed logins are
//! counted per account, whatever address they come from, and per client address, in the
//! database so that every instance sees the same counts.
//!
//! Policy: a few free failures, then an exponential back-off (2 s, 4 s, 8 s, … up to 15
//! minutes) answered with 429 and Retry-After, so the attempt after the last free failure
//! is already refused; an account is locked after
//! [`ACCOUNT_LOCK_FAILURES`] consecutive failures until an administrator re-enables it.

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

    #[test]
    fn addresses_get_more_free_failures() {
        assert_eq!(address_block(19), 0);
        assert_eq!(address_block(20), 2);
    }
}
