-- Web sessions and password-reset tokens. Keep in step with ../postgres/0002_web.sql.
-- Only HMAC digests of the tokens are stored; the tokens themselves live in the browser
-- cookie and the emailed link.
CREATE TABLE sessions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    digest     BLOB   NOT NULL UNIQUE,
    user_id    BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    ip         TEXT,
    user_agent TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE password_reset_tokens (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    digest     BLOB   NOT NULL UNIQUE,
    user_id    BIGINT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX password_reset_tokens_user ON password_reset_tokens (user_id);
