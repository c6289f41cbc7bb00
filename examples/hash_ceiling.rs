//! The ceiling for the login benchmark: how many Argon2id verifications per second this
//! machine does at tessera's parameters, with no HTTP and no database.
//!
//! ```text
//! cargo run --release --example hash_ceiling -- --threads 2 --seconds 8
//! ```
//!
//! A login with a correct (or wrong) password costs exactly one `verify_blocking`, so the
//! verification rate on all cores is the most logins per second the machine can give.
//! Prints one `RESULT` line that `bench/run.sh` parses.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tessera::auth::password::{Verdict, hash_blocking, verify_blocking};

const PASSWORD: &str = "bench-password-2024";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut seconds = 8.0_f64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => threads = args.next().ok_or("--threads needs N")?.parse()?,
            "--seconds" => seconds = args.next().ok_or("--seconds needs S")?.parse()?,
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }

    // One hash to verify against, and one timed single-thread hash and verify for scale.
    let started = Instant::now();
    let hash = hash_blocking(PASSWORD)?;
    let hash_ms = started.elapsed().as_secs_f64() * 1e3;
    let started = Instant::now();
    if verify_blocking(PASSWORD, &hash) == Verdict::Mismatch {
        return Err("the password does not verify against its own hash".into());
    }
    let verify_ms = started.elapsed().as_secs_f64() * 1e3;

    // Every thread verifies the correct password in a loop until the deadline.
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let hash = Arc::new(hash);
    let started = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let (stop, done, hash) = (stop.clone(), done.clone(), hash.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if verify_blocking(PASSWORD, &hash) != Verdict::Mismatch {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(seconds));
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        let _ = worker.join();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let verifies = done.load(Ordering::Relaxed);

    println!(
        "RESULT threads={threads} verifies={verifies} seconds={elapsed:.2} \
         verify_per_s={:.1} single_hash_ms={hash_ms:.1} single_verify_ms={verify_ms:.1}",
        verifies as f64 / elapsed
    );
    Ok(())
}
