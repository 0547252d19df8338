-- Garbage collection runs, as their history and the API show them. A run
-- is a durable job (job_id): one cut off by a crash runs again.
CREATE TABLE gc_runs (
    id                INTEGER PRIMARY KEY,
    kind              TEXT NOT NULL,    -- MANUAL or SCHEDULE
    status            TEXT NOT NULL,    -- Pending, Running, Success, Error, Stopped
    dry_run           INTEGER NOT NULL,
    delete_untagged   INTEGER NOT NULL,
    job_id            BIGINT NOT NULL DEFAULT 0,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    blobs_deleted     BIGINT NOT NULL DEFAULT 0,
    bytes_freed       BIGINT NOT NULL DEFAULT 0,
    manifests_deleted BIGINT NOT NULL DEFAULT 0,
    error             TEXT NOT NULL DEFAULT '',
    log               TEXT NOT NULL DEFAULT ''
);
CREATE INDEX gc_runs_status ON gc_runs (status);

-- The schedule and the parameters of scheduled runs.
CREATE TABLE gc_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
