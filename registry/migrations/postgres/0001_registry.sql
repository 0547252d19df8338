-- PostgreSQL translation of migrations/sqlite/0001_registry.sql. Text keys
-- that are listed or paged in order compare byte by byte (COLLATE "C"), as
-- SQLite's do, so tags, the catalog, referrers and GC's queues sort and
-- page the same on both engines whatever the database's locale. Manifest
-- bytes are BYTEA; times are nanoseconds since the epoch (BIGINT).

-- Repositories, manifests, tags, referrers and every manifest reference.
-- Blob bytes live in the storage driver; manifest bytes live here, so a
-- manifest push is one durable transaction.
CREATE TABLE registry_repositories (
    name       TEXT COLLATE "C" PRIMARY KEY,
    created_at BIGINT NOT NULL
);

CREATE TABLE registry_manifests (
    digest        TEXT COLLATE "C" PRIMARY KEY,
    media_type    TEXT NOT NULL,
    artifact_type TEXT NOT NULL DEFAULT '',
    subject       TEXT COLLATE "C" NOT NULL DEFAULT '',
    annotations   TEXT NOT NULL DEFAULT '',
    size          BIGINT NOT NULL,
    content       BYTEA NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX registry_manifests_subject ON registry_manifests (subject) WHERE subject <> '';

-- What each manifest references: kind is 'blob' (config, layers),
-- 'external' (non-distributable or inline-data layers the registry need not
-- hold) or 'manifest' (index children). Garbage collection follows these.
CREATE TABLE registry_manifest_refs (
    parent TEXT COLLATE "C" NOT NULL,
    child  TEXT COLLATE "C" NOT NULL,
    kind   TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (parent, child, kind)
);
CREATE INDEX registry_manifest_refs_child ON registry_manifest_refs (child);

CREATE TABLE registry_repo_manifests (
    repo       TEXT COLLATE "C" NOT NULL,
    digest     TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (repo, digest)
);
CREATE INDEX registry_repo_manifests_digest ON registry_repo_manifests (digest);

CREATE TABLE registry_tags (
    repo       TEXT COLLATE "C" NOT NULL,
    name       TEXT COLLATE "C" NOT NULL,
    digest     TEXT COLLATE "C" NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (repo, name)
);
CREATE INDEX registry_tags_digest ON registry_tags (repo, digest);

-- A blob is readable in a repository only when linked to it: by an upload,
-- a mount, or a manifest push that references it.
CREATE TABLE registry_repo_blobs (
    repo       TEXT COLLATE "C" NOT NULL,
    digest     TEXT COLLATE "C" NOT NULL,
    size       BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (repo, digest)
);
CREATE INDEX registry_repo_blobs_digest ON registry_repo_blobs (digest);

-- Upload sessions bound to the repository that opened them; the bytes and
-- hash state live in the storage driver.
CREATE TABLE registry_uploads (
    id         TEXT COLLATE "C" PRIMARY KEY,
    repo       TEXT COLLATE "C" NOT NULL,
    started_at BIGINT NOT NULL
);
