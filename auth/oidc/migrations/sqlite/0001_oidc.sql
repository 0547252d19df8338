-- OIDC users: the link between a berth user (source "oidc") and its
-- identity at the provider (issuer, subject), its CLI secret and refresh
-- token (both sealed with the server's secret key), and what the provider
-- said about it at the last login or refresh: its groups (a JSON array)
-- and whether they make it a system admin. refused is set when the
-- provider refused the stored refresh token (the user was disabled
-- there); the CLI secret is then refused until the next browser login.
-- Times are Unix nanoseconds. A user's row goes with the user.
CREATE TABLE oidc_users (
    username      TEXT PRIMARY KEY,
    issuer        TEXT NOT NULL,
    subject       TEXT NOT NULL,
    secret        TEXT NOT NULL DEFAULT '',
    refresh_token TEXT NOT NULL DEFAULT '',
    groups_json   TEXT NOT NULL DEFAULT '[]',
    admin         BOOLEAN NOT NULL DEFAULT FALSE,
    refused       BOOLEAN NOT NULL DEFAULT FALSE,
    checked_at    BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    UNIQUE (issuer, subject)
) WITHOUT ROWID;
