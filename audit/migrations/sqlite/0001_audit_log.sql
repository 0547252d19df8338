-- The audit log: who did what to which resource, when, with what result.
-- Rows are only ever inserted and purged. op_time is Unix nanoseconds
-- (UTC). AUTOINCREMENT so an id is never reused after a purge.
CREATE TABLE audit_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    op_time       BIGINT NOT NULL,
    actor         TEXT NOT NULL,
    actor_kind    TEXT NOT NULL,
    action        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource      TEXT NOT NULL,
    project       TEXT NOT NULL,
    result        TEXT NOT NULL,
    detail        TEXT NOT NULL DEFAULT '',
    remote_addr   TEXT NOT NULL DEFAULT '',
    user_agent    TEXT NOT NULL DEFAULT ''
);

-- Newest first everywhere: each filter index ends with op_time (and the
-- implicit rowid), so a filtered page is read in order without sorting.
CREATE INDEX audit_log_time ON audit_log (op_time);
CREATE INDEX audit_log_actor ON audit_log (actor, op_time);
CREATE INDEX audit_log_project ON audit_log (project, op_time);
CREATE INDEX audit_log_action ON audit_log (action, op_time);

-- Prefix search uses LIKE, which SQLite matches ASCII case-insensitively;
-- a NOCASE index is the one its LIKE optimisation can use.
CREATE INDEX audit_log_resource ON audit_log (resource COLLATE NOCASE);
