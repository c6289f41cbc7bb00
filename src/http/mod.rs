//! The HTTP layer: the axum router, its middleware, and the server loop.
//!
//! A request passes, outside in: request id and tracing → security headers → JSON error
//! bodies → panic catcher → timeout → body limit (64 KiB) → CORS (when configured) → origin
//! guard (state-changing methods) → the route, whose extractors authenticate
//! ([`extract::AuthUser`]) and check CSRF.

pub mod auth_routes;
pub mod error;
pub mod extract;
pub mod ops;
pub mod properties;
pub mod users;
pub mod web;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder as ConnectionBuilder;
use hyper_util::server::graceful::GracefulShutdown;
use metrics_exporter_prometheus::PrometheusHandle;
use tower::util::MapRequestLayer;
use tower::{ServiceBuilder, ServiceExt};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::sensitive_headers::SetSensitiveHeadersLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::auth::Auth;
use crate::config::Config;
use error::{ApiError, envelope};

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Longest time one request may take, body included; then it gets a 503 envelope.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Longest time a client may take to send a request's headers, and longest time an idle
/// keep-alive connection stays open.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest wait, at shutdown, for the requests in flight.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Longest client-supplied `x-request-id` kept (a UUID is 36 characters).
const MAX_REQUEST_ID_LEN: usize = 128;

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub auth: Auth,
    pub config: Arc<Config>,
    pub metrics: Option<PrometheusHandle>,
    /// Recently listed property pages (one second at most).
    pub pages: Arc<properties::PageCache>,
}

/// The whole application: API, operator endpoints and the embedded web UI.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/api/auth/login", post(auth_routes::login))
        .route("/api/auth/refresh", post(auth_routes::refresh))
        .route("/api/auth/logout", post(auth_routes::logout))
        .route("/api/auth/logout-all", post(auth_routes::logout_all))
        .route("/api/auth/csrf", get(auth_routes::csrf))
        .route("/api/auth/me", get(auth_routes::me))
        .route("/api/auth/sessions", get(auth_routes::sessions))
        .route(
            "/api/auth/sessions/{id}",
            delete(auth_routes::revoke_session),
        )
        .route("/api/auth/password", post(auth_routes::change_password))
        .route("/api/users", get(users::list).post(users::create))
        .route(
            "/api/users/{id}",
            patch(users::update).delete(users::remove),
        )
        .route(
            "/api/properties",
            get(properties::list).post(properties::create),
        )
        .route(
            "/api/properties/{id}",
            get(properties::show)
                .put(properties::update)
                .delete(properties::remove),
        )
        .route("/api", axum::routing::any(api_not_found))
        .route("/api/", axum::routing::any(api_not_found))
        .route("/api/{*rest}", axum::routing::any(api_not_found))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics));

    let sensitive = Arc::from([
        header::AUTHORIZATION,
        header::COOKIE,
        header::SET_COOKIE,
        HeaderName::from_static("x-csrf-token"),
        HeaderName::from_static("x-xsrf-token"),
    ]);

    // One tower stack, outermost first. `Router::layer` wraps every route once with the
    // whole stack; layering the router once per middleware instead would box (and clone,
    // allocate and free) one more service per middleware on every request.
    let middleware = ServiceBuilder::new()
        .layer(SetSensitiveHeadersLayer::from_shared(sensitive))
        .layer(MapRequestLayer::new(drop_unusable_request_id))
        .layer(SetRequestIdLayer::x_request_id(RandomRequestId))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            // Field values are only evaluated when the span is enabled.
            let route = || {
                req.extensions()
                    .get::<axum::extract::MatchedPath>()
                    .map_or("(unmatched)", |p| p.as_str())
            };
            let request_id = || {
                req.headers()
                    .get(X_REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
            };
            tracing::info_span!(
                "request",
                method = %req.method(),
                route = route(),
                request_id = request_id()
            )
        }))
        // Security headers every answer carries, unless the handler set its own; outside
        // everything below, so timeouts, panics and CORS preflights carry them too.
        .layer(if_not_present(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(if_not_present(header::REFERRER_POLICY, "no-referrer"))
        .layer(if_not_present(header::X_FRAME_OPTIONS, "DENY"))
        .layer(if_not_present(header::CACHE_CONTROL, "no-store"))
        .layer(middleware::from_fn(json_errors))
        .layer(CatchPanicLayer::custom(|_| {
            envelope(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
        }))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            REQUEST_TIMEOUT,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .option_layer(cors(&state.config))
        .layer(middleware::from_fn_with_state(state.clone(), origin_guard));

    api.fallback(web::static_file)
        .layer(middleware)
        .with_state(state)
}

/// Keeps a client's (or proxy's) `x-request-id` only if it is one short label of visible
/// ASCII, at most [`MAX_REQUEST_ID_LEN`] characters; otherwise the request gets a fresh id,
/// so a client cannot put its own long or empty text into every log line of its request.
fn drop_unusable_request_id(mut req: Request) -> Request {
    let mut values = req.headers().get_all(&X_REQUEST_ID).iter();
    let usable = match (values.next(), values.next()) {
        (None, _) => true,
        (Some(id), None) => {
            let id = id.as_bytes();
            (1..=MAX_REQUEST_ID_LEN).contains(&id.len()) && id.iter().all(u8::is_ascii_graphic)
        }
        (Some(_), Some(_)) => false,
    };
    if !usable {
        req.headers_mut().remove(&X_REQUEST_ID);
    }
    req
}

/// Gives each request a random UUID v4 as `x-request-id`, drawn from the thread's user-space
/// generator: a request id needs to be unique, not secret, and reading the kernel's random
/// source on every request (as `MakeRequestUuid` does) costs a system call each time.
#[derive(Clone, Copy)]
struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        let bytes: [u8; 16] = rand::random();
        let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let value = HeaderValue::from_str(id.hyphenated().encode_lower(&mut text)).ok()?;
        Some(RequestId::new(value))
    }
}

async fn api_not_found() -> ApiError {
    ApiError::NotFound
}

/// CORS for the configured extra origins only (a frontend served from another origin, such
/// as a dev server on another port), with credentials so cookies flow. With no extra
/// origins there is no CORS layer: no CORS header is ever sent and browsers keep the
/// same-origin policy.
fn cors(config: &Config) -> Option<CorsLayer> {
    let origins: Vec<HeaderValue> = config
        .allowed_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    let layer = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(true)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("x-csrf-token"),
            HeaderName::from_static("x-xsrf-token"),
        ])
        .max_age(Duration::from_secs(600));
    Some(layer)
}

/// Sets a response header the handler did not set itself.
fn if_not_present(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

/// Gives error responses made outside the handlers (405, timeouts, panics) the JSON
/// envelope, so a client never has to parse anything else.
async fn json_errors(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if (status.is_client_error() || status.is_server_error()) && !is_json {
        let message = status.canonical_reason().unwrap_or("Error");
        let mut replaced = envelope(status, message);
        if let Some(allow) = response.headers().get(header::ALLOW) {
            replaced.headers_mut().insert(header::ALLOW, allow.clone());
        }
        return replaced;
    }
    response
}

/// Refuses state-changing requests from foreign sites (OWASP CSRF cheat sheet, "Verifying
/// Origin with Standard Headers", and Fetch Metadata): `Origin`, when present, must be this
/// server's own origin or a configured one; without it, `Sec-Fetch-Site: cross-site` is
/// refused. Applies to every state-changing route, login and refresh included.
async fn origin_guard(State(state): State<AppState>, req: Request<Body>, next: Next) -> Response {
    if extract::is_state_changing(req.method()) && !origin_allowed(&state, req.headers()) {
        return ApiError::ForeignOrigin.into_response();
    }
    next.run(req).await
}

fn origin_allowed(state: &AppState, headers: &axum::http::HeaderMap) -> bool {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let origin = origin.trim_end_matches('/').to_ascii_lowercase();
        if state.config.allowed_origins.contains(&origin) {
            return true;
        }
        // Same origin: the Origin's host[:port] is the Host the request was sent to.
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let authority = origin.split_once("://").map(|(_, rest)| rest);
        return match (authority, host) {
            (Some(authority), Some(host)) => authority.eq_ignore_ascii_case(host),
            _ => false,
        };
    }
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    site != Some("cross-site")
}

/// Runs the server on `listener` until `shutdown` resolves, then lets the requests in
/// flight finish (for at most [`SHUTDOWN_GRACE`]).
///
/// hyper's own connection loop, rather than `axum::serve`, so that connections get a timer:
/// a client must finish sending a request's headers within [`HEADER_READ_TIMEOUT`], and an
/// idle keep-alive connection is closed after as long. Without it a connection that never
/// finishes its headers (slowloris) would stay open for ever, and enough of them would use
/// up the process's file descriptors.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state);
    let mut builder = ConnectionBuilder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let connections = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);

    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // wait a moment instead of spinning, as `axum::serve` does.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let mut request = request.map(Body::new);
            // What `into_make_service_with_connect_info` would add: the client's address.
            request.extensions_mut().insert(ConnectInfo(remote));
            app.clone().oneshot(request)
        });
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let connection = connections.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }

    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, connections.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after the shutdown grace period were dropped");
    }
    Ok(())
}
