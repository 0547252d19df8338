-- PostgreSQL translation of migrations/sqlite/0001_chart.sql. Text keys
-- compare byte by byte (COLLATE "C"), as SQLite's do, so versions list in
-- the same order on both engines whatever the database's locale; WITHOUT
-- ROWID has no counterpart (every PostgreSQL table is a heap). deprecated
-- stays an INTEGER 0/1 as on SQLite; times are nanoseconds (BIGINT).

-- Classic Helm chart repositories: one row per chart version per project.
-- Archive and provenance bytes live in the blob store by digest; the
-- index.yaml is rendered from these rows alone.
CREATE TABLE chart_versions (
    project      TEXT COLLATE "C" NOT NULL,
    name         TEXT COLLATE "C" NOT NULL,
    version      TEXT COLLATE "C" NOT NULL,
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
    digest       TEXT COLLATE "C" NOT NULL,
    size         BIGINT NOT NULL,
    prov_digest  TEXT COLLATE "C" NOT NULL DEFAULT '',
    PRIMARY KEY (project, name, version)
);
CREATE INDEX chart_versions_digest ON chart_versions (digest);

-- A per-project generation, bumped on every change, so every process can
-- tell whether its cached index.yaml is still current with one lookup.
CREATE TABLE chart_projects (
    project    TEXT COLLATE "C" PRIMARY KEY,
    generation BIGINT NOT NULL
);
