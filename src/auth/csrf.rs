//! CSRF tokens: signed double submit, bound to the session (OWASP CSRF Prevention Cheat
//! Sheet, "Signed Double-Submit Cookie").
//!
//! A token is `NONCE.MAC` where `MAC = HMAC-SHA256(csrf_key, "csrf" ‖ session_id ‖ NONCE)`.
//! The cookie and the `X-CSRF-Token` header must carry the same token, and the token must be
//! valid for the session the request acts on. A cookie planted from a sibling subdomain, or a
//! pair taken from another session, therefore fails: the attacker cannot compute the MAC for
//! the victim's session. All comparisons are constant-time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

use super::token::mac;

/// The session binding used before anyone has signed in (`GET /api/auth/csrf` without a
/// session). Such a token is valid for no session, only for session-less routes.
pub const NO_SESSION: &str = "";

/// A new CSRF token bound to `session_id`.
pub fn issue(key: &[u8], session_id: &str) -> String {
    let mut nonce = [0u8; 18];
    rand::fill(&mut nonce);
    let nonce = URL_SAFE_NO_PAD.encode(nonce);
    let tag = mac(key, &[b"csrf", session_id.as_bytes(), nonce.as_bytes()]);
    format!("{nonce}.{}", URL_SAFE_NO_PAD.encode(tag))
}

/// Whether `token` was issued for `session_id` by the holder of `key`.
pub fn is_valid_for(key: &[u8], session_id: &str, token: &str) -> bool {
    let Some((nonce, tag)) = token.split_once('.') else {
        return false;
    };
    if token.len() > 128 {
        return false;
    }
    let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else {
        return false;
    };
    let expected = mac(key, &[b"csrf", session_id.as_bytes(), nonce.as_bytes()]);
    expected.ct_eq(tag.as_slice()).into()
}

/// The double-submit check: header and cookie present, equal (constant-time), and valid for
/// the session.
pub fn check(key: &[u8], session_id: &str, cookie: Option<&str>, header: Option<&str>) -> bool {
    let (Some(cookie), Some(header)) = (cookie, header) else {
        return false;
    };
    let same: bool = cookie.as_bytes().ct_eq(header.as_bytes()).into();
    same && is_valid_for(key, session_id, header)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"k";

    #[test]
    fn token_is_valid_only_for_its_session() {
        let token = issue(KEY, "session-a");
        assert!(check(KEY, "session-a", Some(&token), Some(&token)));
        assert!(!check(KEY, "session-b", Some(&token), Some(&token)));
    }

    #[test]
    fn header_must_equal_cookie() {
        let one = issue(KEY, "s");
        let two = issue(KEY, "s");
        assert!(!check(KEY, "s", Some(&one), Some(&two)));
        assert!(!check(KEY, "s", None, Some(&one)));
        assert!(!check(KEY, "s", Some(&one), None));
    }

    #[test]
    fn forged_or_garbled_tokens_fail() {
        assert!(!is_valid_for(KEY, "s", "abc.def"));
        assert!(!is_valid_for(KEY, "s", "no-dot"));
        assert!(!is_valid_for(b"other key", "s", &issue(KEY, "s")));
    }
}
