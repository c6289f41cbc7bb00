//! Passwords: Argon2id hashing on a bounded pool of blocking threads, and verification of
//! imported bcrypt hashes.
//!
//! Hashing is deliberately slow, so it never runs on the async executor: [`Hasher`] runs
//! `workers` hashes at once on its own threads, queues at most `queue` more, and refuses
//! the rest with [`Overloaded`] (the HTTP layer answers 503 with Retry-After), so a login
//! flood costs bounded memory — about `workers × 19 MiB` — and never stalls other routes.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use argon2::password_hash::PasswordHasher;
use argon2::password_hash::phc::{Output, PasswordHash};
use argon2::{Algorithm, Argon2, Block, Params, Version};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
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
    if !verify_argon2(password.as_bytes(), &parsed) {
        return Verdict::Mismatch;
    }
    let current = parsed.algorithm.as_str() == "argon2id"
        && parsed.params.get_decimal("m") == Some(ARGON2_MEMORY_KIB)
        && parsed.params.get_decimal("t") == Some(ARGON2_ITERATIONS)
        && parsed.params.get_decimal("p") == Some(ARGON2_PARALLELISM);
    Verdict::Match { rehash: !current }
}

/// Recomputes an Argon2 hash with the stored algorithm, version, parameters and salt, in
/// this thread's working memory, and compares it with the stored output in constant time
/// (`Output`'s equality) — what the `argon2` crate's own verifier does, minus allocating
/// and zeroing 19 MiB on every call.
fn verify_argon2(password: &[u8], stored: &PasswordHash) -> bool {
    let (Some(salt), Some(expected)) = (&stored.salt, &stored.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(stored.algorithm.as_str()) else {
        return false;
    };
    let version = match stored.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(stored) else {
        return false;
    };
    let blocks = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let mut buffer = [0u8; Output::MAX_LENGTH];
    let Some(out) = buffer.get_mut(..expected.len()) else {
        return false;
    };
    let computed = with_work_memory(blocks, |memory| {
        argon2.hash_password_into_with_memory(password, salt.as_ref(), out, memory)
    });
    computed.is_ok() && Output::new(out).is_ok_and(|computed| &computed == expected)
}

thread_local! {
    /// This thread's Argon2 working memory (19 MiB at tessera's parameters), kept between
    /// verifications so that a busy hashing thread neither allocates nor zeroes it each time
    /// nor leaves the allocator to fragment around 19 MiB holes. Argon2 writes every block
    /// before it reads it, so leftovers from the previous hash never matter. Hashing threads
    /// drop it when their queue runs empty ([`release_work_memory`]).
    static WORK_MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on `blocks` blocks of this thread's working memory; a hash asking for more than
/// tessera's own parameters (an imported one) gets memory of its own, not kept.
fn with_work_memory<T>(blocks: usize, f: impl FnOnce(&mut [Block]) -> T) -> T {
    if blocks > ARGON2_MEMORY_KIB as usize {
        return f(&mut vec![Block::default(); blocks]);
    }
    WORK_MEMORY.with_borrow_mut(|memory| {
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        f(&mut memory[..blocks])
    })
}

/// Frees this thread's Argon2 working memory.
pub fn release_work_memory() {
    WORK_MEMORY.with_borrow_mut(|memory| *memory = Vec::new());
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

/// A job for a hashing thread.
type Job = Box<dyn FnOnce() + Send>;

/// A bounded pool for password hashing: a fixed set of OS threads fed by a bounded queue.
///
/// Fixed threads matter for memory as much as for CPU: each Argon2 hash allocates 19 MiB,
/// and the allocator keeps freed memory per thread, so hashing on an ever-changing set of
/// threads would grow the process by 19 MiB per thread ever used.
#[derive(Clone)]
pub struct Hasher {
    jobs: std::sync::mpsc::SyncSender<Job>,
    /// Jobs queued and not yet taken by a thread.
    waiting: Arc<AtomicUsize>,
}

impl Hasher {
    /// A pool of `workers` hashing threads with up to `queue` more jobs waiting.
    pub fn new(workers: usize, queue: usize) -> std::io::Result<Hasher> {
        let (jobs, receiver) = std::sync::mpsc::sync_channel::<Job>(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        let waiting = Arc::new(AtomicUsize::new(0));
        for n in 0..workers.max(1) {
            let receiver = receiver.clone();
            let waiting = waiting.clone();
            std::thread::Builder::new()
                .name(format!("tessera-hash-{n}"))
                .spawn(move || worker_loop(&receiver, &waiting))?;
        }
        Ok(Hasher { jobs, waiting })
    }

    /// Runs `job` on a hashing thread, or fails with [`Overloaded`] at once when every
    /// thread is busy and the queue is full. A job runs to the end even if the request that
    /// queued it is cancelled, and holds its place until then.
    pub async fn run<T, F>(&self, job: F) -> Result<T, Overloaded>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(job());
        });
        self.waiting.fetch_add(1, Ordering::SeqCst);
        if self.jobs.try_send(job).is_err() {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(Overloaded);
        }
        result.await.map_err(|_| Overloaded)
    }
}

/// Takes jobs until every [`Hasher`] handle is gone. A panicking job loses only its own
/// answer (its caller gets [`Overloaded`]), never the thread. While jobs keep coming the
/// thread keeps its Argon2 working memory; when none is waiting it gives it back, so an idle
/// server does not hold 19 MiB per hashing thread.
fn worker_loop(receiver: &Mutex<std::sync::mpsc::Receiver<Job>>, waiting: &AtomicUsize) {
    loop {
        let next = match receiver.lock() {
            Ok(guard) => guard.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        let Ok(job) = next else { return };
        waiting.fetch_sub(1, Ordering::SeqCst);
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
        if waiting.load(Ordering::SeqCst) == 0 {
            release_work_memory();
        }
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
    fn argon2_hashes_of_other_parameters_verify_and_ask_for_rehash() {
        use argon2::password_hash::PasswordHasher as _;
        // Smaller than tessera's (fits the kept working memory), larger (gets its own),
        // Argon2i, and the old version 0x10: each verifies, twice on the same thread (the
        // second time on reused memory), and none is current.
        let cases = [
            (
                Algorithm::Argon2id,
                Version::V0x13,
                Params::new(1024, 1, 1, None),
            ),
            (
                Algorithm::Argon2id,
                Version::V0x13,
                Params::new(20 * 1024, 1, 1, None),
            ),
            (
                Algorithm::Argon2i,
                Version::V0x13,
                Params::new(2048, 2, 1, None),
            ),
            (
                Algorithm::Argon2id,
                Version::V0x10,
                Params::new(2048, 2, 2, None),
            ),
        ];
        for (algorithm, version, params) in cases {
            let hasher = Argon2::new(algorithm, version, params.unwrap());
            let hash = hasher.hash_password(b"old parameters").unwrap().to_string();
            for _ in 0..2 {
                assert_eq!(
                    verify_blocking("old parameters", &hash),
                    Verdict::Match { rehash: true },
                    "{hash}"
                );
                assert_eq!(verify_blocking("old parameterz", &hash), Verdict::Mismatch);
            }
        }
        // After the memory is given back, verification still works.
        let current = hash_blocking("correct horse battery").unwrap();
        release_work_memory();
        assert_eq!(
            verify_blocking("correct horse battery", &current),
            Verdict::Match { rehash: false }
        );
        // A hash whose output was tampered with never matches.
        let tampered = format!("{}A", &current[..current.len() - 1]);
        let tampered = if tampered == current {
            format!("{}B", &current[..current.len() - 1])
        } else {
            tampered
        };
        assert_eq!(
            verify_blocking("correct horse battery", &tampered),
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

    #[tokio::test]
    async fn full_pool_refuses_at_once_instead_of_queueing_without_bound() {
        let hasher = Hasher::new(1, 1).unwrap();
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let wait = Arc::new(Mutex::new(wait));
        let blocked = |wait: Arc<Mutex<std::sync::mpsc::Receiver<()>>>| {
            move || {
                let _ = wait.lock().unwrap().recv();
            }
        };
        let running = tokio::spawn({
            let hasher = hasher.clone();
            let job = blocked(wait.clone());
            async move { hasher.run(job).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let queued = tokio::spawn({
            let hasher = hasher.clone();
            let job = blocked(wait.clone());
            async move { hasher.run(job).await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(
            hasher.run(|| ()).await.is_err(),
            "third job overflows worker + queue"
        );
        release.send(()).unwrap();
        release.send(()).unwrap();
        assert!(running.await.unwrap().is_ok());
        assert!(queued.await.unwrap().is_ok());
        assert!(
            hasher.run(|| 7).await == Ok(7),
            "room again once the jobs finished"
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
