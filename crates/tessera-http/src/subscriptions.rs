//! `/users/me/subscriptions/properties`, `PATCH /users/me/subscriptions` and
//! `/users/{user_id}/subscriptions/{stream_id}`.

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use axum::extract::Path;
use axum::extract::State;
use axum::response::Response;
use serde_json::{Map, Value, json};
use tessera_app::{App, SubscribeRequest, SubscriptionData, is_hex_color};

/// POST /api/v1/users/me/subscriptions/properties (also /json) — change settings of the
/// caller's subscriptions: `subscription_data`, a JSON list of
/// `{"stream_id", "property", "value"}`.
pub async fn post_subscription_properties(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let raw = params
        .raw("subscription_data")
        .ok_or_else(|| ApiError::missing("subscription_data"))?;
    let list = match tessera_core::wire::json_value(&raw) {
        Ok(Value::Array(items)) => items,
        Ok(_) => return Err(ApiError::bad_request("subscription_data is not a list")),
        Err(_) => {
            return Err(ApiError::bad_request(
                "Argument \"subscription_data\" is not valid JSON.",
            ));
        }
    };
    let mut items = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let var = format!("subscription_data[{i}]");
        let map = item
            .as_object()
            .ok_or_else(|| ApiError::bad_request(format!("{var} is not a dict")))?;
        let field = |key: &str| {
            map.get(key)
                .ok_or_else(|| ApiError::bad_request(format!("{key} key is missing from {var}")))
        };
        let stream_id = field("stream_id")?.as_i64().ok_or_else(|| {
            ApiError::bad_request(format!("{var}[\"stream_id\"] is not an integer"))
        })?;
        let property = field("property")?
            .as_str()
            .ok_or_else(|| ApiError::bad_request(format!("{var}[\"property\"] is not a string")))?;
        let value = field("value")?;
        if !(value.is_boolean() || value.is_string()) {
            return Err(ApiError::bad_request(format!(
                "{var}[\"value\"] is not an allowed_type"
            )));
        }
        items.push(SubscriptionData {
            stream_id,
            property: property.to_owned(),
            value: value.clone(),
        });
    }
    app.change_subscription_properties(&who, &items).await?;
    Ok(params.success(json!({})))
}

/// PATCH /api/v1/users/me/subscriptions (also /json) — subscribe to the channels of `add`
/// (`[{"name", "color"?, "description"?}]`) and unsubscribe from those named in `delete`,
/// in one call; the answer merges those of POST and DELETE.
pub async fn patch_subscriptions(
    State(app): State<App>,
    Caller(who): Caller,
    mut params: Params,
) -> ApiResult<Response> {
    let delete: Vec<String> = match params.json_value("delete")? {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| ApiError::bad_request(format!("delete[{i}] is not a string")))
            })
            .collect::<ApiResult<_>>()?,
        Some(_) => return Err(ApiError::bad_request("delete is not a list")),
    };
    let mut add = Vec::new();
    match params.json_value("add")? {
        None => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let map = item
                    .as_object()
                    .ok_or_else(|| ApiError::bad_request(format!("add[{i}] is not a dict")))?;
                if let Some(k) = map
                    .keys()
                    .find(|k| !matches!(k.as_str(), "name" | "color" | "description"))
                {
                    return Err(ApiError::bad_request(format!("Unexpected arguments: {k}")));
                }
                let name = map
                    .get("name")
                    .ok_or_else(|| {
                        ApiError::bad_request(format!("name key is missing from add[{i}]"))
                    })?
                    .as_str()
                    .ok_or_else(|| {
                        ApiError::bad_request(format!("add[{i}][\"name\"] is not a string"))
                    })?;
                let color = match map.get("color") {
                    None => None,
                    Some(Value::String(c)) if is_hex_color(c) => Some(c.clone()),
                    Some(_) => {
                        return Err(ApiError::bad_request(format!(
                            "add[{i}][\"color\"] is not a valid hex color code"
                        )));
                    }
                };
                let description = map
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .replace('\n', " ");
                add.push((name.trim().to_owned(), description, color));
            }
        }
        Some(_) => return Err(ApiError::bad_request("add is not a list")),
    }
    if add.is_empty() && delete.is_empty() {
        return Err(ApiError::bad_request(
            "Nothing to do. Specify at least one of \"add\" or \"delete\".",
        ));
    }
    who.require_member_or_admin()?;
    // Zulip runs both halves in one transaction; checking the channels to leave first keeps
    // a refused call from subscribing anyone.
    app.existing_channels(&who, &delete).await?;
    let fatal = params
        .json_bool("authorization_errors_fatal")?
        .unwrap_or(true);
    let invite_only = params.json_bool("invite_only")?.unwrap_or(false);
    let _ = params.json_bool("announce")?;
    let as_map = |list: &[(i64, Vec<String>)]| {
        let mut m = Map::new();
        for (id, names) in list {
            m.insert(id.to_string(), json!(names));
        }
        Value::Object(m)
    };
    let mut data = json!({"subscribed": {}, "already_subscribed": {}});
    let mut unauthorized = Vec::new();
    if !add.is_empty() {
        let req = SubscribeRequest {
            names: add.iter().map(|(n, d, _)| (n.clone(), d.clone())).collect(),
            principals: None,
            invite_only,
            authorization_errors_fatal: fatal,
        };
        let result = app.subscribe(&who, req).await?;
        let colors: Vec<(String, String)> = add
            .iter()
            .filter_map(|(n, _, c)| c.clone().map(|c| (n.clone(), c)))
            .collect();
        app.apply_subscription_colors(&who, &colors).await?;
        data["subscribed"] = as_map(&result.subscribed);
        data["already_subscribed"] = as_map(&result.already_subscribed);
        unauthorized = result.unauthorized;
    }
    let (removed, not_removed) = if delete.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        app.unsubscribe(&who, &delete, None).await?
    };
    data["removed"] = json!(removed);
    data["not_removed"] = json!(not_removed);
    if !fatal {
        data["unauthorized"] = json!(unauthorized);
    }
    Ok(params.success(data))
}

/// GET /api/v1/users/{user_id}/subscriptions/{stream_id} (also /json) — whether a user is
/// subscribed to a channel (`is_subscribed`).
pub async fn get_subscription_status(
    State(app): State<App>,
    Caller(who): Caller,
    Path((user_id, stream_id)): Path<(String, String)>,
    params: Params,
) -> ApiResult<Response> {
    let user_id = crate::users::path_id(&user_id)?;
    let stream_id = crate::users::path_id(&stream_id)?;
    let subscribed = app.subscription_status(&who, user_id, stream_id).await?;
    Ok(params.success(json!({ "is_subscribed": subscribed })))
}
