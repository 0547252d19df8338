-- Tag immutability rules of projects, keyed by the project's immutable id,
-- never its name. The selectors are JSON arrays of {kind, decoration,
-- pattern}; selectors is the canonical JSON of both lists, unique per
-- project, so a project holds no rule twice. AUTOINCREMENT: an id is never
-- reused.
CREATE TABLE immutable_rules (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id      BIGINT NOT NULL,
    priority        INTEGER NOT NULL DEFAULT 0,
    disabled        BOOLEAN NOT NULL DEFAULT FALSE,
    tag_selectors   TEXT NOT NULL,
    scope_selectors TEXT NOT NULL,
    selectors       TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (project_id, selectors)
);
CREATE INDEX immutable_rules_project ON immutable_rules (project_id, id);
