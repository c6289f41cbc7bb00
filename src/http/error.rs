//! Errors as HTTP responses: one enum, one exhaustive mapping to status and JSON envelope
//! `{"success": false, "error": {"message": "…"}}`.
//!
//! The client gets a short generic message; the cause goes to the log (never a database
//! error text, never a secret).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tracing::error;

use crate::auth::AuthError;

/// Every way a request can fail, each with the status it answers.
#[derive(Debug)]
pub enum ApiError {
    /// 400: the body or a parameter breaks a rule; the message says which.
    BadRequest(String),
    /// 401: no access token.
    NoToken,
    /// 401: the access token is invalid, or its session or user is no longer valid.
    InvalidToken,
    /// 401: the access token expired.
    TokenExpired,
    /// 401: a login failed.
    InvalidCredentials,
    /// 401: no refresh cookie.
    NoRefreshToken,
    /// 401: the refresh token is unknown, expired, revoked or reused.
    InvalidRefreshToken,
    /// 403: signed in, but the role does not allow this.
    Forbidden,
    /// 403: the CSRF header is missing, differs from the cookie, or is for another session.
    InvalidCsrf,
    /// 403: the request comes from a foreign site.
    ForeignOrigin,
    /// 404.
    NotFound,
    /// 409: the username is taken.
    Conflict(String),
    /// 413: the body is over 64 KiB.
    PayloadTooLarge,
    /// 415: the body is not `application/json`.
    UnsupportedMediaType,
    /// 429: too many failed logins; retry after this many seconds.
    TooManyRequests(i64),
    /// 503: password hashing is saturated, or the database is unreachable.
    Unavailable(i64),
    /// 500: a bug or an unexpected failure; the cause is logged.
    Internal(String),
}

impl ApiError {
    fn status_and_message(&self) -> (StatusCode, &str) {
        match self {
            ApiError::BadRequest(msg) => (StatusCode::BAD_REQUEST, msg),
            ApiError::NoToken => (
                StatusCode::UNAUTHORIZED,
                "Access denied. No token provided.",
            ),
            ApiError::InvalidToken => (StatusCode::UNAUTHORIZED, "Access denied. Invalid token."),
            ApiError::TokenExpired => (StatusCode::UNAUTHORIZED, "Access denied. Token expired."),
            ApiError::InvalidCredentials => (StatusCode::UNAUTHORIZED, "Invalid credentials"),
            ApiError::NoRefreshToken => (StatusCode::UNAUTHORIZED, "No refresh token"),
            ApiError::InvalidRefreshToken => {
                (StatusCode::UNAUTHORIZED, "Invalid or expired refresh token")
            }
            ApiError::Forbidden => (
                StatusCode::FORBIDDEN,
                "Access denied. Insufficient permissions.",
            ),
            ApiError::InvalidCsrf => (StatusCode::FORBIDDEN, "Invalid CSRF token"),
            ApiError::ForeignOrigin => (StatusCode::FORBIDDEN, "Cross-site request refused"),
            ApiError::NotFound => (StatusCode::NOT_FOUND, "Not found"),
            ApiError::Conflict(msg) => (StatusCode::CONFLICT, msg),
            ApiError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request body is larger than 64 KiB",
            ),
            ApiError::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Content-Type must be application/json",
            ),
            ApiError::TooManyRequests(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many failed login attempts. Try again later.",
            ),
            ApiError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Server busy. Try again shortly.",
            ),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "Internal server error"),
        }
    }
}

/// The JSON error envelope with `status`.
pub fn envelope(status: StatusCode, message: &str) -> Response {
    let body = json!({ "success": false, "error": { "message": message } });
    (status, axum::Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            error!(cause = %cause, "request failed");
        }
        let (status, message) = self.status_and_message();
        let mut response = envelope(status, message);
        let retry_after = match self {
            ApiError::TooManyRequests(seconds) | ApiError::Unavailable(seconds) => Some(seconds),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            let value = HeaderValue::from(seconds.max(1));
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::InvalidCredentials => ApiError::InvalidCredentials,
            AuthError::Throttled(seconds) => ApiError::TooManyRequests(seconds),
            AuthError::Overloaded => ApiError::Unavailable(1),
            AuthError::NoRefreshToken => ApiError::NoRefreshToken,
            AuthError::InvalidRefreshToken => ApiError::InvalidRefreshToken,
            AuthError::NoToken => ApiError::NoToken,
            AuthError::InvalidToken => ApiError::InvalidToken,
            AuthError::TokenExpired => ApiError::TokenExpired,
            AuthError::BadInput(msg) => ApiError::BadRequest(msg),
            AuthError::NotFound => ApiError::NotFound,
            AuthError::UsernameTaken => ApiError::Conflict("Username already exists".into()),
            AuthError::Store(e) => {
                error!(cause = %e, "database failure");
                ApiError::Unavailable(1)
            }
            AuthError::Internal(cause) => ApiError::Internal(cause),
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(err: crate::store::StoreError) -> Self {
        ApiError::from(AuthError::Store(err))
    }
}
