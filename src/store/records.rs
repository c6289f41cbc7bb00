//! The rows tessera stores, as plain Rust values.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a user may do. A new user is a `Viewer` unless a role is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything, including deleting properties and managing users.
    Admin,
    /// Reads, creates and updates properties.
    Editor,
    /// Reads properties.
    #[default]
    Viewer,
}

impl Role {
    /// The role's name as stored and sent in tokens.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Role::Admin),
            "editor" => Ok(Role::Editor),
            "viewer" => Ok(Role::Viewer),
            _ => Err(()),
        }
    }
}

/// A user account. `password_hash` is a PHC string (Argon2id) or an imported bcrypt hash.
#[derive(Clone)]
pub struct User {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: i64,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

/// A session to be stored at login.
#[derive(Debug)]
pub struct NewSession {
    pub id: String,
    pub user_id: String,
    pub refresh_hash: String,
    pub now: i64,
    pub idle_expires_at: i64,
    pub absolute_expires_at: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A stored session (one login on one device).
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub id: String,
    pub user_id: String,
    /// How many times the refresh token was rotated.
    pub generation: i64,
    /// When the current refresh token was issued.
    pub rotated_at: i64,
    pub created_at: i64,
    pub last_used_at: i64,
    pub idle_expires_at: i64,
    pub absolute_expires_at: i64,
    pub revoked_at: Option<i64>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// The user a rotated session belongs to, as the rotation read it.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub username: String,
    pub role: Role,
    pub disabled: bool,
}

/// A refresh token that was rotated out of its session.
#[derive(Debug, Clone, Copy)]
pub struct RetiredToken {
    /// The session generation during which this token was current.
    pub generation: i64,
    pub retired_at: i64,
}

/// A session and its user, as an access-token check sees them.
#[derive(Debug, Clone)]
pub struct SessionAuth {
    pub user_id: String,
    pub username: String,
    pub role: Role,
    pub disabled: bool,
    pub revoked_at: Option<i64>,
    pub idle_expires_at: i64,
    pub absolute_expires_at: i64,
}

/// Failed-login bookkeeping for one account or one client address.
#[derive(Debug, Clone, Copy)]
pub struct ThrottleState {
    pub failures: i64,
    pub last_failure_at: i64,
    pub blocked_until: i64,
}

/// What a login reads before it hashes ([`crate::store::Store::login_state`]).
#[derive(Debug)]
pub struct LoginState {
    /// The account, if the username exists.
    pub user: Option<User>,
    /// Failures on record for the account's throttle key.
    pub account: Option<ThrottleState>,
    /// Failures on record for the client address's throttle key.
    pub address: Option<ThrottleState>,
}

/// The example resource: a property listing.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Property {
    pub id: String,
    pub title: String,
    pub address: Option<String>,
    pub price: Option<f64>,
    pub description: Option<String>,
    #[serde(skip)]
    pub created_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}
