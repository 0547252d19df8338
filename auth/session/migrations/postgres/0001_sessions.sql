-- PostgreSQL translation of migrations/sqlite/0001_sessions.sql: the same
-- table and indexes (TEXT and BIGINT mean the same in both).

-- Browser sessions (Harbor's /c/login): one row per signed-in browser,
-- found by the SHA-256 of the cookie's 256-bit random id (the id itself is
-- never stored), so that a copy of the table opens no session. Every node
-- sharing the database sees a logout or an expiry at once. Times are Unix
-- nanoseconds. user_groups are the directory groups the user logged in with,
-- one per line.
CREATE TABLE auth_sessions (
    id_hash     TEXT PRIMARY KEY,
    username    TEXT NOT NULL,
    user_groups TEXT NOT NULL DEFAULT '',
    csrf_token  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX auth_sessions_username ON auth_sessions (username);
CREATE INDEX auth_sessions_expires_at ON auth_sessions (expires_at);
CREATE INDEX auth_sessions_last_seen ON auth_sessions (last_seen);
