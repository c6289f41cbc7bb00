//! The ceiling for the protected-route benchmark: a bare axum handler that answers
//! `GET /api/properties` with the same JSON tessera returns, and does nothing else — no
//! token check, no session lookup, no database, no middleware.
//!
//! ```text
//! cargo run --release --example bare_server -- --bind 127.0.0.1:18099 --body page.json
//! ```
//!
//! `--body` is a file holding the JSON body to serve (the benchmark saves tessera's own
//! answer there). It is parsed once and serialised again on every request, as a handler that
//! builds its JSON would. Without `--body` the handler serves an empty page.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut bind = "127.0.0.1:18099".to_string();
    let mut body_file = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bind" => bind = args.next().ok_or("--bind needs ADDR")?,
            "--body" => body_file = Some(args.next().ok_or("--body needs FILE")?),
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }

    let body: Value = match body_file {
        Some(path) => serde_json::from_str(&std::fs::read_to_string(path)?)?,
        None => json!({
            "success": true,
            "data": { "items": [], "page": 1, "perPage": 20, "total": 0 }
        }),
    };

    let app = Router::new()
        .route("/api/properties", get(properties))
        .with_state(Arc::new(body));
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    println!("bare server listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

/// Serialises the page on every request, as tessera's handler does.
async fn properties(State(body): State<Arc<Value>>) -> impl IntoResponse {
    let bytes = serde_json::to_vec(&*body).unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/json")], bytes)
}
