//! Access tokens (JWT) and refresh tokens (opaque), and the keys behind them.
//!
//! An **access token** is a JWT per RFC 9068: header `typ: at+jwt`, HS256 only, claims `iss`,
//! `aud`, `sub`, `sid`, `username`, `role`, `iat`, `exp`, `jti`. Verification follows RFC 8725:
//! the algorithm is pinned (anything else, `none` included, is refused), and type, issuer,
//! audience and expiry are checked with [`LEEWAY_SECONDS`] of clock-skew leeway.
//!
//! A **refresh token** is 256 random bits, base64url — never a JWT, so it cannot pass as an
//! access token, and it is stored only as its SHA-256 hash.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::store::Role;

/// Clock skew tolerated on `exp`, in seconds (RFC 7519 §4.1.4 allows "some small leeway";
/// a few seconds covers instances whose clocks drift slightly).
pub const LEEWAY_SECONDS: i64 = 5;

/// The JWT header `typ` of tessera's access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: String,
    /// The session id.
    pub sid: String,
    pub username: String,
    pub role: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

/// Why an access token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRejection {
    /// Past `exp` (plus leeway).
    Expired,
    /// Anything else: malformed, wrong algorithm, signature, type, issuer or audience.
    Invalid,
}

/// The keys derived from the configured secret; one per purpose, so a value made for one
/// purpose (a CSRF MAC, say) can never verify for another.
#[derive(Clone)]
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    csrf: [u8; 32],
    issuer: String,
    audience: String,
}

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of `parts` (each length-prefixed, so part boundaries are unambiguous).
pub fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    #[allow(
        clippy::expect_used,
        reason = "HMAC accepts keys of any length (RFC 2104 §2)"
    )]
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(…)")
    }
}

impl Keys {
    /// Derives the signing and CSRF keys from the configured secret.
    pub fn new(
        secret: &[u8],
        issuer: &str,
        audience: &str,
    ) -> Result<Keys, jsonwebtoken::errors::Error> {
        let signing = mac(secret, &[b"tessera access-token signing key v1"]);
        let csrf = mac(secret, &[b"tessera csrf key v1"]);

        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Expiry is checked against the caller's `now` in `verify_access_token`.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;

        Ok(Keys {
            encoding: EncodingKey::from_secret(&signing)?,
            decoding: DecodingKey::from_secret(&signing)?,
            validation,
            csrf,
            issuer: issuer.to_string(),
            audience: audience.to_string(),
        })
    }

    /// The key CSRF tokens are MACed with.
    pub fn csrf_key(&self) -> &[u8] {
        &self.csrf
    }

    /// Signs an access token for a user's session, valid from `now` for `ttl_seconds`.
    pub fn issue_access_token(
        &self,
        user_id: &str,
        session_id: &str,
        username: &str,
        role: Role,
        now: i64,
        ttl_seconds: i64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some(ACCESS_TOKEN_TYPE.to_string());
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id.to_string(),
            sid: session_id.to_string(),
            username: username.to_string(),
            role: role.as_str().to_string(),
            iat: now,
            exp: now + ttl_seconds,
            jti: uuid::Uuid::now_v7().to_string(),
        };
        jsonwebtoken::encode(&header, &claims, &self.encoding)
    }

    /// Verifies an access token at time `now` and returns its claims.
    pub fn verify_access_token(
        &self,
        token: &str,
        now: i64,
    ) -> Result<AccessClaims, TokenRejection> {
        // A compact JWS has exactly three parts; refuse anything else before parsing.
        if token.len() > 4096 || token.split('.').count() != 3 {
            return Err(TokenRejection::Invalid);
        }
        let data = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenRejection::Expired,
                _ => TokenRejection::Invalid,
            })?;
        let typ_ok = data.header.typ.as_deref().is_some_and(|typ| {
            typ.eq_ignore_ascii_case(ACCESS_TOKEN_TYPE)
                || typ.eq_ignore_ascii_case("application/at+jwt")
        });
        if !typ_ok || data.header.alg != Algorithm::HS256 {
            return Err(TokenRejection::Invalid);
        }
        if now > data.claims.exp.saturating_add(LEEWAY_SECONDS) {
            return Err(TokenRejection::Expired);
        }
        Ok(data.claims)
    }
}

/// A fresh refresh token: 32 bytes from the thread-local CSPRNG, base64url (43 characters).
pub fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The form a refresh token is stored in: hex SHA-256. The token has 256 bits of entropy, so
/// an unsalted fast hash is enough to make a stolen database useless for signing in.
pub fn refresh_token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

/// Whether a presented refresh token even has the shape tessera issues.
pub fn looks_like_refresh_token(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::new(b"0123456789abcdef0123456789abcdef", "tessera", "tessera").unwrap()
    }

    #[test]
    fn issued_token_verifies_until_expiry_plus_leeway() {
        let keys = keys();
        let token = keys
            .issue_access_token("u1", "s1", "ada", Role::Editor, 1_000, 900)
            .unwrap();
        let claims = keys.verify_access_token(&token, 1_000).unwrap();
        assert_eq!((claims.sub.as_str(), claims.sid.as_str()), ("u1", "s1"));
        assert_eq!(claims.role, "editor");
        assert!(
            keys.verify_access_token(&token, 1_900 + LEEWAY_SECONDS)
                .is_ok()
        );
        assert_eq!(
            keys.verify_access_token(&token, 1_901 + LEEWAY_SECONDS)
                .unwrap_err(),
            TokenRejection::Expired
        );
    }

    #[test]
    fn token_from_another_secret_is_invalid() {
        let other = Keys::new(
            b"another secret of at least 32 bytes!",
            "tessera",
            "tessera",
        )
        .unwrap();
        let token = other
            .issue_access_token("u1", "s1", "ada", Role::Admin, 1_000, 900)
            .unwrap();
        assert_eq!(
            keys().verify_access_token(&token, 1_000).unwrap_err(),
            TokenRejection::Invalid
        );
    }

    #[test]
    fn refresh_token_is_opaque_and_not_a_jwt() {
        let token = new_refresh_token();
        assert!(looks_like_refresh_token(&token));
        assert!(!token.contains('.'));
        assert_eq!(
            keys().verify_access_token(&token, 0).unwrap_err(),
            TokenRejection::Invalid
        );
        assert_eq!(refresh_token_hash(&token).len(), 64);
        assert_ne!(new_refresh_token(), token);
    }
}
