//! Storage: the one interface tessera keeps its state behind, over SQLite or PostgreSQL.
//!
//! Both databases run the same SQL through sqlx's `Any` driver, so there is one
//! implementation and one set of migrations (`migrations/`). The portable subset this needs:
//! ids are TEXT, times BIGINT unix seconds, flags BIGINT 0/1, `$n` placeholders, `RETURNING`.
//!
//! Every rule that decides correctness under concurrency is a single conditional statement
//! here (see [`Store::rotate_refresh_token`]); nothing is read, decided in Rust and written
//! back.

mod records;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Connection, Executor, Row};

pub use records::*;

/// The embedded migrations, shared by both databases.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A storage failure. Its text is for logs only, never for clients.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (a username that is taken).
    #[error("unique constraint violated")]
    Conflict,
    /// The database could not be reached or refused the statement.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// A pooled connection idle for this long is checked (one round trip) before it is used;
/// busier ones were checked when they were last given back.
const RECHECK_IDLE_CONNECTION_AFTER: Duration = Duration::from_secs(5);

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

// Column lists as macros, so every statement stays a `&'static str` built by `concat!`:
// no SQL text is ever assembled at run time.
macro_rules! user_columns {
    () => {
        "id, username, password_hash, role, disabled, created_at"
    };
}
macro_rules! session_columns {
    () => {
        "id, user_id, generation, rotated_at, created_at, last_used_at, idle_expires_at, \
         absolute_expires_at, revoked_at, ip, user_agent"
    };
}
macro_rules! session_columns_s {
    () => {
        "s.id, s.user_id, s.generation, s.rotated_at, s.created_at, s.last_used_at, \
         s.idle_expires_at, s.absolute_expires_at, s.revoked_at, s.ip, s.user_agent"
    };
}
macro_rules! property_columns {
    () => {
        "id, title, address, price, description, created_by, created_at, updated_at"
    };
}

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    /// Connections for reads.
    pool: AnyPool,
    /// Connections for writes. On SQLite, which allows one writer at a time, this is a
    /// separate pool of a single connection: writers wait their turn in the pool's queue
    /// instead of retrying SQLite's write lock in `busy_timeout` sleeps (during which the
    /// lock can sit unused), and readers keep their own connections. On PostgreSQL it is
    /// the same pool as `pool`.
    writer: AnyPool,
}

fn classify(err: sqlx::Error) -> StoreError {
    match err.as_database_error() {
        Some(db) if db.is_unique_violation() => StoreError::Conflict,
        _ => StoreError::Database(err),
    }
}

impl Store {
    /// Connects to `url` (`sqlite://…` or `postgres://…`); a missing SQLite file is created.
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        };

        // sqlx checks every connection with a round trip when it goes back to the pool, and
        // by default again when it is taken out. Under load that second check doubles the
        // round trips of a one-statement query; only a connection that sat idle for a while
        // (where a restarted server or a dropped link would show) is checked again.
        let options = || {
            AnyPoolOptions::new()
                .acquire_timeout(Duration::from_secs(10))
                .test_before_acquire(false)
                .before_acquire(|conn, meta| {
                    Box::pin(async move {
                        if meta.idle_for >= RECHECK_IDLE_CONNECTION_AFTER {
                            conn.ping().await?;
                        }
                        Ok(true)
                    })
                })
        };
        match backend {
            Backend::Sqlite => {
                ensure_sqlite_file(url)?;
                // WAL lets readers go on while the one writer writes; busy_timeout makes a
                // writer from another process (a second instance, the CLI) wait for the
                // lock instead of failing.
                let sqlite = |connections: u32| {
                    options()
                        .max_connections(connections)
                        .after_connect(|conn, _meta| {
                            Box::pin(async move {
                                conn.execute(
                                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                                )
                                .await?;
                                Ok(())
                            })
                        })
                        .connect(url)
                };
                let writer = sqlite(1).await?;
                let pool = sqlite(8).await?;
                Ok(Store { pool, writer })
            }
            Backend::Postgres => {
                let pool = options().max_connections(16).connect(url).await?;
                Ok(Store {
                    writer: pool.clone(),
                    pool,
                })
            }
        }
    }

    /// Applies the migrations that have not run yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.writer).await?;
        Ok(())
    }

    /// Checks that the database answers (readiness).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }

    // ---- users -------------------------------------------------------------------------

    /// Inserts a user; `Conflict` if the username is taken.
    pub async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (id, username, password_hash, role, disabled, created_at, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&user.id)
        .bind(&user.username)
        .bind(&user.password_hash)
        .bind(user.role.as_str())
        .bind(i64::from(user.disabled))
        .bind(user.created_at)
        .bind(user.created_at)
        .execute(&self.writer)
        .await
        .map_err(classify)?;
        Ok(())
    }

    /// The user with this (already normalised) username.
    pub async fn find_user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE username = $1"
        ))
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| user_from_row(&r)).transpose()
    }

    /// The user with this id.
    pub async fn find_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| user_from_row(&r)).transpose()
    }

    /// Every user, oldest first.
    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users ORDER BY created_at, username"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// How many users exist (first-run detection).
    pub async fn count_users(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get::<i64, _>("n")?)
    }

    /// Changes a user's role; false if there is no such user.
    pub async fn set_role(&self, id: &str, role: Role, now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE users SET role = $1, updated_at = $2 WHERE id = $3")
            .bind(role.as_str())
            .bind(now)
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Disables or re-enables a user; false if there is no such user.
    pub async fn set_disabled(
        &self,
        id: &str,
        disabled: bool,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE users SET disabled = $1, updated_at = $2 WHERE id = $3")
            .bind(i64::from(disabled))
            .bind(now)
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Replaces a user's password hash.
    pub async fn set_password_hash(
        &self,
        id: &str,
        hash: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(hash)
            .bind(now)
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// Deletes a user and, by cascade, their sessions; false if there was no such user.
    pub async fn delete_user(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    // ---- sessions ----------------------------------------------------------------------

    /// Stores a new session whose current refresh token hashes to `session.refresh_hash`.
    pub async fn create_session(&self, session: &NewSession) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id, user_id, refresh_hash, generation, rotated_at, created_at, \
             last_used_at, idle_expires_at, absolute_expires_at, ip, user_agent) \
             VALUES ($1, $2, $3, 0, $4, $4, $4, $5, $6, $7, $8)",
        )
        .bind(&session.id)
        .bind(&session.user_id)
        .bind(&session.refresh_hash)
        .bind(session.now)
        .bind(session.idle_expires_at)
        .bind(session.absolute_expires_at)
        .bind(&session.ip)
        .bind(&session.user_agent)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Rotates a refresh token: the session whose *current* token hashes to `old_hash`, if it
    /// is live at `now`, gets `new_hash` as its current token, and `old_hash` is retired.
    ///
    /// The UPDATE's WHERE clause is the whole decision, so of any number of concurrent calls
    /// with the same `old_hash` exactly one gets `Some` (RFC 9700 §4.14.2): the others find
    /// the row already changed and get `None`, and one token never gives rise to two.
    pub async fn rotate_refresh_token(
        &self,
        old_hash: &str,
        new_hash: &str,
        now: i64,
        idle_ttl: i64,
    ) -> Result<Option<(SessionRecord, SessionUser)>, StoreError> {
        let mut tx = self.writer.begin().await?;
        let row = sqlx::query(concat!(
            "UPDATE sessions SET refresh_hash = $1, generation = generation + 1, \
             rotated_at = $2, last_used_at = $2, \
             idle_expires_at = CASE WHEN $2 + $3 < absolute_expires_at \
                 THEN $2 + $3 ELSE absolute_expires_at END \
             WHERE refresh_hash = $4 AND revoked_at IS NULL \
             AND idle_expires_at > $2 AND absolute_expires_at > $2 \
             RETURNING ",
            session_columns!(),
            // The user comes back with the session, saving the refresh a round trip.
            ", (SELECT u.username FROM users u WHERE u.id = sessions.user_id) AS username, \
             (SELECT u.role FROM users u WHERE u.id = sessions.user_id) AS role, \
             (SELECT u.disabled FROM users u WHERE u.id = sessions.user_id) AS disabled"
        ))
        .bind(new_hash)
        .bind(now)
        .bind(idle_ttl)
        .bind(old_hash)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        let session = session_from_row(&row)?;
        let user = SessionUser {
            username: row.try_get("username")?,
            role: parse_role(&row)?,
            disabled: row.try_get::<i64, _>("disabled")? != 0,
        };
        sqlx::query(
            "INSERT INTO retired_refresh_tokens (token_hash, session_id, generation, retired_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(old_hash)
        .bind(&session.id)
        .bind(session.generation - 1)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some((session, user)))
    }

    /// The session whose current refresh token hashes to `hash`, live or not.
    pub async fn find_session_by_refresh_hash(
        &self,
        hash: &str,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE refresh_hash = $1"
        ))
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| session_from_row(&r)).transpose()
    }

    /// A rotated-out refresh token and the session it belonged to.
    pub async fn find_retired_token(
        &self,
        hash: &str,
    ) -> Result<Option<(RetiredToken, SessionRecord)>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT r.generation AS retired_generation, r.retired_at, ",
            session_columns_s!(),
            " FROM retired_refresh_tokens r JOIN sessions s ON s.id = r.session_id \
             WHERE r.token_hash = $1"
        ))
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let retired = RetiredToken {
            generation: row.try_get("retired_generation")?,
            retired_at: row.try_get("retired_at")?,
        };
        Ok(Some((retired, session_from_row(&row)?)))
    }

    /// The session with this id.
    pub async fn find_session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| session_from_row(&r)).transpose()
    }

    /// What an access-token check needs: the session and its user, in one indexed lookup.
    pub async fn session_auth(&self, session_id: &str) -> Result<Option<SessionAuth>, StoreError> {
        let row = sqlx::query(
            "SELECT s.user_id, s.revoked_at, s.idle_expires_at, s.absolute_expires_at, \
             u.username, u.role, u.disabled \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1",
        )
        .bind(session_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(SessionAuth {
            user_id: row.try_get("user_id")?,
            username: row.try_get("username")?,
            role: parse_role(&row)?,
            disabled: row.try_get::<i64, _>("disabled")? != 0,
            revoked_at: row.try_get("revoked_at")?,
            idle_expires_at: row.try_get("idle_expires_at")?,
            absolute_expires_at: row.try_get("absolute_expires_at")?,
        }))
    }

    /// A user's sessions that are live at `now`, newest first.
    pub async fn list_live_sessions(
        &self,
        user_id: &str,
        now: i64,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE user_id = $1 AND revoked_at IS NULL \
             AND idle_expires_at > $2 AND absolute_expires_at > $2 ORDER BY created_at DESC, id"
        ))
        .bind(user_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(session_from_row).collect()
    }

    /// Revokes one session (if not already); true if this call revoked it.
    pub async fn revoke_session(
        &self,
        id: &str,
        reason: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $1, revoke_reason = $2 \
             WHERE id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(reason)
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Revokes every live session of a user, except `keep` if given; returns how many.
    pub async fn revoke_user_sessions(
        &self,
        user_id: &str,
        keep: Option<&str>,
        reason: &str,
        now: i64,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE sessions SET revoked_at = $1, revoke_reason = $2 \
             WHERE user_id = $3 AND revoked_at IS NULL AND id <> $4",
        )
        .bind(now)
        .bind(reason)
        .bind(user_id)
        .bind(keep.unwrap_or(""))
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }

    /// Deletes sessions that expired before `now`, and revoked ones older than
    /// `revoked_before`; their retired tokens go with them. Returns how many.
    pub async fn delete_expired_sessions(
        &self,
        now: i64,
        revoked_before: i64,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM sessions WHERE idle_expires_at <= $1 OR absolute_expires_at <= $1 \
             OR revoked_at < $2",
        )
        .bind(now)
        .bind(revoked_before)
        .execute(&self.writer)
        .await?;
        // Throttle entries with no failure for a day are stale too.
        sqlx::query("DELETE FROM login_throttle WHERE blocked_until < $1 AND last_failure_at < $2")
            .bind(now)
            .bind(now - 86_400)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected())
    }

    // ---- login throttling --------------------------------------------------------------

    /// The throttle state of `key`, if it has failures on record.
    pub async fn throttle_state(&self, key: &str) -> Result<Option<ThrottleState>, StoreError> {
        let row = sqlx::query(
            "SELECT failures, last_failure_at, blocked_until FROM login_throttle \
             WHERE throttle_key = $1",
        )
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(ThrottleState {
            failures: row.try_get("failures")?,
            last_failure_at: row.try_get("last_failure_at")?,
            blocked_until: row.try_get("blocked_until")?,
        }))
    }

    /// Everything a login reads before it hashes, in one query: the user with this
    /// (already normalised) username, if any, and the throttle states of the account key
    /// and of the optional address key.
    pub async fn login_state(
        &self,
        username: Option<&str>,
        account_key: &str,
        address_key: Option<&str>,
    ) -> Result<LoginState, StoreError> {
        // One row always comes back; each LEFT JOIN fills its columns or leaves them NULL.
        // An empty string matches no username and no throttle key.
        let row = sqlx::query(
            "SELECT u.id, u.username, u.password_hash, u.role, u.disabled, u.created_at, \
             a.failures AS a_failures, a.last_failure_at AS a_last_failure_at, \
             a.blocked_until AS a_blocked_until, \
             b.failures AS b_failures, b.last_failure_at AS b_last_failure_at, \
             b.blocked_until AS b_blocked_until \
             FROM (SELECT 1 AS one) one \
             LEFT JOIN users u ON u.username = $1 \
             LEFT JOIN login_throttle a ON a.throttle_key = $2 \
             LEFT JOIN login_throttle b ON b.throttle_key = $3",
        )
        .bind(username.unwrap_or(""))
        .bind(account_key)
        .bind(address_key.unwrap_or(""))
        .fetch_one(&self.pool)
        .await?;
        let user = match row.try_get::<Option<String>, _>("id")? {
            Some(_) => Some(user_from_row(&row)?),
            None => None,
        };
        Ok(LoginState {
            user,
            account: throttle_from_row(&row, "a_")?,
            address: throttle_from_row(&row, "b_")?,
        })
    }

    /// Records one more failure for `key` in a single upsert and returns the new count.
    /// `backoff` maps a failure count to seconds of block, computed by the caller's policy.
    pub async fn record_failure(
        &self,
        key: &str,
        now: i64,
        block_for: impl Fn(i64) -> i64,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO login_throttle (throttle_key, failures, last_failure_at, blocked_until) \
             VALUES ($1, 1, $2, $2) \
             ON CONFLICT (throttle_key) DO UPDATE SET failures = login_throttle.failures + 1, \
             last_failure_at = $2 RETURNING failures",
        )
        .bind(key)
        .bind(now)
        .fetch_one(&self.writer)
        .await?;
        let failures: i64 = row.try_get("failures")?;
        sqlx::query("UPDATE login_throttle SET blocked_until = $1 WHERE throttle_key = $2")
            .bind(now + block_for(failures))
            .bind(key)
            .execute(&self.writer)
            .await?;
        Ok(failures)
    }

    /// Forgets the failures of `key` (after a successful login).
    pub async fn clear_throttle(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_throttle WHERE throttle_key = $1")
            .bind(key)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    // ---- properties --------------------------------------------------------------------

    /// One page of properties, oldest first, and the total count.
    pub async fn list_properties(
        &self,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Property>, i64), StoreError> {
        // One round trip: the window count rides along with the page.
        let rows = sqlx::query(concat!(
            "SELECT ",
            property_columns!(),
            ", COUNT(*) OVER () AS total FROM properties ORDER BY created_at, id \
             LIMIT $1 OFFSET $2"
        ))
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let total = match rows.first() {
            Some(row) => row.try_get("total")?,
            // A page past the end has no row to carry the count.
            None => sqlx::query("SELECT COUNT(*) AS n FROM properties")
                .fetch_one(&self.pool)
                .await?
                .try_get("n")?,
        };
        let items = rows
            .iter()
            .map(property_from_row)
            .collect::<Result<_, _>>()?;
        Ok((items, total))
    }

    /// The property with this id.
    pub async fn find_property(&self, id: &str) -> Result<Option<Property>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            property_columns!(),
            " FROM properties WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| property_from_row(&r)).transpose()
    }

    /// Inserts a property.
    pub async fn create_property(&self, p: &Property) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO properties (id, title, address, price, description, created_by, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&p.id)
        .bind(&p.title)
        .bind(&p.address)
        .bind(p.price)
        .bind(&p.description)
        .bind(&p.created_by)
        .bind(p.created_at)
        .bind(p.updated_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Replaces a property's fields; false if there is no such property.
    pub async fn update_property(&self, p: &Property) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE properties SET title = $1, address = $2, price = $3, description = $4, \
             updated_at = $5 WHERE id = $6",
        )
        .bind(&p.title)
        .bind(&p.address)
        .bind(p.price)
        .bind(&p.description)
        .bind(p.updated_at)
        .bind(&p.id)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a property; false if there was no such property.
    pub async fn delete_property(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM properties WHERE id = $1")
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// Creates the parent directory and an empty file for a `sqlite://` URL, since sqlx's `Any`
/// driver cannot pass `mode=rwc`.
fn ensure_sqlite_file(url: &str) -> Result<(), StoreError> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or("");
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    let path = std::path::Path::new(path);
    let io = |e: std::io::Error| StoreError::Database(sqlx::Error::Io(e));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io)?;
    Ok(())
}

fn parse_role(row: &AnyRow) -> Result<Role, StoreError> {
    let text: String = row.try_get("role")?;
    Role::from_str(&text).map_err(|_| {
        StoreError::Database(sqlx::Error::Decode(format!("unknown role {text:?}").into()))
    })
}

fn user_from_row(row: &AnyRow) -> Result<User, StoreError> {
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        password_hash: row.try_get("password_hash")?,
        role: parse_role(row)?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        created_at: row.try_get("created_at")?,
    })
}

/// The throttle state in the columns named `{prefix}failures` and so on, if they are set.
fn throttle_from_row(row: &AnyRow, prefix: &str) -> Result<Option<ThrottleState>, StoreError> {
    let column = |name: &str| format!("{prefix}{name}");
    let Some(failures) = row.try_get::<Option<i64>, _>(column("failures").as_str())? else {
        return Ok(None);
    };
    Ok(Some(ThrottleState {
        failures,
        last_failure_at: row.try_get(column("last_failure_at").as_str())?,
        blocked_until: row.try_get(column("blocked_until").as_str())?,
    }))
}

fn session_from_row(row: &AnyRow) -> Result<SessionRecord, StoreError> {
    Ok(SessionRecord {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        generation: row.try_get("generation")?,
        rotated_at: row.try_get("rotated_at")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
        idle_expires_at: row.try_get("idle_expires_at")?,
        absolute_expires_at: row.try_get("absolute_expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
        ip: row.try_get("ip")?,
        user_agent: row.try_get("user_agent")?,
    })
}

fn property_from_row(row: &AnyRow) -> Result<Property, StoreError> {
    Ok(Property {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        address: row.try_get("address")?,
        price: row.try_get("price")?,
        description: row.try_get("description")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}
