-- Tag retention policies: one a project, keyed by the project's immutable
-- id, which is also the policy's id. rules is a JSON array; schedule a
-- cron expression ('' for none) and next_run_at (Unix nanoseconds, 0 for
-- never) when the schedule next fires.
CREATE TABLE retention_policies (
    project_id  BIGINT PRIMARY KEY,
    algorithm   TEXT NOT NULL,
    rules       TEXT NOT NULL,
    schedule    TEXT NOT NULL DEFAULT '',
    next_run_at BIGINT NOT NULL DEFAULT 0,
    creator     TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX retention_policies_due ON retention_policies (next_run_at);

-- Executions of a policy: one durable job each (job_id); a run cut off by
-- a crash resumes with the repositories it had not finished.
CREATE TABLE retention_executions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    policy_id  BIGINT NOT NULL,
    status     TEXT NOT NULL,    -- Pending, Running, Success, Error, Stopped
    trigger_kind TEXT NOT NULL,  -- MANUAL or SCHEDULE
    dry_run    BOOLEAN NOT NULL,
    job_id     BIGINT NOT NULL DEFAULT 0,
    error      TEXT NOT NULL DEFAULT '',
    start_time BIGINT NOT NULL,
    end_time   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX retention_executions_policy ON retention_executions (policy_id, id);
CREATE INDEX retention_executions_status ON retention_executions (status);

-- Tasks: one repository of an execution each, with its log.
CREATE TABLE retention_tasks (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id BIGINT NOT NULL,
    policy_id    BIGINT NOT NULL,
    repository   TEXT NOT NULL,
    job_id       TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL,
    total        INTEGER NOT NULL DEFAULT 0,
    retained     INTEGER NOT NULL DEFAULT 0,
    start_time   BIGINT NOT NULL DEFAULT 0,
    end_time     BIGINT NOT NULL DEFAULT 0,
    log          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX retention_tasks_execution ON retention_tasks (execution_id, id);
CREATE INDEX retention_tasks_policy ON retention_tasks (policy_id);
