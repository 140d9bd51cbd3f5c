-- Sliding-log rate limits shared by every node (login, password reset, email sending).
-- Keep in step with ../postgres/0006_rate_limits.sql.
CREATE TABLE rate_limit_hits (
    id  INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT   NOT NULL,
    at  BIGINT NOT NULL
);
CREATE INDEX rate_limit_hits_key ON rate_limit_hits (key, at);
