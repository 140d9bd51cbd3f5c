-- Clients that used an account's API key, desktop-login tokens, and the new-login email
-- setting. Keep in step with ../postgres/0004_devices.sql.
CREATE TABLE api_clients (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    BIGINT NOT NULL REFERENCES users (id),
    client     TEXT   NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    last_ip    TEXT,
    UNIQUE (user_id, client)
);

-- Zulip's 15-second `login_key_<token>` records of the desktop flow; digest only.
CREATE TABLE login_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    digest     BLOB   NOT NULL UNIQUE,
    user_id    BIGINT NOT NULL REFERENCES users (id),
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);

ALTER TABLE users ADD COLUMN enable_login_emails BOOLEAN NOT NULL DEFAULT TRUE;
