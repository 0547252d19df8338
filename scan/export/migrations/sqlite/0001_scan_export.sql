-- Scan data exports (Harbor's CVE export executions): one row per export
-- a user asked for, owned by the user's name and creation time (a user
-- deleted and made again under the name does not see them), with the CSV
-- file once it is written. Ids are never reused.
CREATE TABLE scan_exports (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_name   TEXT    NOT NULL,
    owner_since  INTEGER NOT NULL,
    job_name     TEXT    NOT NULL,
    criteria     TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    status_text  TEXT    NOT NULL DEFAULT '',
    trigger      TEXT    NOT NULL,
    started_at   INTEGER NOT NULL,
    ended_at     INTEGER NOT NULL DEFAULT 0,
    deadline     INTEGER NOT NULL,
    record_count INTEGER NOT NULL DEFAULT 0,
    file         BLOB
);
CREATE INDEX scan_exports_owner ON scan_exports (owner_name, owner_since, id);
