-- tessera schema, SQLite dialect. Keep in step with ../postgres/0001_init.sql (same file names).
CREATE TABLE server_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE realms (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    string_id             TEXT    NOT NULL UNIQUE,
    name                  TEXT    NOT NULL,
    description           TEXT    NOT NULL DEFAULT '',
    deactivated           BOOLEAN NOT NULL DEFAULT FALSE,
    password_auth_enabled BOOLEAN NOT NULL DEFAULT TRUE,
    date_created          BIGINT  NOT NULL
);

CREATE TABLE users (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    realm_id        BIGINT  NOT NULL REFERENCES realms (id),
    email           TEXT    NOT NULL,
    delivery_email  TEXT    NOT NULL,
    email_lower     TEXT    NOT NULL,
    full_name       TEXT    NOT NULL,
    role            BIGINT  NOT NULL,
    is_active       BOOLEAN NOT NULL DEFAULT TRUE,
    is_bot          BOOLEAN NOT NULL DEFAULT FALSE,
    bot_type        BIGINT,
    bot_owner_id    BIGINT REFERENCES users (id),
    password_hash   TEXT,
    api_key_digest  BLOB    NOT NULL UNIQUE,
    api_key_nonce   BLOB    NOT NULL,
    api_key_sealed  BLOB    NOT NULL,
    key_generation  BIGINT  NOT NULL DEFAULT 0,
    date_joined     BIGINT  NOT NULL,
    timezone        TEXT    NOT NULL DEFAULT '',
    avatar_version  BIGINT  NOT NULL DEFAULT 1,
    UNIQUE (realm_id, email_lower)
);
CREATE INDEX users_bot_owner ON users (bot_owner_id);

CREATE TABLE services (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      BIGINT NOT NULL REFERENCES users (id),
    name         TEXT   NOT NULL,
    base_url     TEXT   NOT NULL,
    interface    BIGINT NOT NULL,
    token_nonce  BLOB   NOT NULL,
    token_sealed BLOB   NOT NULL
);
CREATE INDEX services_user ON services (user_id);

CREATE TABLE audit_log (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    realm_id         BIGINT NOT NULL REFERENCES realms (id),
    acting_user_id   BIGINT REFERENCES users (id),
    modified_user_id BIGINT REFERENCES users (id),
    event_type       BIGINT NOT NULL,
    event_time       BIGINT NOT NULL,
    extra_data       TEXT
);
CREATE INDEX audit_log_modified_user ON audit_log (modified_user_id);

CREATE TABLE push_devices (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      BIGINT NOT NULL REFERENCES users (id),
    kind         BIGINT NOT NULL,
    token        TEXT   NOT NULL,
    ios_app_id   TEXT,
    last_updated BIGINT NOT NULL,
    UNIQUE (user_id, kind, token)
);

-- Digests whose cache entries every process must drop (rotation, deactivation, role change).
CREATE TABLE key_invalidations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    digest     BLOB,
    created_at BIGINT NOT NULL
);
