-- What clients keep on the server between sessions: per-subscription settings, channel
-- settings that administrators change, drafts, user status, topic visibility, message edit
-- history and uploaded files. Keep in step with ../postgres/0008_client_state.sql.
ALTER TABLE subscriptions ADD COLUMN is_muted BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE subscriptions ADD COLUMN pin_to_top BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE subscriptions ADD COLUMN desktop_notifications BOOLEAN;
ALTER TABLE subscriptions ADD COLUMN audible_notifications BOOLEAN;
ALTER TABLE subscriptions ADD COLUMN push_notifications BOOLEAN;
ALTER TABLE subscriptions ADD COLUMN email_notifications BOOLEAN;
ALTER TABLE subscriptions ADD COLUMN wildcard_mentions_notify BOOLEAN;

-- deactivated: archived with DELETE /streams/{id}; history_public_to_subscribers and
-- stream_post_policy as Zulip's columns; message_retention_days NULL = the realm's.
ALTER TABLE streams ADD COLUMN deactivated BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE streams ADD COLUMN history_public_to_subscribers BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE streams ADD COLUMN stream_post_policy BIGINT NOT NULL DEFAULT 1;
ALTER TABLE streams ADD COLUMN message_retention_days BIGINT;
-- NULL: the organization's role:administrators group (Zulip's default).
ALTER TABLE streams ADD COLUMN can_remove_subscribers_group BIGINT;

-- kind: '' (no recipient yet), 'stream' or 'private'; recipients: JSON list of ids.
CREATE TABLE drafts (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id        BIGINT NOT NULL REFERENCES users (id),
    kind           TEXT   NOT NULL,
    recipients     TEXT   NOT NULL,
    topic          TEXT   NOT NULL,
    content        TEXT   NOT NULL,
    last_edit_time BIGINT NOT NULL
);
CREATE INDEX drafts_user ON drafts (user_id, id);

CREATE TABLE user_status (
    user_id       BIGINT PRIMARY KEY REFERENCES users (id),
    status_text   TEXT   NOT NULL DEFAULT '',
    emoji_name    TEXT   NOT NULL DEFAULT '',
    emoji_code    TEXT   NOT NULL DEFAULT '',
    reaction_type TEXT   NOT NULL DEFAULT 'unicode_emoji',
    updated       BIGINT NOT NULL
);

-- visibility_policy: Zulip's (1 muted, 2 unmuted, 3 followed); a row with 0 is deleted.
CREATE TABLE user_topics (
    user_id           BIGINT NOT NULL REFERENCES users (id),
    stream_id         BIGINT NOT NULL REFERENCES streams (id),
    topic_name        TEXT   NOT NULL,
    topic_lower       TEXT   NOT NULL,
    visibility_policy BIGINT NOT NULL,
    last_updated      BIGINT NOT NULL,
    PRIMARY KEY (user_id, stream_id, topic_lower)
);

-- One row per edit; prev_* what the edit replaced (NULL: that part was not changed).
CREATE TABLE message_edits (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id            BIGINT NOT NULL REFERENCES messages (id),
    user_id               BIGINT NOT NULL REFERENCES users (id),
    edited_at             BIGINT NOT NULL,
    prev_content          TEXT,
    prev_rendered_content TEXT,
    prev_topic            TEXT,
    topic                 TEXT,
    prev_stream           BIGINT,
    stream                BIGINT
);
CREATE INDEX message_edits_message ON message_edits (message_id, id);

-- Uploaded files, bytes included, so every node behind one PostgreSQL serves them.
CREATE TABLE attachments (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    realm_id     BIGINT NOT NULL REFERENCES realms (id),
    owner_id     BIGINT NOT NULL REFERENCES users (id),
    path_id      TEXT   NOT NULL UNIQUE,
    file_name    TEXT   NOT NULL,
    content_type TEXT   NOT NULL,
    size         BIGINT NOT NULL,
    create_time  BIGINT NOT NULL,
    content      BLOB   NOT NULL
);

CREATE TABLE attachment_messages (
    attachment_id BIGINT NOT NULL REFERENCES attachments (id),
    message_id    BIGINT NOT NULL REFERENCES messages (id),
    PRIMARY KEY (attachment_id, message_id)
);
CREATE INDEX attachment_messages_message ON attachment_messages (message_id);

-- Mentions find people by name (`@**Full Name**`) without reading the whole realm.
CREATE INDEX users_full_name_lower ON users (realm_id, LOWER(full_name));
CREATE INDEX users_full_name ON users (realm_id, full_name);
