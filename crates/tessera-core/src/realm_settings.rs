//! The organization settings an administrator changes with `PATCH /realm` (Zulip's
//! `update_realm`): each name, how its value is sent and checked, and whether only owners may
//! change it. Names are without the `realm_` prefix `register` puts on them.

use serde_json::{Value, json};

/// How a setting's value is sent and what it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A JSON boolean.
    Bool,
    /// A JSON integer, one of these.
    OneOf(&'static [i64]),
    /// A JSON integer in this range.
    Range(i64, i64),
    /// A positive JSON integer, or `"unlimited"` (stored as `null`).
    Limit,
    /// A positive JSON integer, or `"unlimited"` / `"forever"` (stored as `-1`).
    RetentionDays,
    /// Text up to this many characters.
    Text(usize),
    /// One of Zulip's interface language codes.
    Language,
    /// A channel id of the organization, or -1 for none.
    Channel,
    /// A user group id (a group-setting value), or `{"new": id, "old": id}`.
    Group,
}

/// One organization setting.
#[derive(Debug, Clone, Copy)]
pub struct RealmSetting {
    pub name: &'static str,
    pub kind: Kind,
    /// Zulip lets only organization owners change it.
    pub owner_only: bool,
}

const fn s(name: &'static str, kind: Kind) -> RealmSetting {
    RealmSetting {
        name,
        kind,
        owner_only: false,
    }
}

const fn owner(name: &'static str, kind: Kind) -> RealmSetting {
    RealmSetting {
        name,
        kind,
        owner_only: true,
    }
}

/// Zulip's `CommonPolicyEnum`: members, administrators, full members, moderators.
const COMMON: Kind = Kind::OneOf(&[1, 2, 3, 4]);
/// `CommonMessagePolicyEnum` (adds everyone, 5).
const MESSAGE: Kind = Kind::OneOf(&[1, 2, 3, 4, 5]);
/// `EditTopicPolicyEnum` / `MoveMessagesBetweenStreamsPolicyEnum` (adds nobody, 6).
const MOVE: Kind = Kind::OneOf(&[1, 2, 3, 4, 5, 6]);

/// Every setting `PATCH /realm` changes, in Zulip's parameter order.
pub const SETTINGS: &[RealmSetting] = &[
    s("name", Kind::Text(40)),
    s("description", Kind::Text(1000)),
    owner("emails_restricted_to_domains", Kind::Bool),
    owner("disallow_disposable_email_addresses", Kind::Bool),
    owner("invite_required", Kind::Bool),
    owner("invite_to_realm_policy", Kind::OneOf(&[1, 2, 3, 4, 5, 6])),
    s("require_unique_names", Kind::Bool),
    s("name_changes_disabled", Kind::Bool),
    s("email_changes_disabled", Kind::Bool),
    s("avatar_changes_disabled", Kind::Bool),
    s("inline_image_preview", Kind::Bool),
    s("inline_url_embed_preview", Kind::Bool),
    s("add_custom_emoji_policy", COMMON),
    s("delete_own_message_policy", MESSAGE),
    s("message_content_edit_limit_seconds", Kind::Limit),
    s("allow_message_editing", Kind::Bool),
    s("edit_topic_policy", MOVE),
    s("mandatory_topics", Kind::Bool),
    s("message_content_delete_limit_seconds", Kind::Limit),
    s("allow_edit_history", Kind::Bool),
    s("default_language", Kind::Language),
    owner("waiting_period_threshold", Kind::Range(0, 1_000_000)),
    s("new_stream_announcements_stream_id", Kind::Channel),
    s("signup_announcements_stream_id", Kind::Channel),
    s("zulip_update_announcements_stream_id", Kind::Channel),
    owner("message_retention_days", Kind::RetentionDays),
    s("send_welcome_emails", Kind::Bool),
    s("digest_emails_enabled", Kind::Bool),
    s("message_content_allowed_in_email_notifications", Kind::Bool),
    s("bot_creation_policy", Kind::OneOf(&[1, 2, 3])),
    s("create_public_stream_policy", COMMON),
    s("create_private_stream_policy", COMMON),
    s(
        "create_web_public_stream_policy",
        Kind::OneOf(&[2, 4, 6, 7]),
    ),
    s("invite_to_stream_policy", COMMON),
    s("move_messages_between_streams_policy", MOVE),
    s("user_group_edit_policy", COMMON),
    s(
        "wildcard_mention_policy",
        Kind::OneOf(&[1, 2, 3, 4, 5, 6, 7]),
    ),
    s("video_chat_provider", Kind::OneOf(&[0, 1])),
    s("giphy_rating", Kind::Range(0, 5)),
    s("default_code_block_language", Kind::Text(100)),
    s("digest_weekday", Kind::Range(0, 6)),
    s("enable_spectator_access", Kind::Bool),
    s("want_advertise_in_communities_directory", Kind::Bool),
    s("enable_read_receipts", Kind::Bool),
    s("move_messages_within_stream_limit_seconds", Kind::Limit),
    s("move_messages_between_streams_limit_seconds", Kind::Limit),
    s("enable_guest_user_indicator", Kind::Bool),
    owner("create_multiuse_invite_group", Kind::Group),
    s("can_access_all_users_group", Kind::Group),
    s("can_create_public_channel_group", Kind::Group),
    s("can_create_private_channel_group", Kind::Group),
    s("direct_message_initiator_group", Kind::Group),
    s("direct_message_permission_group", Kind::Group),
];

/// tessera's own organization settings, changed with `PATCH /realm` beside Zulip's but not
/// part of `register` and announced by no event (Zulip's clients do not know them): the
/// API-key policy.
pub const KEY_POLICY: &[RealmSetting] = &[
    // Give each app login (`fetch_api_key`, the mobile hand-off) its own key (default on).
    s("api_key_per_login", Kind::Bool),
    // The longest lifetime of a new named key, in days (`"unlimited"`: none, the default).
    s("max_api_key_lifetime_days", Kind::Limit),
];

/// Every setting `PATCH /realm` changes: Zulip's, then tessera's own.
pub fn all() -> impl Iterator<Item = &'static RealmSetting> {
    SETTINGS.iter().chain(KEY_POLICY)
}

/// The setting called `name`.
pub fn find(name: &str) -> Option<&'static RealmSetting> {
    all().find(|s| s.name == name)
}

/// Whether a setting is one of tessera's own ([`KEY_POLICY`]).
pub fn is_tessera_own(setting: &RealmSetting) -> bool {
    KEY_POLICY.iter().any(|s| s.name == setting.name)
}

/// Decode and check a value as sent, in Zulip's words when refused. A `Channel` or `Group`
/// value is only decoded here; whether it names one of the organization's is the caller's.
pub fn parse(setting: &RealmSetting, raw: &str) -> Result<Value, String> {
    let name = setting.name;
    let json =
        || serde_json::from_str::<Value>(raw).map_err(|_| format!("{name} is not valid JSON"));
    let int = |v: &Value| {
        v.as_i64()
            .ok_or_else(|| format!("{name} is not an integer"))
    };
    match setting.kind {
        Kind::Bool => json()?
            .as_bool()
            .map(Value::Bool)
            .ok_or_else(|| format!("{name} is not a boolean")),
        Kind::OneOf(allowed) => {
            let v = int(&json()?)?;
            if allowed.contains(&v) {
                Ok(json!(v))
            } else {
                Err(format!("Invalid {name}"))
            }
        }
        Kind::Range(lo, hi) => {
            let v = int(&json()?)?;
            if (lo..=hi).contains(&v) {
                Ok(json!(v))
            } else {
                Err(format!("Invalid {name}"))
            }
        }
        Kind::Limit | Kind::RetentionDays => {
            let unlimited = match setting.kind {
                Kind::RetentionDays => matches!(raw, "unlimited" | "forever" | "\"unlimited\""),
                _ => matches!(raw, "unlimited" | "\"unlimited\""),
            };
            if unlimited {
                return Ok(if setting.kind == Kind::RetentionDays {
                    json!(-1)
                } else {
                    Value::Null
                });
            }
            match json().ok().as_ref().and_then(Value::as_i64) {
                Some(v) if v > 0 => Ok(json!(v)),
                _ => Err(format!("Bad value for '{name}': {raw}")),
            }
        }
        Kind::Text(max) => {
            if raw.chars().count() > max {
                return Err(format!("{name} is too long (limit: {max} characters)"));
            }
            if name == "name" && raw.trim().is_empty() {
                return Err("Organization name can't be empty.".into());
            }
            Ok(json!(raw))
        }
        Kind::Language => {
            if crate::user_settings::language_name(raw).is_none() {
                return Err(format!("Invalid language '{raw}'"));
            }
            Ok(json!(raw))
        }
        Kind::Channel => Ok(json!(int(&json()?)?)),
        Kind::Group => {
            let v = json()?;
            let id = match &v {
                Value::Object(m) => m.get("new").cloned().unwrap_or(Value::Null),
                other => other.clone(),
            };
            Ok(json!(int(&id)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(name: &str) -> &'static RealmSetting {
        find(name).unwrap_or_else(|| unreachable!())
    }

    #[test]
    fn values_are_decoded_by_kind() {
        assert_eq!(parse(get("mandatory_topics"), "true"), Ok(json!(true)));
        assert_eq!(parse(get("name"), "Acme"), Ok(json!("Acme")));
        assert_eq!(parse(get("bot_creation_policy"), "2"), Ok(json!(2)));
        assert_eq!(
            parse(get("message_content_edit_limit_seconds"), "unlimited"),
            Ok(Value::Null)
        );
        assert_eq!(
            parse(get("message_content_edit_limit_seconds"), "600"),
            Ok(json!(600))
        );
        assert_eq!(
            parse(get("message_retention_days"), "unlimited"),
            Ok(json!(-1))
        );
        assert_eq!(
            parse(
                get("can_create_public_channel_group"),
                r#"{"new": 7, "old": 5}"#
            ),
            Ok(json!(7))
        );
        assert_eq!(
            parse(get("can_create_public_channel_group"), "7"),
            Ok(json!(7))
        );
    }

    #[test]
    fn bad_values_are_named() {
        assert_eq!(
            parse(get("mandatory_topics"), "1"),
            Err("mandatory_topics is not a boolean".into())
        );
        assert_eq!(
            parse(get("bot_creation_policy"), "9"),
            Err("Invalid bot_creation_policy".into())
        );
        assert_eq!(
            parse(get("message_content_edit_limit_seconds"), "0"),
            Err("Bad value for 'message_content_edit_limit_seconds': 0".into())
        );
        assert_eq!(
            parse(get("name"), &"x".repeat(41)),
            Err("name is too long (limit: 40 characters)".into())
        );
        assert_eq!(
            parse(get("default_language"), "xx"),
            Err("Invalid language 'xx'".into())
        );
        assert_eq!(
            parse(get("giphy_rating"), "nope"),
            Err("giphy_rating is not valid JSON".into())
        );
    }

    #[test]
    fn names_are_unique() {
        let mut seen = std::collections::HashSet::new();
        assert!(all().all(|s| seen.insert(s.name)));
        assert!(is_tessera_own(get("api_key_per_login")));
        assert!(!is_tessera_own(get("name")));
    }
}
