//! `/api/properties`: the role-gated example resource. Any signed-in user reads; `editor`
//! and `admin` create and update; only `admin` deletes.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::auth_routes::ok;
use super::error::ApiError;
use super::extract::{AuthUser, JsonBody, PathId};
use crate::auth::clock;
use crate::store::{Property, Role};

/// Largest page a client may ask for.
const MAX_PER_PAGE: i64 = 100;
/// Page size when none is given.
const DEFAULT_PER_PAGE: i64 = 20;

/// Body of a create or update. `title` is required; the rest may be null or absent.
#[derive(Deserialize)]
pub struct PropertyInput {
    title: String,
    address: Option<String>,
    price: Option<f64>,
    description: Option<String>,
}

impl PropertyInput {
    fn validate(self) -> Result<PropertyInput, ApiError> {
        let title = self.title.trim().to_string();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(ApiError::BadRequest(
                "Title is required (at most 200 characters)".into(),
            ));
        }
        // Control characters have no place in these fields (and NUL is refused by
        // PostgreSQL); the description may hold line breaks and tabs.
        let bad_chars = |v: &str, multiline: bool| {
            v.chars()
                .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')))
        };
        if bad_chars(&title, false)
            || self.address.as_deref().is_some_and(|a| bad_chars(a, false))
            || self
                .description
                .as_deref()
                .is_some_and(|d| bad_chars(d, true))
        {
            return Err(ApiError::BadRequest(
                "Fields must not contain control characters".into(),
            ));
        }
        let too_long =
            |v: &Option<String>, max: usize| v.as_ref().is_some_and(|s| s.chars().count() > max);
        if too_long(&self.address, 500) || too_long(&self.description, 5000) {
            return Err(ApiError::BadRequest(
                "Address is at most 500 characters, description at most 5000".into(),
            ));
        }
        if self.price.is_some_and(|p| !p.is_finite() || p < 0.0) {
            return Err(ApiError::BadRequest(
                "Price must be a non-negative number".into(),
            ));
        }
        Ok(PropertyInput { title, ..self })
    }
}

/// `GET /api/properties?page=&perPage=` — one page, oldest first.
pub async fn list(
    State(state): State<AppState>,
    _user: AuthUser,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let number =
        |name: &str, default: i64| -> Result<i64, ApiError> {
            match query.get(name) {
                None => Ok(default),
                Some(v) => v.parse::<i64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    ApiError::BadRequest(format!("{name} must be a positive integer"))
                }),
            }
        };
    let page = number("page", 1)?.min(1_000_000);
    let per_page = number("perPage", DEFAULT_PER_PAGE)?.min(MAX_PER_PAGE);
    let (items, total) = state
        .auth
        .store()
        .list_properties(per_page, (page - 1) * per_page)
        .await?;
    Ok(ok(
        json!({ "items": items, "page": page, "perPage": per_page, "total": total }),
    ))
}

/// `GET /api/properties/{id}`.
pub async fn show(
    State(state): State<AppState>,
    _user: AuthUser,
    PathId(id): PathId,
) -> Result<Json<Value>, ApiError> {
    let property = state
        .auth
        .store()
        .find_property(&id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(ok(json!(property)))
}

/// `POST /api/properties` — editor or admin; 201 with the new property.
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    JsonBody(input): JsonBody<PropertyInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let user = user.require(&[Role::Admin, Role::Editor])?;
    let input = input.validate()?;
    let now = clock::now();
    let property = Property {
        id: uuid::Uuid::now_v7().to_string(),
        title: input.title,
        address: input.address,
        price: input.price,
        description: input.description,
        created_by: Some(user.id.clone()),
        created_at: now,
        updated_at: now,
    };
    state.auth.store().create_property(&property).await?;
    Ok((StatusCode::CREATED, ok(json!(property))))
}

/// `PUT /api/properties/{id}` — editor or admin; replaces the fields.
pub async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    PathId(id): PathId,
    JsonBody(input): JsonBody<PropertyInput>,
) -> Result<Json<Value>, ApiError> {
    user.require(&[Role::Admin, Role::Editor])?;
    let input = input.validate()?;
    let store = state.auth.store();
    let existing = store.find_property(&id).await?.ok_or(ApiError::NotFound)?;
    let property = Property {
        title: input.title,
        address: input.address,
        price: input.price,
        description: input.description,
        updated_at: clock::now(),
        ..existing
    };
    if !store.update_property(&property).await? {
        return Err(ApiError::NotFound);
    }
    Ok(ok(json!(property)))
}

/// `DELETE /api/properties/{id}` — admin only.
pub async fn remove(
    State(state): State<AppState>,
    user: AuthUser,
    PathId(id): PathId,
) -> Result<Json<Value>, ApiError> {
    user.require(&[Role::Admin])?;
    if !state.auth.store().delete_property(&id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(ok(json!({ "deleted": id })))
}
