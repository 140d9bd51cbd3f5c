//! `POST /users/me/subscriptions/properties` (Zulip's `update_subscription_properties_backend`
//! and `do_change_subscription_property`): colour, muting, pinning and notification settings
//! of the caller's own subscriptions. Every item is checked before any is stored; then all are
//! stored in one transaction and each is announced to the caller's queues.

use crate::{App, AppError, Notice, Principal, Result};
use serde_json::{Value, json};
use tessera_store::{PropertyValue, StoreError, SubscriptionProperty as P};

/// One item of `subscription_data`.
#[derive(Debug, Clone, PartialEq)]
pub struct SubscriptionData {
    pub stream_id: i64,
    pub property: String,
    pub value: Value,
}

/// Zulip's `check_color`: `#` and three to six hex digits.
pub fn is_hex_color(s: &str) -> bool {
    s.strip_prefix('#')
        .is_some_and(|h| (3..=6).contains(&h.len()) && h.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The property, as stored (`in_home_view` is the inverse of `is_muted`), and its value.
fn checked(property: &str, value: &Value) -> Result<(P, PropertyValue)> {
    let kind = match property {
        "color" => {
            let text = value
                .as_str()
                .ok_or_else(|| AppError::bad("color is not a string"))?;
            if !is_hex_color(text) {
                return Err(AppError::bad("color is not a valid hex color code"));
            }
            return Ok((P::Color, PropertyValue::Text(text.to_owned())));
        }
        "in_home_view" | "is_muted" => P::IsMuted,
        "pin_to_top" => P::PinToTop,
        "desktop_notifications" => P::DesktopNotifications,
        "audible_notifications" => P::AudibleNotifications,
        "push_notifications" => P::PushNotifications,
        "email_notifications" => P::EmailNotifications,
        "wildcard_mentions_notify" => P::WildcardMentionsNotify,
        other => {
            return Err(AppError::bad(format!(
                "Unknown subscription property: {other}"
            )));
        }
    };
    let b = value
        .as_bool()
        .ok_or_else(|| AppError::bad(format!("{property} is not a boolean")))?;
    let stored = if property == "in_home_view" { !b } else { b };
    Ok((kind, PropertyValue::Bool(stored)))
}

impl App {
    /// Change properties of the caller's subscriptions: all or none.
    pub async fn change_subscription_properties(
        &self,
        who: &Principal,
        items: &[SubscriptionData],
    ) -> Result<()> {
        let me = who.user_id.0;
        let mut changes = Vec::with_capacity(items.len());
        for item in items {
            let (property, value) = checked(&item.property, &item.value)?;
            self.channel_for(who, item.stream_id, false).await?;
            if !self.store().is_subscribed(me, item.stream_id).await? {
                return Err(AppError::bad(format!(
                    "Not subscribed to channel ID {}",
                    item.stream_id
                )));
            }
            changes.push((item.stream_id, property, value));
        }
        self.store()
            .set_subscription_properties(me, &changes)
            .await
            .map_err(|e| match e {
                // Unsubscribed meanwhile.
                StoreError::NotFound => AppError::bad("Not subscribed to this channel"),
                e => e.into(),
            })?;
        for (stream_id, property, value) in changes {
            let update = |name: &str, value: Value| {
                json!({"type": "subscription", "op": "update", "property": name,
                       "value": value, "stream_id": stream_id})
            };
            let events = match (property, value) {
                (P::IsMuted, PropertyValue::Bool(muted)) => vec![
                    update("in_home_view", json!(!muted)),
                    update("is_muted", json!(muted)),
                ],
                (P::Color, PropertyValue::Text(c)) => vec![update("color", json!(c))],
                (p, PropertyValue::Bool(b)) => vec![update(property_name(p), json!(b))],
                (p, PropertyValue::Text(t)) => vec![update(property_name(p), json!(t))],
            };
            for event in events {
                self.events().publish(Notice::plain(vec![me], event));
            }
        }
        Ok(())
    }

    /// The colours `PATCH /users/me/subscriptions` asked for in `add`, by channel name, set
    /// on the caller's (new or existing) subscriptions.
    pub async fn apply_subscription_colors(
        &self,
        who: &Principal,
        colors: &[(String, String)],
    ) -> Result<()> {
        let mut items = Vec::with_capacity(colors.len());
        for (name, color) in colors {
            if let Some(s) = self.store().stream_by_name(who.realm_id, name).await? {
                items.push(SubscriptionData {
                    stream_id: s.id,
                    property: "color".into(),
                    value: json!(color),
                });
            }
        }
        self.change_subscription_properties(who, &items).await
    }
}

fn property_name(p: P) -> &'static str {
    match p {
        P::Color => "color",
        P::IsMuted => "is_muted",
        P::PinToTop => "pin_to_top",
        P::DesktopNotifications => "desktop_notifications",
        P::AudibleNotifications => "audible_notifications",
        P::PushNotifications => "push_notifications",
        P::EmailNotifications => "email_notifications",
        P::WildcardMentionsNotify => "wildcard_mentions_notify",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colors_are_three_to_six_hex_digits() {
        assert!(is_hex_color("#abc"));
        assert!(is_hex_color("#76ce90"));
        assert!(!is_hex_color("76ce90"));
        assert!(!is_hex_color("#76ce9g"));
        assert!(!is_hex_color("#76ce9000"));
    }

    #[test]
    fn in_home_view_is_stored_as_its_inverse() {
        let (p, v) = checked("in_home_view", &json!(false)).unwrap();
        assert_eq!((p, v), (P::IsMuted, PropertyValue::Bool(true)));
        assert!(checked("is_muted", &json!("yes")).is_err());
        assert_eq!(
            checked("bogus", &json!(true)).unwrap_err().to_string(),
            "Unknown subscription property: bogus"
        );
    }
}
