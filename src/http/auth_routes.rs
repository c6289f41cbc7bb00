//! `/api/auth/*`: login, refresh, logout, CSRF bootstrap, who-am-I, and the caller's own
//! sessions and password. JSON shapes and cookies follow DESIGN.md (the tutorial's contract).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::extract::{AuthUser, ClientInfo, JsonBody, PathId, check_csrf};
use crate::auth::{Grant, clock, csrf};
use crate::config::Config;

/// `{"success": true, "data": …}`.
pub fn ok(data: Value) -> Json<Value> {
    Json(json!({ "success": true, "data": data }))
}

/// `POST /api/auth/login` — `{username, password}` → access token, user, cookies.
pub async fn login(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    jar: CookieJar,
    JsonBody(body): JsonBody<Value>,
) -> Result<Response, ApiError> {
    let field = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let (Some(username), Some(password)) = (field("username"), field("password")) else {
        return Err(ApiError::BadRequest(
            "Username and password are required".into(),
        ));
    };
    let grant = state
        .auth
        .login(username, password, &client, clock::now())
        .await?;
    Ok(grant_response(&state.config, jar, grant))
}

/// `POST /api/auth/refresh` — rotates the refresh cookie and returns a new access token.
pub async fn refresh(State(state): State<AppState>, jar: CookieJar) -> Result<Response, ApiError> {
    let presented = jar
        .get(&state.config.refresh_cookie)
        .map(|c| c.value().to_string());
    let grant = state
        .auth
        .refresh(presented.as_deref(), clock::now())
        .await?;
    Ok(grant_response(&state.config, jar, grant))
}

fn grant_response(config: &Config, jar: CookieJar, grant: Grant) -> Response {
    let mut jar = jar;
    let mut max_age = None;
    if let Some((token, seconds)) = grant.refresh_token {
        jar = jar.add(refresh_cookie(config, token, seconds));
        max_age = Some(seconds);
    }
    jar = jar.add(csrf_cookie(config, grant.csrf_token, max_age));
    let body = ok(json!({ "accessToken": grant.access_token, "user": grant.user }));
    (jar, body).into_response()
}

/// The refresh cookie: HttpOnly, SameSite=Lax, Path=/api/auth (or / for a `__Host-` name,
/// which requires it), Secure outside development.
fn refresh_cookie(config: &Config, value: String, max_age: i64) -> Cookie<'static> {
    let path = if config.refresh_cookie.starts_with("__Host-") {
        "/"
    } else {
        "/api/auth"
    };
    Cookie::build((config.refresh_cookie.clone(), value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(config.cookie_secure)
        .path(path)
        .max_age(time_seconds(max_age))
        .build()
}

/// The CSRF cookie: readable by script (that is its point), Path=/.
fn csrf_cookie(config: &Config, value: String, max_age: Option<i64>) -> Cookie<'static> {
    let mut cookie = Cookie::build((config.csrf_cookie.clone(), value))
        .http_only(false)
        .same_site(SameSite::Lax)
        .secure(config.cookie_secure)
        .path("/")
        .build();
    if let Some(seconds) = max_age {
        cookie.set_max_age(time_seconds(seconds));
    }
    cookie
}

fn time_seconds(seconds: i64) -> time::Duration {
    time::Duration::seconds(seconds)
}

/// Removes both cookies, with the same attributes they were set with.
fn clear_cookies(config: &Config, jar: CookieJar) -> CookieJar {
    let mut refresh = refresh_cookie(config, String::new(), 0);
    refresh.make_removal();
    let mut csrf = csrf_cookie(config, String::new(), Some(0));
    csrf.make_removal();
    jar.add(refresh).add(csrf)
}

/// `POST /api/auth/logout` — needs the refresh cookie's session and a CSRF token bound to
/// it; revokes the session (so its access tokens stop working too) and clears both cookies.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
) -> Result<Response, ApiError> {
    let now = clock::now();
    let presented = jar
        .get(&state.config.refresh_cookie)
        .map(|c| c.value().to_string());
    let session = match presented {
        Some(token) => state.auth.session_of_refresh_token(&token, now).await?,
        None => None,
    };
    // Without a live session there is nothing to revoke, but the request must still carry a
    // matching CSRF pair, so a foreign page cannot clear a user's cookies either.
    let csrf_ok = match &session {
        Some(session) => check_csrf(&state, &headers, &jar, &session.id).is_ok(),
        None => double_submit_matches(&state, &headers, &jar),
    };
    if !csrf_ok {
        return Err(ApiError::InvalidCsrf);
    }
    if let Some(session) = session {
        state
            .auth
            .revoke_session(&session.id, "logout", now)
            .await?;
    }
    let jar = clear_cookies(&state.config, jar);
    Ok((jar, Json(json!({ "success": true }))).into_response())
}

/// Header and cookie present and equal, for requests that have no session to bind to.
fn double_submit_matches(state: &AppState, headers: &HeaderMap, jar: &CookieJar) -> bool {
    use subtle::ConstantTimeEq;
    let header = headers
        .get("x-csrf-token")
        .or_else(|| headers.get("x-xsrf-token"))
        .and_then(|v| v.to_str().ok());
    let cookie = jar.get(&state.config.csrf_cookie).map(|c| c.value());
    match (header, cookie) {
        (Some(h), Some(c)) => h.as_bytes().ct_eq(c.as_bytes()).into(),
        _ => false,
    }
}

/// `POST /api/auth/logout-all` — revokes every session of the caller, this one included.
pub async fn logout_all(
    State(state): State<AppState>,
    jar: CookieJar,
    user: AuthUser,
) -> Result<Response, ApiError> {
    let count = state
        .auth
        .revoke_user_sessions(&user.0.id, None, "signed out everywhere", clock::now())
        .await?;
    let jar = clear_cookies(&state.config, jar);
    Ok((jar, ok(json!({ "revoked": count }))).into_response())
}

/// `GET /api/auth/csrf` — a CSRF token (also set as the cookie), bound to the session of the
/// refresh cookie if there is one.
pub async fn csrf(State(state): State<AppState>, jar: CookieJar) -> Result<Response, ApiError> {
    let now = clock::now();
    let presented = jar
        .get(&state.config.refresh_cookie)
        .map(|c| c.value().to_string());
    let session = match presented {
        Some(token) => state.auth.session_of_refresh_token(&token, now).await?,
        None => None,
    };
    let session_id = session.as_ref().map_or(csrf::NO_SESSION, |s| s.id.as_str());
    let token = csrf::issue(state.auth.csrf_key(), session_id);
    let max_age = session
        .as_ref()
        .map(|s| crate::auth::rules::cookie_max_age(s, now));
    let jar = jar.add(csrf_cookie(&state.config, token.clone(), max_age));
    Ok((jar, ok(json!({ "csrfToken": token }))).into_response())
}

/// `GET /api/auth/me` — the signed-in user.
pub async fn me(user: AuthUser) -> Json<Value> {
    let user = user.0;
    ok(json!({ "user": { "id": user.id, "username": user.username, "role": user.role } }))
}

/// `GET /api/auth/sessions` — the caller's live sessions, marking the current one.
pub async fn sessions(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<Value>, ApiError> {
    let sessions = state.auth.list_sessions(&user.0, clock::now()).await?;
    let list: Vec<Value> = sessions
        .iter()
        .map(|s| {
            json!({
                "id": s.id,
                "createdAt": s.created_at,
                "lastUsedAt": s.last_used_at,
                "expiresAt": s.idle_expires_at.min(s.absolute_expires_at),
                "ip": s.ip,
                "userAgent": s.user_agent,
                "current": s.id == user.0.session_id,
            })
        })
        .collect();
    Ok(ok(Value::Array(list)))
}

/// `DELETE /api/auth/sessions/{id}` — revokes one of the caller's sessions.
pub async fn revoke_session(
    State(state): State<AppState>,
    user: AuthUser,
    PathId(id): PathId,
) -> Result<Json<Value>, ApiError> {
    state
        .auth
        .revoke_own_session(&user.0, &id, clock::now())
        .await?;
    Ok(ok(json!({ "revoked": id })))
}

/// Body of `POST /api/auth/password`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// `POST /api/auth/password` — changes the caller's password; ends their other sessions.
pub async fn change_password(
    State(state): State<AppState>,
    user: AuthUser,
    JsonBody(body): JsonBody<PasswordChange>,
) -> Result<Json<Value>, ApiError> {
    state
        .auth
        .change_password(
            &user.0,
            &body.current_password,
            &body.new_password,
            clock::now(),
        )
        .await?;
    Ok(ok(json!({ "changed": true })))
}
