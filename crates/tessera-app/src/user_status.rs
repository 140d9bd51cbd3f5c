//! User status (Zulip's `update_user_status_backend`, `get_status_backend`): a text of up to
//! 60 characters and an emoji, and `away`, which is the inverse of the `presence_enabled`
//! setting.

use crate::{App, AppError, Notice, Principal, Result, SettingsRequest};
use serde_json::{Map, Value, json};
use tessera_core::user_settings;
use tessera_store::{StatusChange, UserStatusRow};

/// Zulip's limit on `status_text`.
pub const MAX_STATUS_TEXT_LENGTH: usize = 60;

/// What one `POST /users/me/status` asks for.
#[derive(Debug, Clone, Default)]
pub struct StatusRequest {
    pub away: Option<bool>,
    pub status_text: Option<String>,
    pub emoji_name: Option<String>,
    pub emoji_code: Option<String>,
    pub reaction_type: Option<String>,
}

/// Zulip's `format_user_status`: only what is set (`away` from `presence_enabled`).
fn status_dict(row: &UserStatusRow, away: bool) -> Map<String, Value> {
    let mut out = Map::new();
    if away {
        out.insert("away".into(), json!(true));
    }
    if !row.status_text.is_empty() {
        out.insert("status_text".into(), json!(row.status_text));
    }
    if !row.emoji_name.is_empty() {
        out.insert("emoji_name".into(), json!(row.emoji_name));
        out.insert("emoji_code".into(), json!(row.emoji_code));
        out.insert("reaction_type".into(), json!(row.reaction_type));
    }
    out
}

/// Zulip's `check_emoji_request` for the emoji kinds tessera has (no custom emoji yet).
fn check_emoji(name: &str, code: &str, kind: &str) -> Result<()> {
    match kind {
        "realm_emoji" => Err(AppError::bad("Invalid custom emoji.")),
        "zulip_extra_emoji" => {
            if code != "zulip" {
                Err(AppError::bad("Invalid emoji code."))
            } else if name != code {
                Err(AppError::bad("Invalid emoji name."))
            } else {
                Ok(())
            }
        }
        "unicode_emoji" => {
            if !tessera_core::emoji::is_emoji_code(code) {
                Err(AppError::bad("Invalid emoji code."))
            } else if tessera_core::emoji::emoji_code(name).as_deref() != Some(code) {
                Err(AppError::bad("Invalid emoji name."))
            } else {
                Ok(())
            }
        }
        _ => Err(AppError::bad("Invalid emoji type.")),
    }
}

impl App {
    /// Whether a user turned presence off (Zulip shows them as away).
    async fn is_away(&self, user_id: i64) -> Result<bool> {
        let rows = self
            .store()
            .user_setting_of(&[user_id], "presence_enabled")
            .await?;
        Ok(rows.iter().any(|(_, v)| v == "false"))
    }

    /// `POST /users/me/status`.
    pub async fn update_status(&self, who: &Principal, req: StatusRequest) -> Result<()> {
        who.require_human()?;
        if req.away.is_none() && req.status_text.is_none() && req.emoji_name.is_none() {
            return Err(AppError::bad("Client did not pass any new values."));
        }
        let status_text = req.status_text.as_deref().map(str::trim);
        if status_text.is_some_and(|t| t.chars().count() > MAX_STATUS_TEXT_LENGTH) {
            return Err(AppError::bad(format!(
                "status_text is too long (limit: {MAX_STATUS_TEXT_LENGTH} characters)"
            )));
        }
        if let Some(pos) = status_text.and_then(tessera_core::names::unprintable_position) {
            return Err(AppError::bad(format!(
                "Invalid character in status_text, at position {pos}."
            )));
        }
        let emoji = match req.emoji_name.as_deref() {
            Some("") => Some((String::new(), String::new(), "unicode_emoji".to_owned())),
            Some(name) => {
                let (mut code, mut kind) = (req.emoji_code.clone(), req.reaction_type.clone());
                if code.is_none() || kind.is_none() {
                    let (found_code, found_kind) = if name == "zulip" {
                        ("zulip".to_owned(), "zulip_extra_emoji")
                    } else {
                        let c = tessera_core::emoji::emoji_code(name).ok_or_else(|| {
                            AppError::bad(format!("Emoji '{name}' does not exist"))
                        })?;
                        (c, "unicode_emoji")
                    };
                    code.get_or_insert(found_code);
                    kind.get_or_insert(found_kind.to_owned());
                }
                let (code, kind) = (code.unwrap_or_default(), kind.unwrap_or_default());
                check_emoji(name, &code, &kind)?;
                Some((name.to_owned(), code, kind))
            }
            None => {
                let given = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
                if given(&req.emoji_code) || given(&req.reaction_type) {
                    return Err(AppError::bad(
                        "Client must pass emoji_name if they pass either emoji_code or reaction_type.",
                    ));
                }
                None
            }
        };
        if let Some(away) = req.away {
            let setting = user_settings::find("presence_enabled")
                .ok_or_else(|| AppError::Invariant("presence_enabled is not a setting".into()))?;
            self.change_settings(
                who,
                SettingsRequest {
                    values: vec![(setting, json!(!away))],
                    ..SettingsRequest::default()
                },
            )
            .await?;
        }
        let change = StatusChange {
            status_text: status_text.map(str::to_owned),
            emoji: emoji.clone(),
        };
        self.store()
            .set_user_status(who.user_id.0, &change, self.now())
            .await?;
        let mut event = json!({"type": "user_status", "user_id": who.user_id.0});
        if let Some(away) = req.away {
            event["away"] = json!(away);
        }
        if let Some(text) = status_text {
            event["status_text"] = json!(text);
        }
        if let Some((name, code, kind)) = emoji {
            event["emoji_name"] = json!(name);
            event["emoji_code"] = json!(code);
            event["reaction_type"] = json!(kind);
        }
        let everyone = self.store().active_user_ids(who.realm_id).await?;
        self.events().publish(Notice::plain(everyone, event));
        Ok(())
    }

    /// `GET /users/{user_id}/status`: `{}` for a user who never set one.
    pub async fn user_status(&self, who: &Principal, user_id: i64) -> Result<Value> {
        let target = self.realm_user(who, user_id, false).await?;
        Ok(match self.store().user_status(target.id).await? {
            Some(row) => Value::Object(status_dict(&row, self.is_away(target.id).await?)),
            None => json!({}),
        })
    }

    /// `register`'s `user_status`: by user id (as a string), for those with something set.
    pub(crate) async fn user_status_state(&self, realm_id: i64) -> Result<Map<String, Value>> {
        let rows = self.store().realm_user_statuses(realm_id).await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.user_id).collect();
        let away: Vec<i64> = self
            .store()
            .user_setting_of(&ids, "presence_enabled")
            .await?
            .into_iter()
            .filter(|(_, v)| v == "false")
            .map(|(id, _)| id)
            .collect();
        Ok(rows
            .iter()
            .map(|r| (r.user_id, status_dict(r, away.contains(&r.user_id))))
            .filter(|(_, dict)| !dict.is_empty())
            .map(|(id, dict)| (id.to_string(), Value::Object(dict)))
            .collect())
    }
}
