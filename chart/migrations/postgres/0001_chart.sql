-- Classic Helm chart repositories: one row per chart version per project.
-- Archive and provenance bytes live in the blob store by digest; the
-- index.yaml is rendered from these rows alone.
CREATE TABLE chart_versions (
    project      TEXT NOT NULL,
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
    PRIMARY KEY (project, name, version)
);
CREATE INDEX chart_versions_digest ON chart_versions (digest);

-- A per-project generation, bumped on every change, so every process can
-- tell whether its cached index.yaml is still current with one lookup.
CREATE TABLE chart_projects (
    project    TEXT PRIMARY KEY,
    generation BIGINT NOT NULL
);
