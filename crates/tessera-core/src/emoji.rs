//! Unicode emoji names → Zulip `emoji_code`s (lower-case hex code points joined by `-`,
//! variation selectors dropped), from the gemoji short codes of the `emojis` crate plus the
//! names where Zulip differs.

/// Zulip names that are not gemoji short codes.
const ALIASES: &[(&str, &str)] = &[
    ("thumbs_up", "+1"),
    ("thumbs_down", "-1"),
    ("smile", "relaxed"),
    ("big_smile", "smile"),
    ("slight_smile", "slightly_smiling_face"),
    ("happy", "grinning"),
    ("hello", "wave"),
    ("hi", "wave"),
    ("love", "heart"),
    ("love_you", "heart"),
    ("congratulations", "tada"),
    ("check", "white_check_mark"),
    ("all_good", "white_check_mark"),
    ("approved", "white_check_mark"),
    ("check_mark", "heavy_check_mark"),
    ("working_on_it", "hammer_and_wrench"),
    ("tools", "hammer_and_wrench"),
];

fn code_of(emoji: &emojis::Emoji) -> String {
    emoji
        .as_str()
        .chars()
        .filter(|c| *c != '\u{fe0f}')
        .map(|c| format!("{:x}", c as u32))
        .collect::<Vec<_>>()
        .join("-")
}

/// Whether `code` is the code of a unicode emoji.
pub fn is_emoji_code(code: &str) -> bool {
    emojis::iter().any(|e| code_of(e) == code)
}

/// The code for a unicode emoji name, if it is one.
pub fn emoji_code(name: &str) -> Option<String> {
    let lookup = ALIASES
        .iter()
        .find(|(zulip, _)| *zulip == name)
        .map(|(_, gemoji)| *gemoji)
        .unwrap_or(name);
    emojis::get_by_shortcode(lookup).map(code_of)
}

#[cfg(test)]
mod tests {
    use super::emoji_code;

    #[test]
    fn common_names() {
        assert_eq!(emoji_code("wave").as_deref(), Some("1f44b"));
        assert_eq!(emoji_code("+1").as_deref(), Some("1f44d"));
        assert_eq!(emoji_code("thumbs_up").as_deref(), Some("1f44d"));
        assert_eq!(emoji_code("heart").as_deref(), Some("2764"));
        assert_eq!(emoji_code("tada").as_deref(), Some("1f389"));
        assert_eq!(emoji_code("octopus").as_deref(), Some("1f419"));
        assert_eq!(emoji_code("smile").as_deref(), Some("263a"));
        assert_eq!(emoji_code("check").as_deref(), Some("2705"));
        assert_eq!(emoji_code("working_on_it").as_deref(), Some("1f6e0"));
        assert_eq!(emoji_code("no_such_emoji_here"), None);
        assert!(super::is_emoji_code("1f44b"));
        assert!(!super::is_emoji_code("1f44bxyz"));
    }
}
