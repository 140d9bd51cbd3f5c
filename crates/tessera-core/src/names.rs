//! Validation of user and bot names, following Zulip's `check_full_name` and
//! `check_short_name` (`zerver/lib/users.py`).

/// Longest full name Zulip accepts (`UserProfile.MAX_NAME_LENGTH`).
pub const MAX_NAME_LENGTH: usize = 100;
/// Shortest full name (`UserProfile.MIN_NAME_LENGTH`).
pub const MIN_NAME_LENGTH: usize = 2;

/// Check a full name and return it trimmed, or Zulip's error message.
pub fn check_full_name(raw: &str) -> Result<String, &'static str> {
    let name = raw.trim();
    let len = name.chars().count();
    if len > MAX_NAME_LENGTH {
        return Err("Name too long!");
    }
    if len < MIN_NAME_LENGTH {
        return Err("Name too short!");
    }
    if name
        .chars()
        .any(|c| c.is_control() || matches!(c, '*' | '`' | '\\' | '>' | '"' | '@'))
    {
        return Err("Invalid characters in name!");
    }
    // A trailing "|<digits>" is how Zulip disambiguates mentions of duplicate names.
    if let Some((_, tail)) = name.rsplit_once('|')
        && !tail.is_empty()
        && tail.chars().all(|c| c.is_ascii_digit())
    {
        return Err("Invalid format!");
    }
    Ok(name.to_owned())
}

/// Check a bot's short name (the part before `-bot@`) and return it trimmed.
///
/// Zulip only requires it to be non-empty after trimming; the resulting address must then be a
/// valid email, which [`crate::Email::parse`] checks ("Bad name or username").
pub fn check_short_name(raw: &str) -> Result<String, &'static str> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("Bad name or username");
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_names() {
        assert_eq!(
            check_full_name("  Cookie Bot "),
            Ok("Cookie Bot".to_owned())
        );
        assert_eq!(check_full_name("a"), Err("Name too short!"));
        assert_eq!(check_full_name(&"x".repeat(101)), Err("Name too long!"));
        assert_eq!(check_full_name("a*b"), Err("Invalid characters in name!"));
        assert_eq!(check_full_name("a@b"), Err("Invalid characters in name!"));
        assert_eq!(check_full_name("Bob|12"), Err("Invalid format!"));
        assert!(check_full_name("Bob|x").is_ok());
    }

    #[test]
    fn short_names() {
        assert_eq!(check_short_name(" x "), Ok("x".to_owned()));
        assert!(check_short_name("  ").is_err());
    }
}

/// The name Zulip 9 gives an archived channel, which frees its old name: seven hex digits of
/// the SHA-512 of its id, `!DEACTIVATED:`, the old name, cut to 60 characters.
pub fn deactivated_stream_name(stream_id: i64, name: &str) -> String {
    use sha2::{Digest, Sha512};
    let digest = hex::encode(Sha512::digest(stream_id.to_string().as_bytes()));
    format!("{}!DEACTIVATED:{name}", &digest[..7])
        .chars()
        .take(60)
        .collect()
}

#[cfg(test)]
mod deactivated_tests {
    #[test]
    fn archived_names_start_with_the_id_hash_and_fit_60_characters() {
        let n = super::deactivated_stream_name(1, "general");
        // sha512("1") starts with 4dff4ea.
        assert_eq!(n, "4dff4ea!DEACTIVATED:general");
        let long = super::deactivated_stream_name(1, &"x".repeat(60));
        assert_eq!(long.chars().count(), 60);
    }
}

/// The 1-based position of the first character Zulip's `check_string_is_printable` refuses
/// (control characters and the noncharacters U+FDD0–U+FDEF), if any.
pub fn unprintable_position(s: &str) -> Option<usize> {
    s.chars()
        .position(|c| c.is_control() || ('\u{fdd0}'..='\u{fdef}').contains(&c))
        .map(|i| i + 1)
}
