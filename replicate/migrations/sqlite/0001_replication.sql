-- Registries to replicate with. The secret (password or token) is sealed
-- with the service's key when it has one (see WithSecretKey).
CREATE TABLE repl_endpoints (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    body        TEXT NOT NULL,
    secret      TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- Policies: one JSON document, so later fields need no migration.
CREATE TABLE repl_policies (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    remote_id   BIGINT NOT NULL REFERENCES repl_endpoints (id),
    body        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- Executions: one run of a policy. request holds what an event asked to
-- replicate; listed is set once the tasks are created.
CREATE TABLE repl_executions (
    id          INTEGER PRIMARY KEY,
    policy_id   BIGINT NOT NULL,
    trigger     TEXT NOT NULL,
    status      TEXT NOT NULL,
    status_text TEXT NOT NULL DEFAULT '',
    request     TEXT NOT NULL DEFAULT '',
    listed      BOOLEAN NOT NULL DEFAULT FALSE,
    job_id      BIGINT NOT NULL DEFAULT 0,
    start_time  BIGINT NOT NULL,
    end_time    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX repl_executions_policy ON repl_executions (policy_id, id);
CREATE INDEX repl_executions_status ON repl_executions (status);

-- Tasks: one artifact of an execution, with its log.
CREATE TABLE repl_tasks (
    id           INTEGER PRIMARY KEY,
    execution_id BIGINT NOT NULL REFERENCES repl_executions (id) ON DELETE CASCADE,
    item         TEXT NOT NULL,
    operation    TEXT NOT NULL,
    src_resource TEXT NOT NULL,
    dst_resource TEXT NOT NULL,
    status       TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    bytes        BIGINT NOT NULL DEFAULT 0,
    start_time   BIGINT NOT NULL DEFAULT 0,
    end_time     BIGINT NOT NULL DEFAULT 0,
    log          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX repl_tasks_execution ON repl_tasks (execution_id, id);
