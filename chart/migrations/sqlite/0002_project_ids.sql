-- Chart versions and generations are keyed by the project's immutable id,
-- not its name: a project deleted and created again under its name (by
-- someone else) must not find the old charts. Rows stored before (keyed by
-- name) cannot be attributed to a project id here; they are kept, unserved,
-- in chart_versions_legacy, and their blobs stay referenced.
ALTER TABLE chart_versions RENAME TO chart_versions_legacy;
DROP INDEX chart_versions_digest;
DROP TABLE chart_projects;

CREATE TABLE chart_versions (
    project_id   BIGINT NOT NULL,
    name         TEXT NOT NULL,
    version      TEXT NOT NULL,
    app_version  TEXT NOT NULL DEFAULT '',
    description  TEXT NOT NULL DEFAULT '',
    icon         TEXT NOT NULL DEFAULT '',
    keywords     TEXT NOT NULL DEFAULT '',
    home         TEXT NOT NULL DEFAULT '',
    sources      TEXT NOT NULL DEFAULT '',
    maintainers  TEXT NOT NULL DEFAULT '',
    api_version  TEXT NOT NULL DEFAULT '',
    type         TEXT NOT NULL DEFAULT '',
    kube_version TEXT NOT NULL DEFAULT '',
    annotations  TEXT NOT NULL DEFAULT '',
    dependencies TEXT NOT NULL DEFAULT '',
    deprecated   INTEGER NOT NULL DEFAULT 0,
    created      BIGINT NOT NULL,
    digest       TEXT NOT NULL,
    size         BIGINT NOT NULL,
    prov_digest  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (project_id, name, version)
) WITHOUT ROWID;
CREATE INDEX chart_versions_digest ON chart_versions (digest);

-- A per-project generation, bumped on every change, so every process can
-- tell whether its cached index.yaml is still current with one lookup.
CREATE TABLE chart_generations (
    project_id BIGINT PRIMARY KEY,
    generation BIGINT NOT NULL
);

-- Ids for project names when the Repo is not given a project store
-- (WithProjects): a program serving charts without projects.
CREATE TABLE chart_project_ids (
    id   INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE
);
