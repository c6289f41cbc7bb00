//! Fills a tessera database with many stored sessions (and, optionally, properties) for the
//! scale benchmark, in one bulk `INSERT … SELECT` per chunk.
//!
//! ```text
//! cargo run --release --example seed_sessions -- --database URL --sessions 999000 \
//!     [--users 1000] [--properties 20]
//! ```
//!
//! The schema comes from tessera's own migrations ([`Store::migrate`]). Seeded sessions
//! belong to `--users` seeded users (`seeduser-N`, whose password hash matches nothing), are
//! live for 7 days, and have stored refresh hashes of the real form (`<id>:<64 hex>`); their ids sort
//! before the UUID v7 ids of real sessions, as older sessions' ids do. Runs are additive:
//! a second run adds `--sessions` more. PostgreSQL uses `generate_series` and is
//! `VACUUM ANALYZE`d afterwards (as autovacuum would eventually do); SQLite uses a recursive
//! CTE. Prints one `RESULT` line.

use std::time::Instant;

use sqlx::{AnyPool, Executor, Row};
use tessera::auth::clock::now;
use tessera::store::{Property, Store};

/// Rows per INSERT statement (and per transaction).
const CHUNK: i64 = 250_000;
/// The user agent that marks seeded sessions.
const SEED_AGENT: &str = "tessera-bench-seed";

const PG_SESSIONS: &str = "INSERT INTO sessions (id, user_id, refresh_hash, generation, \
    rotated_at, created_at, last_used_at, idle_expires_at, absolute_expires_at, ip, user_agent) \
    SELECT lpad(to_hex(n), 8, '0') || '-0000-7000-8000-' || lpad(to_hex(n), 12, '0'), \
    'seeduser-' || (n % $3), lpad(to_hex(n), 8, '0') || '-0000-7000-8000-' || \
    lpad(to_hex(n), 12, '0') || ':' || encode(sha256(('seed-' || n || '-' || random())::bytea), 'hex'), \
    0, $4, $4, $4, $4 + 604800, $4 + 2592000, '127.0.0.1', $5 \
    FROM generate_series($1::bigint, $2::bigint) AS n";

const SQLITE_SESSIONS: &str = "WITH RECURSIVE seq(n) AS (SELECT $1 UNION ALL \
    SELECT n + 1 FROM seq WHERE n < $2) \
    INSERT INTO sessions (id, user_id, refresh_hash, generation, rotated_at, created_at, \
    last_used_at, idle_expires_at, absolute_expires_at, ip, user_agent) \
    SELECT printf('%08x-0000-7000-8000-%012x', n, n), 'seeduser-' || (n % $3), \
    printf('%08x-0000-7000-8000-%012x', n, n) || ':' || lower(hex(randomblob(32))), \
    0, $4, $4, $4, $4 + 604800, $4 + 2592000, '127.0.0.1', $5 \
    FROM seq";

// `WHERE true` keeps SQLite from reading `ON CONFLICT` as part of the SELECT's join.
const USERS: &str = "WITH RECURSIVE seq(n) AS (SELECT 0 UNION ALL \
    SELECT n + 1 FROM seq WHERE n + 1 < $1) \
    INSERT INTO users (id, username, password_hash, role, disabled, created_at, updated_at) \
    SELECT 'seeduser-' || n, 'seeduser-' || n, 'seeded-account-no-password', 'viewer', 0, $2, $2 \
    FROM seq WHERE true ON CONFLICT (id) DO NOTHING";

struct Args {
    database: String,
    sessions: i64,
    users: i64,
    properties: i64,
}

fn parse_args() -> Result<Args, Box<dyn std::error::Error>> {
    let mut parsed = Args {
        database: String::new(),
        sessions: 0,
        users: 1000,
        properties: 0,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--database" => parsed.database = value()?,
            "--sessions" => parsed.sessions = value()?.parse()?,
            "--users" => parsed.users = value()?.parse::<i64>()?.max(1),
            "--properties" => parsed.properties = value()?.parse()?,
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    if parsed.database.is_empty() {
        return Err("--database URL is required".into());
    }
    Ok(parsed)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let sqlite = args.database.starts_with("sqlite:");
    let started = Instant::now();

    // The schema and the properties go through tessera's own store.
    let store = Store::connect(&args.database).await?;
    store.migrate().await?;
    seed_properties(&store, args.properties).await?;

    let pool = AnyPool::connect(&args.database).await?;
    let mut conn = pool.acquire().await?;
    if sqlite {
        // A large page cache makes the random-key index inserts cheap; WAL is already set.
        conn.execute("PRAGMA cache_size = -262144; PRAGMA synchronous = NORMAL;")
            .await?;
    }

    sqlx::query(USERS)
        .bind(args.users)
        .bind(now())
        .execute(&mut *conn)
        .await?;

    let already: i64 = sqlx::query("SELECT COUNT(*) AS n FROM sessions WHERE user_agent = $1")
        .bind(SEED_AGENT)
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
    let insert = if sqlite { SQLITE_SESSIONS } else { PG_SESSIONS };
    let (first, last) = (already + 1, already + args.sessions);
    let mut from = first;
    while from <= last {
        let to = (from + CHUNK - 1).min(last);
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        sqlx::query(insert)
            .bind(from)
            .bind(to)
            .bind(args.users)
            .bind(now())
            .bind(SEED_AGENT)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        from = to + 1;
    }
    if !sqlite && args.sessions > 0 {
        conn.execute("VACUUM (ANALYZE) sessions").await?;
    }

    let total: i64 = sqlx::query("SELECT COUNT(*) AS n FROM sessions")
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
    drop(conn);
    pool.close().await;
    store.close().await;
    println!(
        "RESULT seeded={} total_sessions={total} seconds={:.1}",
        args.sessions,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Makes sure at least `wanted` properties exist, so a page of the list is full.
async fn seed_properties(store: &Store, wanted: i64) -> Result<(), Box<dyn std::error::Error>> {
    let (_, existing) = store.list_properties(1, 0).await?;
    let t = now();
    for i in existing..wanted {
        store
            .create_property(&Property {
                id: uuid::Uuid::now_v7().to_string(),
                title: format!("Bench house {i}"),
                address: Some(format!("{} Benchmark Street, Springfield", 100 + i)),
                price: Some(250_000.0 + 1_000.0 * i as f64),
                description: Some(
                    "Three bedrooms, a garden, and a kitchen that was renovated last year.".into(),
                ),
                created_by: None,
                created_at: t + i,
                updated_at: t + i,
            })
            .await?;
    }
    Ok(())
}
