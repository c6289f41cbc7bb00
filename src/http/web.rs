//! The built-in web UI: the files under `web/`, embedded in the binary and served at `/`,
//! with a Content-Security-Policy that allows no inline script.

use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

use super::error::{ApiError, envelope};

#[derive(RustEmbed)]
#[folder = "web/"]
struct Assets;

/// The policy for every page of the UI: same-origin scripts, styles and fetches only.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     object-src 'none'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Serves an embedded file; unknown paths without an extension get `index.html` (the UI
/// routes client-side), unknown files a 404.
pub async fn static_file(method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return envelope(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    }
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    let (_path, file) = match Assets::get(path) {
        Some(file) => (path, file),
        None if !path.contains('.') => match Assets::get("index.html") {
            Some(file) => ("index.html", file),
            None => return ApiError::NotFound.into_response(),
        },
        None => return ApiError::NotFound.into_response(),
    };
    let mime = file.metadata.mimetype().to_string();
    let mut response = (StatusCode::OK, file.data.into_owned()).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&mime) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
