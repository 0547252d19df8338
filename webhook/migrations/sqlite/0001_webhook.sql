-- Webhook policies: what a project's receivers are sent. Rows are keyed by
-- the project's immutable id, never its name. event_types and targets are
-- JSON arrays (a target's auth header sealed inside it); secret is the
-- HMAC signing key, sealed. AUTOINCREMENT: an id is never reused.
CREATE TABLE webhook_policies (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id  BIGINT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    enabled     BOOLEAN NOT NULL,
    event_types TEXT NOT NULL,
    targets     TEXT NOT NULL,
    secret      TEXT NOT NULL,
    creator     TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (project_id, name)
);

-- Deliveries: one event to one target of one policy, with the exact body
-- sent on every attempt and the outcome of the latest attempt. Never the
-- receiver's response body.
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid            TEXT NOT NULL UNIQUE,
    project_id      BIGINT NOT NULL,
    policy_id       BIGINT NOT NULL,
    event_type      TEXT NOT NULL,
    address         TEXT NOT NULL,
    format          TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    body            TEXT NOT NULL,
    test            BOOLEAN NOT NULL,
    status          TEXT NOT NULL,
    http_status     INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_policy ON webhook_deliveries (project_id, policy_id, id);
CREATE INDEX webhook_deliveries_status ON webhook_deliveries (status, id);
