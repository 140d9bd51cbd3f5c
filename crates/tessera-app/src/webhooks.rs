//! Bots that talk to the outside: incoming webhooks (`POST /api/v1/external/json`) and
//! outgoing webhooks (tessera POSTs to the bot's endpoint when it is @-mentioned or sent a
//! direct message, and posts the `content` of the reply). Outgoing calls run in their own
//! task: the sender never waits for them; failures are reported in the conversation and to
//! the bot's owner, as Zulip does.

use crate::auth::Principal;
use crate::messages::{Destination, Outgoing};
use crate::{App, AppError, Result};
use serde_json::{Value, json};
use std::time::Duration;
use tessera_core::secrets::Purpose;
use tessera_store::UserRow;

/// Zulip's `OUTGOING_WEBHOOK_TIMEOUT_SECONDS`.
pub const OUTGOING_WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts for a timeout or connection failure (Zulip retries 3 times).
const ATTEMPTS: usize = 4;

enum Failure {
    Status(u16, String),
    Unavailable(String),
    BadResponse(String),
}

impl App {
    /// `POST /api/v1/external/json`: post the JSON payload as a code block.
    pub async fn external_json(
        &self,
        who: &Principal,
        stream: Option<String>,
        topic: Option<String>,
        body: &[u8],
    ) -> Result<()> {
        let payload: Value = serde_json::from_slice(body)
            .ok()
            .filter(Value::is_object)
            .ok_or(AppError::InvalidJson)?;
        let pretty = serde_json::to_string_pretty(&payload)
            .map_err(AppError::failed("formatting a webhook payload"))?;
        let content = format!("```json\n{pretty}\n```");
        let bot = self.user_row(who.user_id.0).await?;
        let to = match stream {
            Some(name) => match name.trim().parse::<i64>() {
                Ok(id) => Destination::Stream {
                    name: None,
                    id: Some(id),
                },
                Err(_) => Destination::Stream {
                    name: Some(name),
                    id: None,
                },
            },
            None => Destination::DirectIds(vec![bot.bot_owner_id.unwrap_or(bot.id)]),
        };
        let out = Outgoing {
            to,
            topic: Some(topic.unwrap_or_else(|| "JSON".into())),
            content,
            client: "ZulipJSONWebhook".into(),
            read_by_sender: true,
            local_id: None,
            sender_queue_id: None,
        };
        match self.send_message(who, out).await {
            Ok(_) => Ok(()),
            // Zulip swallows a missing channel and tells the bot's owner instead.
            Err(AppError::StreamDoesNotExist(channel)) => {
                let what = match channel {
                    crate::ChannelRef::Name(name) => format!(
                        "Your bot `{}` tried to send a message to channel #**{name}**, but that channel does not exist. Click [here](#channels/new) to create it.",
                        bot.email
                    ),
                    crate::ChannelRef::Id(id) => format!(
                        "Your bot `{}` tried to send a message to channel ID {id}, but there is no channel with that ID.",
                        bot.email
                    ),
                };
                self.tell_owner(&bot, what).await;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn tell_owner(&self, bot: &UserRow, content: String) {
        let Some(owner) = bot.bot_owner_id else {
            return;
        };
        let Ok(principal) = self.principal_of(bot).await else {
            return;
        };
        let out = Outgoing {
            to: Destination::DirectIds(vec![owner]),
            topic: None,
            content,
            client: "Internal".into(),
            read_by_sender: true,
            local_id: None,
            sender_queue_id: None,
        };
        if let Err(e) = self.send_message(&principal, out).await {
            tracing::warn!(error = %e, bot = bot.id, "could not notify the bot owner");
        }
    }

    /// Start the outgoing-webhook call for `bot` in the background.
    pub(crate) fn dispatch_outgoing_webhook(
        &self,
        bot: UserRow,
        trigger: &'static str,
        message: Value,
        content: String,
    ) {
        let app = self.clone();
        tokio::spawn(async move {
            if let Err(e) = app
                .run_outgoing_webhook(&bot, trigger, &message, &content)
                .await
            {
                tracing::warn!(error = %e, bot = bot.id, "outgoing webhook failed");
            }
        });
    }

    async fn run_outgoing_webhook(
        &self,
        bot: &UserRow,
        trigger: &str,
        message: &Value,
        content: &str,
    ) -> Result<()> {
        let Some(service) = self.store().service_for(bot.id).await? else {
            return Ok(());
        };
        let token = self
            .secret()
            .open(Purpose::ServiceToken, bot.id, &service.sealed_token())
            .map_err(AppError::failed("opening a service token"))?;
        let request = if service.interface == 2 {
            // Slack-compatible: form fields.
            let is_stream = message["type"] == "stream";
            if !is_stream {
                self.reply_as_bot(
                    bot,
                    message,
                    "Failure! Slack outgoing webhooks don't support direct messages.".into(),
                )
                .await;
                return Ok(());
            }
            let fields = [
                ("token", token.clone()),
                ("team_id", format!("T{}", bot.realm_id)),
                (
                    "team_domain",
                    self.config().site_url.host_str().unwrap_or("").to_owned(),
                ),
                ("channel_id", format!("C{}", message["stream_id"])),
                (
                    "channel_name",
                    message["display_recipient"]
                        .as_str()
                        .unwrap_or("")
                        .to_owned(),
                ),
                ("thread_ts", message["timestamp"].to_string()),
                ("timestamp", message["timestamp"].to_string()),
                ("user_id", format!("U{}", message["sender_id"])),
                (
                    "user_name",
                    message["sender_full_name"]
                        .as_str()
                        .unwrap_or("")
                        .to_owned(),
                ),
                ("text", content.to_owned()),
                ("trigger_word", trigger.to_owned()),
                ("service_id", bot.id.to_string()),
            ];
            self.http().post(&service.base_url).form(&fields)
        } else {
            let payload = json!({
                "data": content,
                "message": message,
                "bot_email": bot.email,
                "bot_full_name": bot.full_name,
                "token": token,
                "trigger": trigger,
            });
            self.http().post(&service.base_url).json(&payload)
        };
        let request = request
            .header(
                "User-Agent",
                format!("ZulipOutgoingWebhook/{}", crate::ZULIP_VERSION),
            )
            .timeout(OUTGOING_WEBHOOK_TIMEOUT);
        let mut outcome = Err(Failure::Unavailable(String::new()));
        for attempt in 0..ATTEMPTS {
            let Some(req) = request.try_clone() else {
                break;
            };
            match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    let body = resp.text().await.unwrap_or_default();
                    outcome = if status.is_success() {
                        Ok(body)
                    } else {
                        Err(Failure::Status(status.as_u16(), body))
                    };
                    break;
                }
                Err(e) => {
                    let why = if e.is_timeout() {
                        format!(
                            "Request timed out after {} seconds.",
                            OUTGOING_WEBHOOK_TIMEOUT.as_secs()
                        )
                    } else {
                        "A connection error occurred. Is my bot server down?".to_owned()
                    };
                    outcome = Err(Failure::Unavailable(why));
                    if attempt + 1 < ATTEMPTS {
                        tokio::time::sleep(Duration::from_millis(200 * (attempt as u64 + 1))).await;
                    }
                }
            }
        }
        let reply = match outcome {
            Ok(body) => match parse_reply(&body, service.interface) {
                Ok(reply) => reply,
                Err(msg) => {
                    self.reply_as_bot(bot, message, format!("Failure! {msg}"))
                        .await;
                    self.report_failure(bot, message, Failure::BadResponse(msg))
                        .await;
                    return Ok(());
                }
            },
            Err(f) => {
                let text = match &f {
                    Failure::Status(code, _) => {
                        format!("Failure! Third party responded with {code}")
                    }
                    _ => "Failure! Bot is unavailable".to_owned(),
                };
                self.reply_as_bot(bot, message, text).await;
                self.report_failure(bot, message, f).await;
                return Ok(());
            }
        };
        if let Some(text) = reply {
            self.reply_as_bot(bot, message, text).await;
        }
        Ok(())
    }

    async fn report_failure(&self, bot: &UserRow, message: &Value, f: Failure) {
        let realm_url = self.realm_url(message["sender_realm_str"].as_str().unwrap_or(""));
        let link = format!("{realm_url}/#narrow/near/{}", message["id"]);
        let mut text = format!(
            "[A message]({link}) to your bot @_**{}** triggered an outgoing webhook.",
            bot.full_name
        );
        match f {
            Failure::Status(code, body) => {
                text.push_str(&format!("\nThe webhook got a response with status code *{code}*."));
                if !body.is_empty() {
                    text.push_str(&format!("\nThe response contains the following payload:\n```\n{body}\n```"));
                }
            }
            Failure::Unavailable(why) => {
                text.push('\n');
                text.push_str(&why);
            }
            Failure::BadResponse(msg) => text.push_str(&format!(
                "\nThe outgoing webhook server attempted to send a message in Zulip, but that request resulted in the following error:\n> {msg}"
            )),
        }
        self.tell_owner(bot, text).await;
    }

    /// Post `content` as the bot, where the triggering message was.
    async fn reply_as_bot(&self, bot: &UserRow, message: &Value, content: String) {
        let Ok(principal) = self.principal_of(bot).await else {
            return;
        };
        let to = if message["type"] == "stream" {
            Destination::Stream {
                name: None,
                id: message["stream_id"].as_i64(),
            }
        } else {
            Destination::DirectIds(
                message["display_recipient"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|r| r["id"].as_i64()).collect())
                    .unwrap_or_default(),
            )
        };
        let out = Outgoing {
            to,
            topic: message["subject"].as_str().map(str::to_owned),
            content,
            client: "OutgoingWebhookResponse".into(),
            read_by_sender: true,
            local_id: None,
            sender_queue_id: None,
        };
        if let Err(e) = self.send_message(&principal, out).await {
            tracing::warn!(error = %e, bot = bot.id, "could not post the webhook's reply");
        }
    }
}

/// Zulip's handling of a 2xx reply: `None` = nothing to post.
fn parse_reply(body: &str, interface: i64) -> std::result::Result<Option<String>, String> {
    if body.trim().is_empty() {
        return Ok(None);
    }
    let v: Value = serde_json::from_str(body).map_err(|_| "Invalid JSON in response".to_owned())?;
    let Some(map) = v.as_object() else {
        return Err("Invalid response format".into());
    };
    if interface == 2 {
        return Ok(map
            .get("text")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .filter(|s| !s.trim().is_empty()));
    }
    if map.get("response_not_required").and_then(Value::as_bool) == Some(true) {
        return Ok(None);
    }
    let content = map
        .get("content")
        .or_else(|| map.get("response_string"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .filter(|s| !s.trim().is_empty());
    Ok(content)
}

#[cfg(test)]
mod tests {
    use super::parse_reply;

    #[test]
    fn replies() {
        assert_eq!(parse_reply("", 1), Ok(None));
        assert_eq!(
            parse_reply(r#"{"content":"pong"}"#, 1),
            Ok(Some("pong".into()))
        );
        assert_eq!(
            parse_reply(r#"{"response_string":"old"}"#, 1),
            Ok(Some("old".into()))
        );
        assert_eq!(
            parse_reply(r#"{"response_not_required":true,"content":"x"}"#, 1),
            Ok(None)
        );
        assert_eq!(parse_reply(r#"{"content":"  "}"#, 1), Ok(None));
        assert_eq!(parse_reply("[1]", 1), Err("Invalid response format".into()));
        assert_eq!(
            parse_reply("nope", 1),
            Err("Invalid JSON in response".into())
        );
        assert_eq!(
            parse_reply(r#"{"text":"slack"}"#, 2),
            Ok(Some("slack".into()))
        );
    }
}
