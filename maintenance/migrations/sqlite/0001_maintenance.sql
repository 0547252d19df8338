-- Runs of system tasks (garbage collection, the audit log purge, ...), as
-- their history and the API show them. task names the task; params and
-- result are the task's own types as JSON (result is '' until the run
-- ends). A run is a durable job (job_id): one cut off by a crash or a
-- shutdown runs again. AUTOINCREMENT: an id is never reused.
CREATE TABLE maintenance_runs (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    task       TEXT NOT NULL,
    kind       TEXT NOT NULL,    -- MANUAL or SCHEDULE
    status     TEXT NOT NULL,    -- Pending, Running, Success, Error, Stopped
    params     TEXT NOT NULL,
    result     TEXT NOT NULL DEFAULT '',
    job_id     BIGINT NOT NULL DEFAULT 0,
    error      TEXT NOT NULL DEFAULT '',
    log        TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX maintenance_runs_task ON maintenance_runs (task, id);

-- One run of a task at a time, whichever process starts it.
CREATE UNIQUE INDEX maintenance_runs_active ON maintenance_runs (task)
    WHERE status IN ('Pending', 'Running');

-- Per task: the schedule, the parameters of scheduled runs, and the last
-- tick a process claimed.
CREATE TABLE maintenance_settings (
    task  TEXT NOT NULL,
    name  TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (task, name)
) WITHOUT ROWID;
