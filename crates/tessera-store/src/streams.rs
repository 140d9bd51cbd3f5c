//! Channels (Zulip's streams) and subscriptions.

use crate::{Result, Store, StoreError, with_pool, with_writer};

/// One channel.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StreamRow {
    pub id: i64,
    pub realm_id: i64,
    pub name: String,
    pub description: String,
    pub invite_only: bool,
    pub is_default: bool,
    pub creator_id: Option<i64>,
    pub date_created: i64,
    pub deactivated: bool,
    pub history_public_to_subscribers: bool,
    pub stream_post_policy: i64,
    pub message_retention_days: Option<i64>,
    pub can_remove_subscribers_group: Option<i64>,
}

/// One subscription, with its channel.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SubscriptionRow {
    pub user_id: i64,
    pub active: bool,
    #[sqlx(flatten)]
    pub settings: SubscriptionSettings,
    #[sqlx(flatten)]
    pub stream: StreamRow,
}

/// A subscriber's own settings for a channel, stored as Zulip names them; the subscription
/// object on the wire carries them under these names (so they are defined once, here).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct SubscriptionSettings {
    pub color: String,
    pub is_muted: bool,
    pub pin_to_top: bool,
    pub desktop_notifications: Option<bool>,
    pub audible_notifications: Option<bool>,
    pub push_notifications: Option<bool>,
    pub email_notifications: Option<bool>,
    pub wildcard_mentions_notify: Option<bool>,
}

/// A channel to create.
#[derive(Debug, Clone)]
pub struct NewStream<'a> {
    pub realm_id: i64,
    pub name: &'a str,
    pub description: &'a str,
    pub invite_only: bool,
    pub is_default: bool,
    pub creator_id: Option<i64>,
    pub now: i64,
}

const STREAM_COLS: &str = "s.id, s.realm_id, s.name, s.description, s.invite_only, s.is_default, \
    s.creator_id, s.date_created, s.deactivated, s.history_public_to_subscribers, \
    s.stream_post_policy, s.message_retention_days, s.can_remove_subscribers_group";

const SUB_COLS: &str = "sub.user_id, sub.active, sub.color, sub.is_muted, sub.pin_to_top, \
    sub.desktop_notifications, sub.audible_notifications, sub.push_notifications, \
    sub.email_notifications, sub.wildcard_mentions_notify";

/// A change to a channel (`PATCH /streams/{id}`): `None` leaves that part as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamChange {
    pub name: Option<String>,
    pub description: Option<String>,
    pub invite_only: Option<bool>,
    pub history_public_to_subscribers: Option<bool>,
    pub is_default: Option<bool>,
    pub stream_post_policy: Option<i64>,
    /// `Some(None)`: back to the organization's retention.
    pub message_retention_days: Option<Option<i64>>,
    pub can_remove_subscribers_group: Option<i64>,
}

/// The per-subscription settings of `POST /users/me/subscriptions/properties`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionProperty {
    Color,
    IsMuted,
    PinToTop,
    DesktopNotifications,
    AudibleNotifications,
    PushNotifications,
    EmailNotifications,
    WildcardMentionsNotify,
}

impl SubscriptionProperty {
    fn column(self) -> &'static str {
        match self {
            Self::Color => "color",
            Self::IsMuted => "is_muted",
            Self::PinToTop => "pin_to_top",
            Self::DesktopNotifications => "desktop_notifications",
            Self::AudibleNotifications => "audible_notifications",
            Self::PushNotifications => "push_notifications",
            Self::EmailNotifications => "email_notifications",
            Self::WildcardMentionsNotify => "wildcard_mentions_notify",
        }
    }
}

/// A value for a subscription property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertyValue {
    Text(String),
    Bool(bool),
}

impl Store {
    /// Create a channel; `Conflict` if the name is taken in the realm (case-insensitively).
    pub async fn create_stream(&self, new: &NewStream<'_>) -> Result<StreamRow> {
        Ok(with_writer!(self, pool => {
            sqlx::query_as::<_, StreamRow>(
                "INSERT INTO streams (realm_id, name, name_lower, description, invite_only, is_default, creator_id, date_created) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 RETURNING id, realm_id, name, description, invite_only, is_default, creator_id, \
                 date_created, deactivated, history_public_to_subscribers, stream_post_policy, \
                 message_retention_days, can_remove_subscribers_group",
            )
            .bind(new.realm_id)
            .bind(new.name)
            .bind(new.name.to_lowercase())
            .bind(new.description)
            .bind(new.invite_only)
            .bind(new.is_default)
            .bind(new.creator_id)
            .bind(new.now)
            .fetch_one(pool)
            .await?
        }))
    }

    /// A channel of a realm by name (case-insensitive).
    pub async fn stream_by_name(&self, realm_id: i64, name: &str) -> Result<Option<StreamRow>> {
        let sql = format!(
            "SELECT {STREAM_COLS} FROM streams s WHERE s.realm_id = $1 AND s.name_lower = $2"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, StreamRow>(&sql)
                .bind(realm_id)
                .bind(name.to_lowercase())
                .fetch_optional(pool)
                .await?
        }))
    }

    /// A channel by id (any realm; callers check the realm).
    pub async fn stream_by_id(&self, id: i64) -> Result<Option<StreamRow>> {
        let sql = format!("SELECT {STREAM_COLS} FROM streams s WHERE s.id = $1");
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, StreamRow>(&sql).bind(id).fetch_optional(pool).await?
        }))
    }

    /// Every channel of a realm, by name.
    pub async fn streams_in_realm(&self, realm_id: i64) -> Result<Vec<StreamRow>> {
        let sql = format!(
            "SELECT {STREAM_COLS} FROM streams s WHERE s.realm_id = $1 AND NOT s.deactivated \
             ORDER BY s.name_lower"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, StreamRow>(&sql).bind(realm_id).fetch_all(pool).await?
        }))
    }

    /// A user's subscriptions (active and past) to live channels, by channel name.
    pub async fn subscriptions_of(&self, user_id: i64) -> Result<Vec<SubscriptionRow>> {
        let sql = format!(
            "SELECT {SUB_COLS}, {STREAM_COLS} FROM subscriptions sub \
             JOIN streams s ON s.id = sub.stream_id WHERE sub.user_id = $1 AND NOT s.deactivated \
             ORDER BY s.name_lower"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, SubscriptionRow>(&sql).bind(user_id).fetch_all(pool).await?
        }))
    }

    /// The active subscribers of a channel (user ids, ascending).
    pub async fn subscriber_ids(&self, stream_id: i64) -> Result<Vec<i64>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, (i64,)>(
                "SELECT sub.user_id FROM subscriptions sub JOIN users u ON u.id = sub.user_id \
                 WHERE sub.stream_id = $1 AND sub.active AND u.is_active ORDER BY sub.user_id",
            )
            .bind(stream_id)
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|(id,)| id)
            .collect()
        }))
    }

    /// Whether the user has an active subscription to the channel.
    pub async fn is_subscribed(&self, user_id: i64, stream_id: i64) -> Result<bool> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, (i64,)>(
                "SELECT user_id FROM subscriptions WHERE user_id = $1 AND stream_id = $2 AND active",
            )
            .bind(user_id)
            .bind(stream_id)
            .fetch_optional(pool)
            .await?
            .is_some()
        }))
    }

    /// Subscribe (or re-activate). Returns `false` if already actively subscribed. `color` is
    /// used for a first subscription; a returning subscriber keeps their colour.
    pub async fn subscribe(&self, user_id: i64, stream_id: i64, color: &str) -> Result<bool> {
        let n = with_writer!(self, pool => {
            sqlx::query(
                "INSERT INTO subscriptions (user_id, stream_id, active, color) VALUES ($1, $2, TRUE, $3) \
                 ON CONFLICT (user_id, stream_id) DO UPDATE SET active = TRUE \
                 WHERE subscriptions.active = FALSE",
            )
            .bind(user_id)
            .bind(stream_id)
            .bind(color)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n > 0)
    }

    /// Unsubscribe; `false` if there was no active subscription.
    pub async fn unsubscribe(&self, user_id: i64, stream_id: i64) -> Result<bool> {
        let n = with_writer!(self, pool => {
            sqlx::query(
                "UPDATE subscriptions SET active = FALSE WHERE user_id = $1 AND stream_id = $2 AND active",
            )
            .bind(user_id)
            .bind(stream_id)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n > 0)
    }

    /// How many subscriptions (ever) a user has: picks the next colour.
    pub async fn subscription_count(&self, user_id: i64) -> Result<i64> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, (i64,)>("SELECT COUNT(*) FROM subscriptions WHERE user_id = $1")
                .bind(user_id)
                .fetch_one(pool)
                .await?
                .0
        }))
    }

    /// The realm's default channels.
    pub async fn default_streams(&self, realm_id: i64) -> Result<Vec<StreamRow>> {
        let sql = format!(
            "SELECT {STREAM_COLS} FROM streams s WHERE s.realm_id = $1 AND s.is_default \
             AND NOT s.deactivated ORDER BY s.name_lower"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, StreamRow>(&sql).bind(realm_id).fetch_all(pool).await?
        }))
    }

    /// One subscription (active or past) of a user.
    pub async fn subscription(
        &self,
        user_id: i64,
        stream_id: i64,
    ) -> Result<Option<SubscriptionRow>> {
        let sql = format!(
            "SELECT {SUB_COLS}, {STREAM_COLS} FROM subscriptions sub \
             JOIN streams s ON s.id = sub.stream_id WHERE sub.user_id = $1 AND sub.stream_id = $2"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as::<_, SubscriptionRow>(&sql)
                .bind(user_id)
                .bind(stream_id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Set per-subscription settings of a user's active subscriptions, all or none;
    /// `NotFound` (and nothing changed) if one of them is not an active subscription.
    pub async fn set_subscription_properties(
        &self,
        user_id: i64,
        changes: &[(i64, SubscriptionProperty, PropertyValue)],
    ) -> Result<()> {
        with_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            for (stream_id, property, value) in changes {
                let sql = format!(
                    "UPDATE subscriptions SET {} = $1 WHERE user_id = $2 AND stream_id = $3 AND active",
                    property.column()
                );
                let q = sqlx::query(&sql);
                let q = match value {
                    PropertyValue::Text(t) => q.bind(t.clone()),
                    PropertyValue::Bool(b) => q.bind(*b),
                };
                let n = q.bind(user_id).bind(stream_id).execute(&mut *tx).await?.rows_affected();
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Change a channel; `Conflict` if the new name is taken.
    pub async fn update_stream(&self, id: i64, c: &StreamChange) -> Result<StreamRow> {
        let retention_set = c.message_retention_days.is_some();
        let retention = c.message_retention_days.flatten();
        let lower = c.name.as_ref().map(|n| n.to_lowercase());
        let sql = format!(
            "UPDATE streams SET name = COALESCE($1, name), name_lower = COALESCE($2, name_lower), \
             description = COALESCE($3, description), invite_only = COALESCE($4, invite_only), \
             history_public_to_subscribers = COALESCE($5, history_public_to_subscribers), \
             is_default = COALESCE($6, is_default), \
             stream_post_policy = COALESCE($7, stream_post_policy), \
             message_retention_days = CASE WHEN $8 THEN $9 ELSE message_retention_days END, \
             can_remove_subscribers_group = COALESCE($11, can_remove_subscribers_group) \
             WHERE id = $10 RETURNING {}",
            STREAM_COLS.replace("s.", "")
        );
        Ok(with_writer!(self, pool => {
            sqlx::query_as::<_, StreamRow>(&sql)
                .bind(&c.name)
                .bind(&lower)
                .bind(&c.description)
                .bind(c.invite_only)
                .bind(c.history_public_to_subscribers)
                .bind(c.is_default)
                .bind(c.stream_post_policy)
                .bind(retention_set)
                .bind(retention)
                .bind(id)
                .bind(c.can_remove_subscribers_group)
                .fetch_optional(pool)
                .await?
                .ok_or(StoreError::NotFound)?
        }))
    }

    /// Archive a channel under a new name: no longer listed, private, not a default channel,
    /// every subscription ended. The subscribers it had.
    pub async fn deactivate_stream(&self, id: i64, new_name: &str) -> Result<Vec<i64>> {
        Ok(with_writer!(self, pool => {
            let mut tx = pool.begin().await?;
            let n = sqlx::query(
                "UPDATE streams SET deactivated = TRUE, is_default = FALSE, invite_only = TRUE, \
                 name = $2, name_lower = $3 WHERE id = $1 AND NOT deactivated",
            )
            .bind(id)
            .bind(new_name)
            .bind(new_name.to_lowercase())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            let users: Vec<(i64,)> = sqlx::query_as(
                "UPDATE subscriptions SET active = FALSE WHERE stream_id = $1 AND active RETURNING user_id",
            )
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            let mut users: Vec<i64> = users.into_iter().map(|(u,)| u).collect();
            users.sort_unstable();
            users
        }))
    }

    /// Find or create the DM conversation with exactly these members; returns its id.
    pub async fn dm_group(&self, realm_id: i64, members: &[i64]) -> Result<i64> {
        let mut ids = members.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let key = ids
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",");
        with_writer!(self, pool => {
            sqlx::query(
                "INSERT INTO dm_groups (realm_id, members_key) VALUES ($1, $2) \
                 ON CONFLICT (realm_id, members_key) DO NOTHING",
            )
            .bind(realm_id)
            .bind(&key)
            .execute(pool)
            .await?;
            let (id,): (i64,) = sqlx::query_as(
                "SELECT id FROM dm_groups WHERE realm_id = $1 AND members_key = $2",
            )
            .bind(realm_id)
            .bind(&key)
            .fetch_one(pool)
            .await?;
            Ok(id)
        })
    }

    /// The members of a DM conversation.
    pub async fn dm_group_members(&self, id: i64) -> Result<Vec<i64>> {
        let key: Option<(String,)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT members_key FROM dm_groups WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        let (key,) = key.ok_or(StoreError::NotFound)?;
        Ok(key.split(',').filter_map(|s| s.parse().ok()).collect())
    }
}
