//! Access tokens (JWT) and refresh tokens (opaque), and the keys behind them.
//!
//! An **access token** is a JWT per RFC 9068: header `typ: at+jwt`, HS256 only, claims `iss`,
//! `aud`, `sub`, `sid`, `username`, `role`, `iat`, `exp`, `jti`. Verification follows RFC 8725:
//! the algorithm is pinned (anything else, `none` included, is refused), and type, issuer,
//! audience and expiry are checked with [`LEEWAY_SECONDS`] of clock-skew leeway.
//!
//! A **refresh token** is `<session id>.<secret>`: the session's UUID, a dot, and 256 random
//! bits in base64url — never a JWT (one dot, not two), so it cannot pass as an access token.
//! It is stored only as `<session id>:<SHA-256 of the whole token>`. The session id is not a
//! secret and is never trusted on its own (a changed id changes the hash, which then matches
//! nothing); it is there so that the stored keys of one session sit together in the index
//! and a rotation touches the index where that session's key already is — the same few pages
//! whether the table holds a thousand sessions or a million — instead of a random page
//! of a large index for every rotation. Tokens issued before this form (the bare secret)
//! are still accepted and stored as the plain hex SHA-256.

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

/// Length of a random secret in base64url: 32 bytes, 43 characters.
const SECRET_CHARS: usize = 43;

/// 32 bytes from the thread-local CSPRNG, base64url (43 characters).
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A fresh refresh token for the session `session_id` (a UUID): `<session id>.<secret>`.
pub fn new_refresh_token(session_id: &str) -> String {
    format!("{session_id}.{}", random_secret())
}

/// The session a refresh token of the current form names (unchecked: only its hash counts).
pub fn refresh_token_session(token: &str) -> Option<&str> {
    let (session_id, secret) = token.split_once('.')?;
    let uuid_shaped = session_id.len() == 36 && uuid::Uuid::try_parse(session_id).is_ok();
    (uuid_shaped && is_secret(secret)).then_some(session_id)
}

/// The form a refresh token is stored in: `<session id>:<hex SHA-256 of the token>`, or the
/// bare hex SHA-256 for a token of the earlier form. The secret has 256 bits of entropy, so
/// an unsalted fast hash is enough to make a stolen database useless for signing in.
pub fn refresh_token_hash(token: &str) -> String {
    match refresh_token_session(token) {
        Some(session_id) => format!("{session_id}:{}", sha256_hex(token)),
        None => sha256_hex(token),
    }
}

/// Whether a presented refresh token even has a shape tessera issues (or issued before).
pub fn looks_like_refresh_token(token: &str) -> bool {
    refresh_token_session(token).is_some() || is_secret(token)
}

fn is_secret(text: &str) -> bool {
    text.len() == SECRET_CHARS
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Lower-case hex SHA-256 of `text`.
pub fn sha256_hex(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
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
        let token = new_refresh_token(&uuid::Uuid::now_v7().to_string());
        assert!(looks_like_refresh_token(&token));
        assert_eq!(token.matches('.').count(), 1, "a JWT has two dots");
        assert_eq!(
            keys().verify_access_token(&token, 0).unwrap_err(),
            TokenRejection::Invalid
        );
        // The session id, a colon, and 64 hex digits.
        assert_eq!(refresh_token_hash(&token).len(), 36 + 1 + 64);
    }

    #[test]
    fn refresh_tokens_name_their_session_and_are_stored_next_to_it() {
        let sid = uuid::Uuid::now_v7().to_string();
        let token = new_refresh_token(&sid);
        assert!(looks_like_refresh_token(&token));
        assert_eq!(refresh_token_session(&token), Some(sid.as_str()));
        let stored = refresh_token_hash(&token);
        assert_eq!(stored, format!("{sid}:{}", sha256_hex(&token)));
        assert!(
            !stored.contains(token.split_once('.').unwrap().1),
            "the secret is never stored"
        );

        // Another session id in front of the same secret is another token entirely.
        let other = uuid::Uuid::now_v7().to_string();
        let forged = token.replacen(&sid, &other, 1);
        assert_ne!(refresh_token_hash(&forged)[37..], stored[37..]);

        // Two tokens of one session are different; an earlier, bare-secret token still has
        // a shape tessera accepts and is stored as its plain hash.
        assert_ne!(new_refresh_token(&sid), token);
        let legacy = random_secret();
        assert!(looks_like_refresh_token(&legacy));
        assert_eq!(refresh_token_session(&legacy), None);
        assert_eq!(refresh_token_hash(&legacy), sha256_hex(&legacy));

        // Anything else is not a refresh token: a JWT-shaped string, a non-UUID prefix, a
        // short secret.
        for bad in [
            "a.b.c".to_string(),
            format!("not-a-uuid.{}", random_secret()),
            format!("{sid}.short"),
            format!("{sid}.{}.x", random_secret()),
            String::new(),
        ] {
            assert!(!looks_like_refresh_token(&bad), "{bad}");
        }
    }
}
