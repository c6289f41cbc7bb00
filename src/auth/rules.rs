//! The session rules as pure functions of the current time, so they are tested without
//! sleeping. See "Session model" in ARCHITECTURE.md for the state diagram.

use crate::store::{RetiredToken, SessionRecord};

/// Whether a session may be used at `now`: not revoked, within its sliding idle lifetime and
/// its absolute lifetime.
pub fn session_is_live(session: &SessionRecord, now: i64) -> bool {
    session.revoked_at.is_none()
        && now < session.idle_expires_at
        && now < session.absolute_expires_at
}

/// The idle expiry a session gets when used at `now`: the sliding lifetime, capped by the
/// absolute one.
pub fn idle_expiry(now: i64, idle_ttl: i64, absolute_expires_at: i64) -> i64 {
    (now + idle_ttl).min(absolute_expires_at)
}

/// Seconds a refresh cookie should live, so it disappears with the session.
pub fn cookie_max_age(session: &SessionRecord, now: i64) -> i64 {
    (session.idle_expires_at.min(session.absolute_expires_at) - now).max(0)
}

/// What a replayed, already-rotated refresh token means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// The immediately previous token, within the grace window: a second tab that refreshed
    /// at the same moment. It gets the session's current state, but no new refresh token.
    Grace,
    /// Anything else: the token was stolen or leaked (RFC 9700 §4.14.2). Revoke the session.
    Reuse,
}

/// Classifies the replay of a retired token of a live session at `now`.
pub fn classify_replay(
    retired: &RetiredToken,
    session: &SessionRecord,
    now: i64,
    grace_seconds: i64,
) -> Replay {
    let immediately_previous = retired.generation == session.generation - 1;
    let within_window = now - session.rotated_at <= grace_seconds;
    if immediately_previous && within_window {
        Replay::Grace
    } else {
        Replay::Reuse
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(generation: i64, rotated_at: i64) -> SessionRecord {
        SessionRecord {
            id: "s".into(),
            user_id: "u".into(),
            generation,
            rotated_at,
            created_at: 0,
            last_used_at: rotated_at,
            idle_expires_at: 1_000,
            absolute_expires_at: 2_000,
            revoked_at: None,
            ip: None,
            user_agent: None,
        }
    }

    #[test]
    fn previous_token_inside_window_is_grace() {
        let retired = RetiredToken {
            generation: 4,
            retired_at: 100,
        };
        assert_eq!(
            classify_replay(&retired, &session(5, 100), 110, 10),
            Replay::Grace
        );
    }

    #[test]
    fn previous_token_just_outside_window_is_reuse() {
        let retired = RetiredToken {
            generation: 4,
            retired_at: 100,
        };
        assert_eq!(
            classify_replay(&retired, &session(5, 100), 111, 10),
            Replay::Reuse
        );
    }

    #[test]
    fn older_token_is_reuse_even_inside_window() {
        let retired = RetiredToken {
            generation: 3,
            retired_at: 99,
        };
        assert_eq!(
            classify_replay(&retired, &session(5, 100), 100, 10),
            Replay::Reuse
        );
    }

    #[test]
    fn idle_expiry_slides_but_never_passes_absolute() {
        assert_eq!(idle_expiry(100, 50, 1_000), 150);
        assert_eq!(idle_expiry(980, 50, 1_000), 1_000);
    }

    #[test]
    fn session_dies_at_idle_or_absolute_expiry_or_revocation() {
        let mut s = session(0, 0);
        assert!(session_is_live(&s, 999));
        assert!(!session_is_live(&s, 1_000));
        s.idle_expires_at = 5_000;
        assert!(!session_is_live(&s, 2_000));
        s.revoked_at = Some(1);
        assert!(!session_is_live(&s, 10));
    }
}
