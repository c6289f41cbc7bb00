//! `/api/properties`: the role-gated example resource. Any signed-in user reads; `editor`
//! and `admin` create and update; only `admin` deletes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
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

/// How long a listed page may be served again without asking the database. A write on this
/// instance clears the cache at once; a write on another instance shows within this time.
const PAGE_CACHE_TTL: Duration = Duration::from_secs(1);
/// Pages kept at most; beyond this the cache starts over.
const PAGE_CACHE_ENTRIES: usize = 1024;

/// Recently listed pages, already serialised, keyed by `(page, perPage)`.
///
/// When a page turns one TTL old, the first request to see it fetches it again while the
/// others keep getting the old one (for at most one more TTL), so the database sees one
/// query per page per second instead of a burst from every request in flight.
#[derive(Default)]
pub struct PageCache {
    pages: Mutex<HashMap<(i64, i64), CachedPage>>,
}

struct CachedPage {
    fetched: Instant,
    body: Bytes,
    /// A request is fetching a newer copy.
    refreshing: bool,
}

impl PageCache {
    /// The page to serve, or `None` when the caller should fetch it (and `put` it).
    fn get(&self, key: (i64, i64)) -> Option<Bytes> {
        let mut pages = self.pages.lock().ok()?;
        let page = pages.get_mut(&key)?;
        let age = page.fetched.elapsed();
        if age < PAGE_CACHE_TTL || (age < 2 * PAGE_CACHE_TTL && page.refreshing) {
            return Some(page.body.clone());
        }
        if age < 2 * PAGE_CACHE_TTL {
            page.refreshing = true;
        }
        None
    }

    fn put(&self, key: (i64, i64), body: Bytes) {
        if let Ok(mut pages) = self.pages.lock() {
            if pages.len() >= PAGE_CACHE_ENTRIES {
                pages.clear();
            }
            let page = CachedPage {
                fetched: Instant::now(),
                body,
                refreshing: false,
            };
            pages.insert(key, page);
        }
    }

    /// Forgets every page (a property was written here).
    fn clear(&self) {
        if let Ok(mut pages) = self.pages.lock() {
            pages.clear();
        }
    }
}

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

/// `GET /api/properties?page=&perPage=` — one page, oldest first. The caller is always
/// authenticated; only the page itself may come from the [`PageCache`] (≤ 2 s old).
pub async fn list(
    State(state): State<AppState>,
    _user: AuthUser,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
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

    let body = match state.pages.get((page, per_page)) {
        Some(body) => body,
        None => {
            let store = state.auth.store();
            let (items, total) = store
                .list_properties(per_page, (page - 1) * per_page)
                .await?;
            let data = json!({ "items": items, "page": page, "perPage": per_page, "total": total });
            let body = serde_json::to_vec(&json!({ "success": true, "data": data }))
                .map_err(|e| ApiError::Internal(e.to_string()))?;
            let body = Bytes::from(body);
            state.pages.put((page, per_page), body.clone());
            body
        }
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
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
    state.pages.clear();
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
    state.pages.clear();
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
    state.pages.clear();
    Ok(ok(json!({ "deleted": id })))
}
