//! Extractors: the JSON body, the signed-in user (with the CSRF check for state-changing
//! methods), the role guard, and the client's address.

use std::net::{IpAddr, SocketAddr};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum_extra::extract::CookieJar;
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use crate::auth::{Client, CurrentUser, clock, csrf};
use crate::store::Role;

/// A JSON request body: `Content-Type: application/json` (else 415), at most 64 KiB (else
/// 413), well-formed and of the right shape (else 400). Never a 500.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e: BytesRejection| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge
                } else {
                    ApiError::BadRequest("Could not read the request body".into())
                }
            })?;
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| {
            let message = if e.is_data() {
                "Request body has missing fields or wrong types"
            } else {
                "Request body is not valid JSON"
            };
            ApiError::BadRequest(message.into())
        })
    }
}

/// `application/json`, with or without parameters such as `charset`.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// The `{id}` of a path, which must be a UUID (every id tessera makes is one). Anything else
/// is a 404 before it reaches the database.
pub struct PathId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound)?;
        match uuid::Uuid::try_parse(&id) {
            Ok(uuid) => Ok(PathId(uuid.hyphenated().to_string())),
            Err(_) => Err(ApiError::NotFound),
        }
    }
}

/// The signed-in user behind a Bearer access token.
///
/// Extracting it authenticates the token and its session (401 otherwise). On a
/// state-changing method it also checks the CSRF token against that session (403).
pub struct AuthUser(pub CurrentUser);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let bearer = bearer_token(&parts.headers);
        let user = state.auth.authenticate(bearer, clock::now()).await?;
        if is_state_changing(&parts.method) {
            let jar = CookieJar::from_headers(&parts.headers);
            check_csrf(state, &parts.headers, &jar, &user.session_id)?;
        }
        Ok(AuthUser(user))
    }
}

impl AuthUser {
    /// The role guard: 403 unless the user has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<&CurrentUser, ApiError> {
        if roles.contains(&self.0.role) {
            Ok(&self.0)
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

/// Methods that change state and so need CSRF and origin checks.
pub fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The token of `Authorization: Bearer <token>` (scheme case-insensitive, RFC 6750 §2.1).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The double-submit CSRF check for `session_id`: `X-CSRF-Token` (or `X-XSRF-Token`) must
/// equal the CSRF cookie and be a valid MAC for the session.
pub fn check_csrf(
    state: &AppState,
    headers: &HeaderMap,
    jar: &CookieJar,
    session_id: &str,
) -> Result<(), ApiError> {
    let header = headers
        .get("x-csrf-token")
        .or_else(|| headers.get("x-xsrf-token"))
        .and_then(|v| v.to_str().ok());
    let cookie = jar.get(&state.config.csrf_cookie).map(|c| c.value());
    if csrf::check(state.auth.csrf_key(), session_id, cookie, header) {
        Ok(())
    } else {
        Err(ApiError::InvalidCsrf)
    }
}

/// The client's address and user agent. `X-Forwarded-For` counts only when the direct peer
/// is a configured trusted proxy; then the right-most address that is not itself a trusted
/// proxy is the client.
pub struct ClientInfo(pub Client);

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        let ip = peer.map(|peer| client_ip(peer, &parts.headers, &state.config.trusted_proxies));
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        Ok(ClientInfo(Client {
            ip: ip.map(|ip| ip.to_string()),
            user_agent,
        }))
    }
}

fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| part.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", value.parse().unwrap());
        headers
    }

    #[test]
    fn forwarded_for_is_ignored_from_untrusted_peers() {
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(client_ip(peer, &xff("1.2.3.4"), &[]), peer);
    }

    #[test]
    fn forwarded_for_names_the_client_behind_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let spoofed_then_real = xff("6.6.6.6, 198.51.100.7");
        assert_eq!(
            client_ip(proxy, &spoofed_then_real, &[proxy]),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
    }
}
