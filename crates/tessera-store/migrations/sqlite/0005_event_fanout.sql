-- Events on their way to the other nodes (PostgreSQL deployments; the embedded SQLite store
-- has one node and never writes here). Keep in step with ../postgres/0005_event_fanout.sql.
CREATE TABLE event_notices (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    node       TEXT   NOT NULL,
    payload    TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
