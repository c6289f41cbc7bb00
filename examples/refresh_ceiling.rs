//! The ceiling for the refresh benchmark: the same database doing the same writes as a
//! refresh, with no HTTP in front.
//!
//! ```text
//! cargo run --release --example refresh_ceiling -- \
//!     --database postgres://postgres@127.0.0.1/ceiling --chains 64 --seconds 10
//! ```
//!
//! It opens the database with tessera's own [`Store::connect`] (same pool size, same SQLite
//! pragmas), runs the real migrations, stores `--sessions` sessions, and then runs `--chains`
//! concurrent chains, each rotating its own session's refresh token with
//! [`Store::rotate_refresh_token`] — one transaction with the conditional
//! `UPDATE sessions … WHERE refresh_hash = old RETURNING …` and one
//! `INSERT INTO retired_refresh_tokens` — and presenting the new hash on its next turn.
//! A rotation that finds no row is an error (it would be a 401 over HTTP).
//!
//! With `--raw-pool N` the rotations run instead as the same SQL through a plain sqlx pool
//! of N connections (same SQLite pragmas), to see what another pool shape would give — for
//! SQLite, `--raw-pool 1` is one writer connection with the rotations queued in front of it
//! rather than eight connections contending for the write lock. `--pragmas "…"` adds
//! statements run on each raw SQLite connection (e.g. `PRAGMA cache_size = -65536`).
//!
//! The database must be a fresh one; prints one `RESULT` line that `bench/run.sh` parses.

use std::time::{Duration, Instant};

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};
use tessera::auth::clock::now;
use tessera::auth::token::{new_refresh_token, refresh_token_hash};
use tessera::store::{NewSession, Role, Store, User};

const IDLE_TTL: i64 = 7 * 86_400;
const ABSOLUTE_TTL: i64 = 30 * 86_400;

struct Args {
    database: String,
    chains: usize,
    sessions: usize,
    seconds: f64,
    raw_pool: Option<u32>,
    pragmas: String,
}

fn parse_args() -> Result<Args, Box<dyn std::error::Error>> {
    let mut parsed = Args {
        database: String::new(),
        chains: 64,
        sessions: 1000,
        seconds: 10.0,
        raw_pool: None,
        pragmas: String::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--database" => parsed.database = value()?,
            "--chains" => parsed.chains = value()?.parse()?,
            "--sessions" => parsed.sessions = value()?.parse()?,
            "--seconds" => parsed.seconds = value()?.parse()?,
            "--raw-pool" => parsed.raw_pool = Some(value()?.parse()?),
            "--pragmas" => parsed.pragmas = value()?,
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    if parsed.database.is_empty() {
        return Err("--database URL is required".into());
    }
    parsed.sessions = parsed.sessions.max(parsed.chains);
    Ok(parsed)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let store = Store::connect(&args.database).await?;
    store.migrate().await?;

    // One user owns every session; its password hash is never checked here.
    let user = User {
        id: uuid::Uuid::now_v7().to_string(),
        username: format!("ceiling-{}", std::process::id()),
        password_hash: "unused".into(),
        role: Role::Editor,
        disabled: false,
        created_at: now(),
    };
    store.create_user(&user).await?;

    // The sessions, of which the first `chains` are rotated; keep their current hashes.
    let mut current = Vec::with_capacity(args.chains);
    for i in 0..args.sessions {
        let id = uuid::Uuid::now_v7().to_string();
        let hash = refresh_token_hash(&new_refresh_token(&id));
        let t = now();
        store
            .create_session(&NewSession {
                id: id.clone(),
                user_id: user.id.clone(),
                refresh_hash: hash.clone(),
                now: t,
                idle_expires_at: t + IDLE_TTL,
                absolute_expires_at: t + ABSOLUTE_TTL,
                ip: Some("127.0.0.1".into()),
                user_agent: Some("refresh_ceiling".into()),
            })
            .await?;
        if i < args.chains {
            current.push((id, hash));
        }
    }

    let raw = match args.raw_pool {
        Some(size) => Some(raw_pool(&args.database, size, &args.pragmas).await?),
        None => None,
    };

    // Every chain rotates its own session, back to back, until the deadline.
    let deadline = Instant::now() + Duration::from_secs_f64(args.seconds);
    let started = Instant::now();
    let tasks: Vec<_> = current
        .into_iter()
        .map(|(id, mut old)| {
            let store = store.clone();
            let raw = raw.clone();
            tokio::spawn(async move {
                let mut latencies_us = Vec::new();
                let mut errors = 0u64;
                while Instant::now() < deadline {
                    let new = refresh_token_hash(&new_refresh_token(&id));
                    let sent = Instant::now();
                    let rotated = match &raw {
                        Some(pool) => raw_rotate(pool, &old, &new, now()).await,
                        None => store
                            .rotate_refresh_token(&old, &new, now(), IDLE_TTL)
                            .await
                            .map(|s| s.is_some())
                            .map_err(|e| e.to_string()),
                    };
                    match rotated {
                        Ok(true) => {
                            latencies_us.push(sent.elapsed().as_micros() as u64);
                            old = new;
                        }
                        Ok(false) => {
                            // The chain is broken; nothing else will rotate this session.
                            errors += 1;
                            break;
                        }
                        Err(e) => {
                            errors += 1;
                            eprintln!("rotation failed: {e}");
                        }
                    }
                }
                (latencies_us, errors)
            })
        })
        .collect();

    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (lat, err) = task.await?;
        latencies.extend(lat);
        errors += err;
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[i] as f64 / 1e3
    };
    println!(
        "RESULT rotations={} errors={errors} seconds={elapsed:.2} per_s={:.1} \
         p50_ms={:.2} p99_ms={:.2} chains={} sessions={} pool={}",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        args.chains,
        args.sessions,
        args.raw_pool
            .map_or("store".to_string(), |n| format!("raw{n}"))
    );
    store.close().await;
    Ok(())
}

/// A plain sqlx pool of `size` connections with the pragmas tessera sets on SQLite.
async fn raw_pool(url: &str, size: u32, pragmas: &str) -> Result<AnyPool, sqlx::Error> {
    let sqlite = url.starts_with("sqlite:");
    // Leaked once: a pool lives as long as this program, and sqlx wants `&'static str`.
    let pragmas: &'static str = Box::leak(
        format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; {pragmas}"
        )
        .into_boxed_str(),
    );
    AnyPoolOptions::new()
        .max_connections(size)
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                if sqlite {
                    conn.execute(pragmas).await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await
}

/// The statements of `Store::rotate_refresh_token`, in one transaction: true if rotated.
async fn raw_rotate(pool: &AnyPool, old: &str, new: &str, now: i64) -> Result<bool, String> {
    let run = async {
        let mut tx = pool.begin().await?;
        let row: Option<(String, i64)> = sqlx::query_as(
            "UPDATE sessions SET refresh_hash = $1, generation = generation + 1, \
             rotated_at = $2, last_used_at = $2, \
             idle_expires_at = CASE WHEN $2 + $3 < absolute_expires_at \
             THEN $2 + $3 ELSE absolute_expires_at END \
             WHERE refresh_hash = $4 AND revoked_at IS NULL \
             AND idle_expires_at > $2 AND absolute_expires_at > $2 \
             RETURNING id, generation",
        )
        .bind(new)
        .bind(now)
        .bind(IDLE_TTL)
        .bind(old)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id, generation)) = row else {
            tx.rollback().await?;
            return Ok(false);
        };
        sqlx::query(
            "INSERT INTO retired_refresh_tokens (token_hash, session_id, generation, \
             retired_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(old)
        .bind(&id)
        .bind(generation - 1)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok::<bool, sqlx::Error>(true)
    };
    run.await.map_err(|e| e.to_string())
}
