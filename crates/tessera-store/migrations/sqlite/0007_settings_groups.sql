-- Personal settings and organization settings that differ from Zulip's defaults (one row
-- per changed setting, value as JSON text), and the organization's user groups (the system
-- groups Zulip creates for every realm; memberships of system groups follow roles).
-- Keep in step with ../postgres/0007_settings_groups.sql.
CREATE TABLE user_settings (
    user_id BIGINT NOT NULL REFERENCES users (id),
    name    TEXT   NOT NULL,
    value   TEXT   NOT NULL,
    PRIMARY KEY (user_id, name)
);

CREATE TABLE realm_settings (
    realm_id BIGINT NOT NULL REFERENCES realms (id),
    name     TEXT   NOT NULL,
    value    TEXT   NOT NULL,
    PRIMARY KEY (realm_id, name)
);

CREATE TABLE user_groups (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    realm_id        BIGINT  NOT NULL REFERENCES realms (id),
    name            TEXT    NOT NULL,
    description     TEXT    NOT NULL DEFAULT '',
    is_system_group BOOLEAN NOT NULL DEFAULT FALSE,
    date_created    BIGINT  NOT NULL,
    UNIQUE (realm_id, name)
);
