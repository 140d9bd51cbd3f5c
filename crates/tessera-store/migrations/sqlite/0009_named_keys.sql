-- Named API keys (tessera's own, beside Zulip's one account key in users.api_key_digest):
-- only the keyed digest is kept, the key is shown once. scope: KeyScope bits; times are
-- microseconds since the epoch; expires_at NULL = never; revoked_at set = refused.
-- Keep in step with ../postgres/0009_named_keys.sql.
CREATE TABLE api_keys (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id        BIGINT NOT NULL REFERENCES users (id),
    name           TEXT   NOT NULL,
    digest         BLOB  NOT NULL UNIQUE,
    scope          BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    created_by     BIGINT NOT NULL REFERENCES users (id),
    expires_at     BIGINT,
    revoked_at     BIGINT,
    last_used_at   BIGINT,
    last_client    TEXT,
    last_address   TEXT
);
CREATE INDEX api_keys_user ON api_keys (user_id);
