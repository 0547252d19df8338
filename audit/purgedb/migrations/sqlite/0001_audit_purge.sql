-- Audit log purge runs, as their history and the API show them (Harbor's
-- purge audit history). A run is a durable job (job_id): one cut off by a
-- crash runs again. operations is the comma-separated list the run was
-- asked for, as given; purged is how many entries it deleted (or, in a
-- dry run, would delete). AUTOINCREMENT: an id is never reused.
CREATE TABLE audit_purge_runs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL,    -- MANUAL or SCHEDULE
    status          TEXT NOT NULL,    -- Pending, Running, Success, Error, Stopped
    retention_hours BIGINT NOT NULL,
    operations      TEXT NOT NULL DEFAULT '',
    dry_run         INTEGER NOT NULL,
    job_id          BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    purged          BIGINT NOT NULL DEFAULT 0,
    error           TEXT NOT NULL DEFAULT '',
    log             TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_purge_runs_status ON audit_purge_runs (status);

-- The schedule and the parameters of scheduled runs.
CREATE TABLE audit_purge_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
