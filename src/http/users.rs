//! `/api/users`: user administration, admin only. Changing a user's role or disabling them
//! ends their sessions; deleting them removes their sessions.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::auth_routes::ok;
use super::error::ApiError;
use super::extract::{AuthUser, JsonBody, PathId};
use crate::auth::clock;
use crate::store::{Role, User};

fn view(user: &User) -> Value {
    json!({
        "id": user.id,
        "username": user.username,
        "role": user.role,
        "disabled": user.disabled,
        "createdAt": user.created_at,
    })
}

/// `GET /api/users`.
pub async fn list(State(state): State<AppState>, user: AuthUser) -> Result<Json<Value>, ApiError> {
    user.require(&[Role::Admin])?;
    let users = state.auth.store().list_users().await?;
    Ok(ok(Value::Array(users.iter().map(view).collect())))
}

/// Body of `POST /api/users`. The role defaults to `viewer`, never `admin`.
#[derive(Deserialize)]
pub struct NewUser {
    username: String,
    password: String,
    #[serde(default)]
    role: Role,
}

/// `POST /api/users` — 201 with the new user, 409 if the username is taken.
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    JsonBody(body): JsonBody<NewUser>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    user.require(&[Role::Admin])?;
    let created = state
        .auth
        .create_user(&body.username, &body.password, body.role, clock::now())
        .await?;
    Ok((StatusCode::CREATED, ok(json!({ "user": view(&created) }))))
}

/// Body of `PATCH /api/users/{id}`: a new role, a disabled flag, or both.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    role: Option<Role>,
    disabled: Option<bool>,
}

/// `PATCH /api/users/{id}` — change role and/or disable; either ends the user's sessions.
/// An admin cannot demote or disable themselves (no lock-out by accident).
pub async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    PathId(id): PathId,
    JsonBody(change): JsonBody<UserChange>,
) -> Result<Json<Value>, ApiError> {
    let admin = user.require(&[Role::Admin])?;
    if change.role.is_none() && change.disabled.is_none() {
        return Err(ApiError::BadRequest(
            "Give a role, disabled, or both".into(),
        ));
    }
    if id == admin.id
        && (change.role.is_some_and(|r| r != Role::Admin) || change.disabled == Some(true))
    {
        return Err(ApiError::BadRequest(
            "You cannot demote or disable yourself".into(),
        ));
    }
    let now = clock::now();
    let store = state.auth.store();
    let existing = store.find_user(&id).await?.ok_or(ApiError::NotFound)?;
    if let Some(role) = change.role.filter(|r| *r != existing.role) {
        state.auth.set_role(&id, role, now).await?;
    }
    if let Some(disabled) = change.disabled.filter(|d| *d != existing.disabled) {
        state.auth.set_disabled(&id, disabled, now).await?;
    }
    let updated = store.find_user(&id).await?.ok_or(ApiError::NotFound)?;
    Ok(ok(json!({ "user": view(&updated) })))
}

/// `DELETE /api/users/{id}` — an admin cannot delete themselves.
pub async fn remove(
    State(state): State<AppState>,
    user: AuthUser,
    PathId(id): PathId,
) -> Result<Json<Value>, ApiError> {
    let admin = user.require(&[Role::Admin])?;
    if id == admin.id {
        return Err(ApiError::BadRequest("You cannot delete yourself".into()));
    }
    state.auth.delete_user(&id).await?;
    Ok(ok(json!({ "deleted": id })))
}
