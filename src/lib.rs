//! tessera: an access-token + refresh-token authentication server.
//!
//! # Layout
//!
//! - [`config`]: the one typed configuration struct, read from flags, environment and a file.
//! - [`store`]: the storage interface over SQLite or PostgreSQL, and the migrations.
//! - [`auth`]: the domain — passwords, access tokens, sessions and refresh-token rotation,
//!   CSRF tokens, login throttling. No HTTP here; every rule takes the current time as a
//!   parameter.
//! - [`http`]: the axum router, the extractors (`AuthUser`, role guard, CSRF, JSON body), and
//!   the mapping of errors to the JSON envelope.
//! - [`cli`]: the `tessera` command line (`serve`, `migrate`, `user …`).
//!
//! `ARCHITECTURE.md` walks one request through these layers.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod auth;
pub mod cli;
pub mod config;
pub mod http;
pub mod store;
