//! Zulip's personal settings (`UserBaseSettings`): every name, its type, the values it
//! accepts and its default, in the order Zulip's `user_settings` object lists them. One table
//! serves the `register` snapshot, `PATCH /settings` validation and the organization defaults.

use serde_json::{Value, json};

/// What a setting accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    /// One of these integers.
    Int(&'static [i64]),
    /// One of these strings (empty: any string up to 100 characters).
    Str(&'static [&'static str]),
}

/// A default value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Default {
    Bool(bool),
    Int(i64),
    Str(&'static str),
}

impl Default {
    pub fn to_json(self) -> Value {
        match self {
            Default::Bool(b) => json!(b),
            Default::Int(i) => json!(i),
            Default::Str(s) => json!(s),
        }
    }
}

/// One personal setting.
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub name: &'static str,
    pub kind: Kind,
    pub default: Default,
    /// Which legacy flat group the setting belonged to before `user_settings` existed
    /// (`update_display_settings` or `update_global_notifications`), if any.
    pub legacy: Option<Legacy>,
}

/// The two legacy event types the flat settings were grouped under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Legacy {
    Display,
    Notifications,
}

const B: Kind = Kind::Bool;
const ANY: Kind = Kind::Str(&[]);
const fn t(b: bool) -> Default {
    Default::Bool(b)
}
const fn i(v: i64) -> Default {
    Default::Int(v)
}

/// Emoji sets, as `emojiset_choices` lists them.
pub const EMOJISETS: [(&str, &str); 4] = [
    ("google", "Google"),
    ("twitter", "Twitter"),
    ("text", "Plain text"),
    ("google-blob", "Google blobs"),
];

/// The values `notification_sound` accepts: "none", then the sounds offered.
const SOUND_CHOICES: &[&str] = &[
    "none",
    "chime",
    "ding",
    "droplet",
    "engaged",
    "gentle-ding",
    "impressed",
    "light",
    "mallet",
    "open",
    "tuesday",
    "zulip",
];

/// Notification sounds offered (`available_notification_sounds`).
pub const NOTIFICATION_SOUNDS: &[&str] = SOUND_CHOICES.split_at(1).1;

/// The interface languages Zulip ships (code, name in that language): `default_language`
/// must be one of them, and its events carry the name.
pub const LANGUAGES: &[(&str, &str)] = &[
    ("ar", "العربيّة"),
    ("be", "Беларуская"),
    ("bg", "Български"),
    ("bn", "বাংলা"),
    ("ca", "Català"),
    ("cs", "Čeština"),
    ("cy", "Cymraeg"),
    ("da", "Dansk"),
    ("de", "Deutsch"),
    ("el", "Ελληνικά"),
    ("en", "English"),
    ("en_GB", "British English"),
    ("eo", "Esperanto"),
    ("es", "Español"),
    ("fa", "فارسی"),
    ("fi", "Suomi"),
    ("fr", "Français"),
    ("gl", "Galego"),
    ("gu", "ગુજરાતી"),
    ("hi", "हिंदी"),
    ("hu", "Magyar"),
    ("id", "Bahasa Indonesia"),
    ("it", "Italiano"),
    ("ja", "日本語"),
    ("ko", "한국어"),
    ("lt", "Lietuviškai"),
    ("lv", "Latviešu"),
    ("ml", "മലയാളം"),
    ("mn", "Монгол"),
    ("nl", "Nederlands"),
    ("no", "Norsk"),
    ("pa", "ਪੰਜਾਬੀ"),
    ("pl", "Polski"),
    ("pt", "Português"),
    ("pt_BR", "Português Brasileiro"),
    ("pt_PT", "Português (Portugal)"),
    ("ro", "Română"),
    ("ru", "Русский"),
    ("si", "සිංහල"),
    ("sr", "Српски"),
    ("sv", "Svenska"),
    ("ta", "தமிழ்"),
    ("te", "తెలుగు"),
    ("tl", "Tagalog"),
    ("tr", "Türkçe"),
    ("uk", "Українська"),
    ("ur", "اُردُو"),
    ("vi", "Tiếng Việt"),
    ("zh-hans", "简体中文"),
    ("zh-hant", "繁體中文"),
];

/// The name of the language `code` (Zulip's `get_language_name`).
pub fn language_name(code: &str) -> Option<&'static str> {
    LANGUAGES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

/// Whether `tz` looks like an IANA time zone name (`Area/Location`, `UTC`) or is empty (the
/// browser's zone). tessera carries no zone database, so the shape is what is checked.
fn is_time_zone_name(tz: &str) -> bool {
    tz.is_empty()
        || (tz.len() <= 40
            && tz.split('/').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+'))
            }))
}

const D: Option<Legacy> = Some(Legacy::Display);
const N: Option<Legacy> = Some(Legacy::Notifications);

macro_rules! setting {
    ($name:literal, $kind:expr, $default:expr, $legacy:expr) => {
        Setting {
            name: $name,
            kind: $kind,
            default: $default,
            legacy: $legacy,
        }
    };
}

/// Every personal setting, in Zulip's order. `timezone` and `enable_login_emails` are kept on
/// the user row; the rest in the settings table.
pub const SETTINGS: &[Setting] = &[
    setting!("twenty_four_hour_time", B, t(false), D),
    setting!("dense_mode", B, t(true), D),
    setting!(
        "web_mark_read_on_scroll_policy",
        Kind::Int(&[1, 2, 3]),
        i(1),
        None
    ),
    setting!("web_channel_default_view", Kind::Int(&[1, 2]), i(1), None),
    setting!("starred_message_counts", B, t(true), D),
    setting!("receives_typing_notifications", B, t(true), D),
    setting!("fluid_layout_width", B, t(false), D),
    setting!("high_contrast_mode", B, t(false), D),
    setting!(
        "web_font_size_px",
        Kind::Int(&[12, 13, 14, 15, 16, 17, 18, 19, 20]),
        i(14),
        None
    ),
    setting!(
        "web_line_height_percent",
        Kind::Int(&[103, 107, 111, 114, 118, 122, 125, 129, 133, 137, 140]),
        i(122),
        None
    ),
    setting!("color_scheme", Kind::Int(&[1, 2, 3]), i(1), D),
    setting!("translate_emoticons", B, t(false), D),
    setting!("display_emoji_reaction_users", B, t(true), None),
    setting!("default_language", ANY, Default::Str("en"), D),
    setting!(
        "web_home_view",
        Kind::Str(&["recent_topics", "inbox", "all_messages"]),
        Default::Str("inbox"),
        D
    ),
    setting!("web_escape_navigates_to_home_view", B, t(true), None),
    setting!("left_side_userlist", B, t(false), D),
    setting!(
        "emojiset",
        Kind::Str(&["google", "twitter", "text", "google-blob"]),
        Default::Str("google"),
        D
    ),
    setting!("demote_inactive_streams", Kind::Int(&[1, 2, 3]), i(1), D),
    setting!("user_list_style", Kind::Int(&[1, 2, 3]), i(2), None),
    setting!(
        "web_animate_image_previews",
        Kind::Str(&["always", "on_hover", "never"]),
        Default::Str("on_hover"),
        None
    ),
    setting!(
        "web_stream_unreads_count_display_policy",
        Kind::Int(&[1, 2, 3]),
        i(2),
        None
    ),
    setting!("timezone", ANY, Default::Str(""), D),
    setting!("enter_sends", B, t(false), D),
    setting!("enable_drafts_synchronization", B, t(true), D),
    setting!("enable_stream_desktop_notifications", B, t(false), N),
    setting!("enable_stream_email_notifications", B, t(false), N),
    setting!("enable_stream_push_notifications", B, t(false), N),
    setting!("enable_stream_audible_notifications", B, t(false), N),
    setting!(
        "notification_sound",
        Kind::Str(SOUND_CHOICES),
        Default::Str("zulip"),
        N
    ),
    setting!("enable_desktop_notifications", B, t(true), N),
    setting!("enable_sounds", B, t(true), N),
    setting!(
        "enable_followed_topic_desktop_notifications",
        B,
        t(true),
        None
    ),
    setting!(
        "enable_followed_topic_email_notifications",
        B,
        t(true),
        None
    ),
    setting!("enable_followed_topic_push_notifications", B, t(true), None),
    setting!(
        "enable_followed_topic_audible_notifications",
        B,
        t(true),
        None
    ),
    setting!(
        "email_notifications_batching_period_seconds",
        Kind::Int(&[]),
        i(120),
        N
    ),
    setting!("enable_offline_email_notifications", B, t(true), N),
    setting!("enable_offline_push_notifications", B, t(true), N),
    setting!("enable_online_push_notifications", B, t(true), N),
    setting!("enable_digest_emails", B, t(true), N),
    setting!("enable_marketing_emails", B, t(true), N),
    setting!("enable_login_emails", B, t(true), N),
    setting!("message_content_in_email_notifications", B, t(true), N),
    setting!("pm_content_in_desktop_notifications", B, t(true), N),
    setting!("wildcard_mentions_notify", B, t(true), N),
    setting!(
        "enable_followed_topic_wildcard_mentions_notify",
        B,
        t(true),
        None
    ),
    setting!("desktop_icon_count_display", Kind::Int(&[1, 2, 3]), i(1), N),
    setting!(
        "realm_name_in_email_notifications_policy",
        Kind::Int(&[1, 2, 3]),
        i(1),
        N
    ),
    setting!(
        "automatically_follow_topics_policy",
        Kind::Int(&[1, 2, 3, 4]),
        i(3),
        None
    ),
    setting!(
        "automatically_unmute_topics_in_muted_streams_policy",
        Kind::Int(&[1, 2, 3, 4]),
        i(2),
        None
    ),
    setting!(
        "automatically_follow_topics_where_mentioned",
        B,
        t(true),
        None
    ),
    setting!("presence_enabled", B, t(true), N),
    setting!("send_private_typing_notifications", B, t(true), None),
    setting!("send_stream_typing_notifications", B, t(true), None),
    setting!("send_read_receipts", B, t(true), None),
    setting!(
        "email_address_visibility",
        Kind::Int(&[1, 2, 3, 4, 5]),
        i(3),
        None
    ),
    setting!("web_navigate_to_sent_message", B, t(true), None),
];

/// The setting called `name`.
pub fn find(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.name == name)
}

/// `emojiset_choices`: `{key, text}` per emoji set.
pub fn emojiset_choices() -> Value {
    Value::Array(
        EMOJISETS
            .iter()
            .map(|(key, text)| json!({"key": key, "text": text}))
            .collect(),
    )
}

/// Why a value is refused, in Zulip's words (`Invalid {name}` / `{name} is not a boolean`).
pub fn check(setting: &Setting, value: &Value) -> Result<Value, String> {
    let name = setting.name;
    match setting.kind {
        Kind::Bool => value
            .as_bool()
            .map(Value::Bool)
            .ok_or_else(|| format!("{name} is not a boolean")),
        Kind::Int(allowed) => {
            let v = value
                .as_i64()
                .ok_or_else(|| format!("{name} is not an integer"))?;
            if name == "email_notifications_batching_period_seconds" {
                // Zulip's limit: more than nothing, at most one week.
                return if (1..=7 * 24 * 3600).contains(&v) {
                    Ok(json!(v))
                } else {
                    Err(format!("Invalid email batching period: {v} seconds"))
                };
            }
            if allowed.is_empty() || allowed.contains(&v) {
                Ok(json!(v))
            } else {
                Err(format!("Invalid {name}"))
            }
        }
        Kind::Str(allowed) => {
            let v = value
                .as_str()
                .ok_or_else(|| format!("{name} is not a string"))?;
            match name {
                "default_language" if language_name(v).is_none() => {
                    return Err("Invalid default_language".into());
                }
                "notification_sound" if !allowed.contains(&v) => {
                    return Err(format!("Invalid notification sound '{v}'"));
                }
                "timezone" if !is_time_zone_name(v) => {
                    return Err("Not a recognized time zone".into());
                }
                _ => {}
            }
            if allowed.is_empty() {
                if v.chars().count() > 100 {
                    return Err(format!("{name} is too long (limit: 100 characters)"));
                }
                Ok(json!(v))
            } else if allowed.contains(&v) {
                Ok(json!(v))
            } else {
                Err(format!("Invalid {name}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fit_their_kind_and_names_are_unique() {
        let mut names = std::collections::HashSet::new();
        for s in SETTINGS {
            assert!(names.insert(s.name), "{} twice", s.name);
            assert_eq!(
                check(s, &s.default.to_json()),
                Ok(s.default.to_json()),
                "{}",
                s.name
            );
        }
        // Zulip's `user_settings` object has 60 keys: these 58 plus the two choice lists.
        assert_eq!(SETTINGS.len(), 58);
    }

    #[test]
    fn bad_values_are_named() {
        let s = find("emojiset").unwrap_or_else(|| unreachable!());
        assert_eq!(check(s, &json!("comic")), Err("Invalid emojiset".into()));
        let s = find("enter_sends").unwrap_or_else(|| unreachable!());
        assert_eq!(
            check(s, &json!(1)),
            Err("enter_sends is not a boolean".into())
        );
        let s = find("color_scheme").unwrap_or_else(|| unreachable!());
        assert_eq!(check(s, &json!(9)), Err("Invalid color_scheme".into()));
        let s = find("default_language").unwrap_or_else(|| unreachable!());
        assert_eq!(check(s, &json!("de")), Ok(json!("de")));
        assert_eq!(
            check(s, &json!("xx")),
            Err("Invalid default_language".into())
        );
        let s = find("notification_sound").unwrap_or_else(|| unreachable!());
        assert_eq!(
            check(s, &json!("boing")),
            Err("Invalid notification sound 'boing'".into())
        );
        let s = find("timezone").unwrap_or_else(|| unreachable!());
        assert_eq!(
            check(s, &json!("Europe/Berlin")),
            Ok(json!("Europe/Berlin"))
        );
        assert_eq!(check(s, &json!("")), Ok(json!("")));
        assert_eq!(
            check(s, &json!("not a zone")),
            Err("Not a recognized time zone".into())
        );
        let s =
            find("email_notifications_batching_period_seconds").unwrap_or_else(|| unreachable!());
        assert_eq!(
            check(s, &json!(0)),
            Err("Invalid email batching period: 0 seconds".into())
        );
    }
}
