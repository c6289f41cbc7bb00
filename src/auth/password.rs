//! Passwords: Argon2id hashing on a bounded pool of blocking threads, and verification of
//! imported bcrypt hashes.
//!
//! Hashing is deliberately slow, so it never runs on the async executor: [`Hasher`] admits
//! at most `workers + queue` hashes at once and refuses the rest with
//! [`Overloaded`] (the HTTP layer answers 503 with Retry-After), so a login flood costs
//! bounded memory — about `workers × 19 MiB` — and never stalls other routes.

use std::sync::Arc;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

/// Argon2id memory cost in KiB: 19 MiB, OWASP Password Storage Cheat Sheet's first option
/// (m=19456, t=2, p=1), also RFC 9106's floor for memory-constrained use.
pub const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
/// Argon2id passes over memory (OWASP: t=2 with 19 MiB).
pub const ARGON2_ITERATIONS: u32 = 2;
/// Argon2id lanes (OWASP: p=1).
pub const ARGON2_PARALLELISM: u32 = 1;

/// Shortest password accepted when one is set. The contract fixes 8 (NIST SP 800-63B-4
/// §3.1.1.2 allows 8 only alongside a second factor and asks 15 for a password alone; a
/// deployment wanting that raises this constant).
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest password accepted, checked before any hashing so a huge one costs nothing.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// bcrypt reads only the first 72 bytes of a password; longer ones are refused rather than
/// silently truncated (a password that differs after byte 72 must not match).
const BCRYPT_MAX_BYTES: usize = 72;

/// Every hashing slot is taken; try again shortly.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("password hashing is overloaded")]
pub struct Overloaded;

/// The result of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The password is wrong (or the hash unusable).
    Mismatch,
    /// The password is right; `rehash` says the stored hash should be replaced by a current
    /// Argon2id hash (it is bcrypt, or Argon2 with other parameters).
    Match { rehash: bool },
}

/// Whether `password` has an acceptable length for a new password.
pub fn check_new_password(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(format!(
            "Password must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters"
        ));
    }
    Ok(())
}

fn argon2() -> Argon2<'static> {
    // The constants above are valid Argon2 parameters; `Params::new` only fails outside its
    // documented ranges, so the fallback to the crate's defaults (same values) never runs.
    let params = Params::new(
        ARGON2_MEMORY_KIB,
        ARGON2_ITERATIONS,
        ARGON2_PARALLELISM,
        None,
    )
    .unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password with Argon2id at tessera's parameters (blocking; call via [`Hasher`]).
pub fn hash_blocking(password: &str) -> Result<String, String> {
    argon2()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| e.to_string())
}

/// Checks a password against a stored hash (blocking; call via [`Hasher`]).
pub fn verify_blocking(password: &str, stored: &str) -> Verdict {
    if stored.starts_with("$2") {
        return verify_bcrypt(password, stored);
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verdict::Mismatch;
    };
    if argon2()
        .verify_password(password.as_bytes(), &parsed)
        .is_err()
    {
        return Verdict::Mismatch;
    }
    let current = parsed.algorithm.as_str() == "argon2id"
        && parsed.params.get_decimal("m") == Some(ARGON2_MEMORY_KIB)
        && parsed.params.get_decimal("t") == Some(ARGON2_ITERATIONS)
        && parsed.params.get_decimal("p") == Some(ARGON2_PARALLELISM);
    Verdict::Match { rehash: !current }
}

fn verify_bcrypt(password: &str, stored: &str) -> Verdict {
    if password.len() > BCRYPT_MAX_BYTES {
        return Verdict::Mismatch;
    }
    match bcrypt::verify(password, stored) {
        Ok(true) => Verdict::Match { rehash: true },
        _ => Verdict::Mismatch,
    }
}

/// A bounded pool for password hashing.
#[derive(Clone)]
pub struct Hasher {
    /// Admission: workers + queue. A request that finds none free is refused at once.
    admission: Arc<Semaphore>,
    /// Hashes that actually run at the same time.
    workers: Arc<Semaphore>,
}

impl Hasher {
    /// A pool running `workers` hashes at once with up to `queue` more waiting.
    pub fn new(workers: usize, queue: usize) -> Hasher {
        Hasher {
            admission: Arc::new(Semaphore::new(workers + queue)),
            workers: Arc::new(Semaphore::new(workers)),
        }
    }

    /// Runs `job` on a blocking thread once a worker is free, or fails with [`Overloaded`]
    /// at once when the queue is full.
    ///
    /// The permits move into the job, so a hash keeps its slot until it really finishes,
    /// even when the request that started it is cancelled (client gone, timeout).
    pub async fn run<T, F>(&self, job: F) -> Result<T, Overloaded>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let admitted = self
            .admission
            .clone()
            .try_acquire_owned()
            .map_err(|_| Overloaded)?;
        let worker = self
            .workers
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Overloaded)?;
        let held = move || {
            let _permits = (admitted, worker);
            job()
        };
        tokio::task::spawn_blocking(held)
            .await
            .map_err(|_| Overloaded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_hash_verifies_and_is_current() {
        let hash = hash_blocking("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(
            verify_blocking("correct horse battery", &hash),
            Verdict::Match { rehash: false }
        );
        assert_eq!(
            verify_blocking("wrong horse battery", &hash),
            Verdict::Mismatch
        );
    }

    #[test]
    fn bcrypt_hash_verifies_and_asks_for_rehash() {
        let hash = bcrypt::hash("tutorial-password", 4).unwrap();
        assert_eq!(
            verify_blocking("tutorial-password", &hash),
            Verdict::Match { rehash: true }
        );
        assert_eq!(
            verify_blocking("tutorial-passwore", &hash),
            Verdict::Mismatch
        );
    }

    #[test]
    fn bcrypt_never_truncates_long_passwords() {
        let long = "a".repeat(72);
        let hash = bcrypt::hash(&long, 4).unwrap();
        // bcrypt itself would accept anything that starts with the same 72 bytes.
        assert_eq!(
            verify_blocking(&format!("{long}extra"), &hash),
            Verdict::Mismatch
        );
    }

    #[test]
    fn new_password_length_is_checked_in_characters() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("long enough").is_ok());
        assert!(check_new_password(&"é".repeat(128)).is_ok());
        assert!(check_new_password(&"x".repeat(129)).is_err());
    }
}
