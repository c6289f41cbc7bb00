//! Operator endpoints: liveness, readiness (the database answers) and Prometheus metrics.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;

/// `GET /healthz` — the process is up.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "success": true, "data": { "status": "ok" } }))
}

/// `GET /readyz` — the database answers; 503 otherwise.
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    state.auth.store().ping().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        ApiError::Unavailable(5)
    })?;
    Ok(Json(
        json!({ "success": true, "data": { "status": "ready" } }),
    ))
}

/// `GET /metrics` — Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> Response {
    match &state.metrics {
        Some(handle) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            handle.render(),
        )
            .into_response(),
        None => ApiError::NotFound.into_response(),
    }
}
