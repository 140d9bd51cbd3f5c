//! `bots`, `bots/{bot_id}`, `bots/{bot_id}/api_key`, `bots/{bot_id}/api_key/regenerate`,
//! `bots/{bot_id}/zuliprc`. Bot keys never appear in list payloads (decisions D2, D5).

use crate::auth::Caller;
use crate::error::ApiResult;
use crate::params::Params;
use crate::users::path_id;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tessera_app::{App, BotPatch, BotView, NewBot};

fn bot_list_entry(app: &App, bot: &BotView) -> Value {
    json!({
        "username": bot.user.email,
        "full_name": bot.user.full_name,
        "avatar_url": app.avatar_url(&bot.user),
        "default_sending_stream": null,
        "default_events_register_stream": null,
        "default_all_public_streams": false,
    })
}

/// GET /api/v1/bots (also /json) — the caller's own active bots, without keys.
pub async fn get_bots(
    State(app): State<App>,
    Caller(who): Caller,
    params: Params,
) -> ApiResult<Response> {
    let bots = app.list_own_bots(&who).await?;
    let list: Vec<Value> = bots.iter().map(|b| bot_list_entry(&app, b)).collect();
    Ok(params.success(json!({ "bots": list })))
}

/// POST /api/v1/bots (also /json) — create a bot owned by the caller.
pub async fn post_bots(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let full_name = params.required("full_name")?;
    let short_name = params.required("short_name")?;
    let bot_type = params.json_int("bot_type")?.unwrap_or(1);
    let payload_url = params.json_string("payload_url")?.unwrap_or_default();
    let interface_type = params.json_int("interface_type")?.unwrap_or(1);
    let service_name = params.optional("service_name");
    // Accepted for compatibility; channels arrive with the messaging core.
    let _ = params.optional("config_data");
    let _ = params.optional("default_sending_stream");
    let _ = params.optional("default_events_register_stream");
    let _ = params.json_bool("default_all_public_streams")?;
    let new = NewBot {
        full_name,
        short_name,
        bot_type,
        payload_url,
        interface_type,
        service_name,
    };
    let (bot, key) = app.create_bot(&who, new).await?;
    Ok(params.success(json!({
        "user_id": bot.id,
        "api_key": key.expose(),
        "avatar_url": app.avatar_url(&bot),
        "default_sending_stream": null,
        "default_events_register_stream": null,
        "default_all_public_streams": false,
    })))
}

/// PATCH /api/v1/bots/{bot_id} (also /json) — rename, change owner or role, change the
/// outgoing-webhook service.
pub async fn patch_bot(
    State(app): State<App>,
    Caller(who): Caller,
    Path(bot_id): Path<String>,
    mut params: Params,
) -> ApiResult<Response> {
    let id = path_id(&bot_id)?;
    let patch = BotPatch {
        full_name: params.optional("full_name"),
        role: params.json_int("role")?,
        bot_owner_id: params.json_int("bot_owner_id")?,
        service_payload_url: params.json_string("service_payload_url")?,
        service_interface: params.json_int("service_interface")?,
    };
    let config_data = params.optional("config_data");
    let _ = params.optional("default_sending_stream");
    let _ = params.optional("default_events_register_stream");
    let _ = params.json_bool("default_all_public_streams")?;
    let requested_url = patch.service_payload_url.clone();
    let bot = app.patch_bot(&who, id, patch).await?;
    let mut data = json!({
        "full_name": bot.user.full_name,
        "avatar_url": app.avatar_url(&bot.user),
        "service_interface": bot.service_interface.unwrap_or(1),
        "service_payload_url": requested_url,
        "config_data": config_data.and_then(|c| serde_json::from_str::<Value>(&c).ok()),
        "default_sending_stream": null,
        "default_events_register_stream": null,
        "default_all_public_streams": false,
    });
    if let (Some(owner), Some(map)) = (bot.owner_email, data.as_object_mut()) {
        map.insert("bot_owner".into(), json!(owner));
    }
    Ok(params.success(data))
}

/// DELETE /api/v1/bots/{bot_id} (also /json) — deactivate the bot.
pub async fn delete_bot(
    State(app): State<App>,
    Caller(who): Caller,
    Path(bot_id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    app.deactivate_bot(&who, path_id(&bot_id)?).await?;
    Ok(params.success(json!({})))
}

/// GET /api/v1/bots/{bot_id}/api_key (also /json) — the bot's key, for its owner (and
/// administrators, for generic bots).
pub async fn get_bot_api_key(
    State(app): State<App>,
    Caller(who): Caller,
    Path(bot_id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let key = app.bot_api_key(&who, path_id(&bot_id)?).await?;
    Ok(params.success(json!({ "api_key": key.expose() })))
}

/// POST /api/v1/bots/{bot_id}/api_key/regenerate (also /json) — rotate a bot's key; the new
/// key is returned only to someone who may see it. tessera's own `overlap_seconds` (0, the
/// default, to 86400) keeps the old key working until then or until the new key is first
/// used.
pub async fn post_regenerate_bot_key(
    State(app): State<App>,
    Caller(who): Caller,
    Path(bot_id): Path<String>,
    mut params: Params,
) -> ApiResult<Response> {
    let overlap = params.json_int("overlap_seconds")?.unwrap_or(0);
    let key = app
        .regenerate_bot_api_key(&who, path_id(&bot_id)?, overlap)
        .await?;
    Ok(params.success(match key {
        Some(k) => json!({ "api_key": k.expose() }),
        None => json!({}),
    }))
}

/// GET /api/v1/bots/{bot_id}/zuliprc (also /json; tessera's own) — the bot's `zuliprc` as a
/// download named `zuliprc`, under the same rule as its key.
pub async fn get_bot_zuliprc(
    State(app): State<App>,
    Caller(who): Caller,
    Path(bot_id): Path<String>,
) -> ApiResult<Response> {
    let text = app.bot_zuliprc(&who, path_id(&bot_id)?).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"zuliprc\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response())
}
