-- Channels, subscriptions, messages and what hangs off them. Keep in step with
-- ../postgres/0003_messaging.sql.
CREATE TABLE streams (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    realm_id     BIGINT  NOT NULL REFERENCES realms (id),
    name         TEXT    NOT NULL,
    name_lower   TEXT    NOT NULL,
    description  TEXT    NOT NULL DEFAULT '',
    invite_only  BOOLEAN NOT NULL DEFAULT FALSE,
    is_default   BOOLEAN NOT NULL DEFAULT FALSE,
    creator_id   BIGINT REFERENCES users (id),
    date_created BIGINT  NOT NULL,
    UNIQUE (realm_id, name_lower)
);

CREATE TABLE subscriptions (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id   BIGINT  NOT NULL REFERENCES users (id),
    stream_id BIGINT  NOT NULL REFERENCES streams (id),
    active    BOOLEAN NOT NULL DEFAULT TRUE,
    color     TEXT    NOT NULL,
    UNIQUE (user_id, stream_id)
);
CREATE INDEX subscriptions_stream ON subscriptions (stream_id);

-- A direct-message conversation: the sorted member ids, e.g. "3,7" (one id for a note to self).
CREATE TABLE dm_groups (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    realm_id    BIGINT NOT NULL REFERENCES realms (id),
    members_key TEXT   NOT NULL,
    UNIQUE (realm_id, members_key)
);

-- recipient_type: Zulip's Recipient types (1 personal, 2 stream, 3 group DM); recipient_id
-- is the stream id or the dm_groups id.
CREATE TABLE messages (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    realm_id         BIGINT NOT NULL REFERENCES realms (id),
    sender_id        BIGINT NOT NULL REFERENCES users (id),
    recipient_type   BIGINT NOT NULL,
    recipient_id     BIGINT NOT NULL,
    topic            TEXT   NOT NULL DEFAULT '',
    content          TEXT   NOT NULL,
    rendered_content TEXT   NOT NULL,
    date_sent        BIGINT NOT NULL,
    last_edit_time   BIGINT,
    sending_client   TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX messages_recipient ON messages (recipient_type, recipient_id, id);

-- flags: bit 0 read, 1 starred, 3 mentioned, 4 wildcard mentioned (Zulip's bit numbers).
CREATE TABLE user_messages (
    user_id    BIGINT NOT NULL REFERENCES users (id),
    message_id BIGINT NOT NULL REFERENCES messages (id),
    flags      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, message_id)
);
CREATE INDEX user_messages_message ON user_messages (message_id);

CREATE TABLE reactions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id    BIGINT NOT NULL REFERENCES messages (id),
    user_id       BIGINT NOT NULL REFERENCES users (id),
    emoji_name    TEXT   NOT NULL,
    emoji_code    TEXT   NOT NULL,
    reaction_type TEXT   NOT NULL,
    UNIQUE (message_id, user_id, emoji_code, reaction_type)
);

CREATE TABLE bot_storage (
    bot_id BIGINT NOT NULL REFERENCES users (id),
    key    TEXT   NOT NULL,
    value  TEXT   NOT NULL,
    PRIMARY KEY (bot_id, key)
);
