//! Usernames: one canonical form, so look-alikes cannot become a second account.
//!
//! A username is trimmed, NFKC-normalised (full-width `ａｄｍｉｎ` becomes `admin`) and
//! lower-cased, then must be 3–30 characters of ASCII letters, digits, `.`, `_` or `-`.
//! Restricting the canonical form to ASCII refuses the remaining confusables outright:
//! the dotless `ı` and the Turkish dotted capital `İ` (which lower-cases to `i` + U+0307)
//! are not ASCII after normalisation, so they can neither sign in as `admin` nor register
//! beside it (OWASP ASVS 5.0 §6.3, UTS #39 guidance on identifiers).

use unicode_normalization::UnicodeNormalization;

/// The shortest username.
pub const MIN_CHARS: usize = 3;
/// The longest username.
pub const MAX_CHARS: usize = 30;

/// The canonical form of a username, or `None` if it is not an acceptable username.
pub fn canonical(raw: &str) -> Option<String> {
    // Refuse huge inputs before normalising them.
    if raw.len() > 4 * MAX_CHARS + 64 {
        return None;
    }
    let name: String = raw.trim().nfkc().collect::<String>().to_lowercase();
    let valid = (MIN_CHARS..=MAX_CHARS).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    valid.then_some(name)
}

/// The message a client gets for a username that is not acceptable.
pub const RULE: &str = "Username must be 3 to 30 characters: letters, digits, '.', '_' or '-'";

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn case_and_surrounding_spaces_are_ignored() {
        assert_eq!(canonical("  Admin ").as_deref(), Some("admin"));
    }

    #[test]
    fn full_width_letters_fold_to_ascii() {
        assert_eq!(canonical("ａｄｍｉｎ").as_deref(), Some("admin"));
    }

    #[test]
    fn dotless_and_dotted_i_are_refused() {
        assert_eq!(canonical("admın"), None);
        assert_eq!(canonical("ADMİN"), None);
    }

    #[test]
    fn length_and_alphabet_are_enforced() {
        assert_eq!(canonical("ab"), None);
        assert_eq!(canonical(&"a".repeat(31)), None);
        assert_eq!(canonical("john doe"), None);
        assert_eq!(canonical("jo.hn_d-oe").as_deref(), Some("jo.hn_d-oe"));
    }
}
