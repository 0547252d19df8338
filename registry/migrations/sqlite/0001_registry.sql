-- Repositories, manifests, tags, referrers and every manifest reference.
-- Blob bytes live in the storage driver; manifest bytes live here, so a
-- manifest push is one durable transaction. Tables keyed by text are
-- WITHOUT ROWID (one B-tree instead of a table plus its key index: fewer
-- pages written per push); manifests keep a rowid because their rows are
-- large.
CREATE TABLE registry_repositories (
    name       TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
) WITHOUT ROWID;

CREATE TABLE registry_manifests (
    digest        TEXT PRIMARY KEY,
    media_type    TEXT NOT NULL,
    artifact_type TEXT NOT NULL DEFAULT '',
    subject       TEXT NOT NULL DEFAULT '',
    annotations   TEXT NOT NULL DEFAULT '',
    size          BIGINT NOT NULL,
    content       BLOB NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX registry_manifests_subject ON registry_manifests (subject) WHERE subject <> '';

-- What each manifest references: kind is 'blob' (config, layers),
-- 'external' (non-distributable or inline-data layers the registry need not
-- hold) or 'manifest' (index children). Garbage collection follows these.
CREATE TABLE registry_manifest_refs (
    parent TEXT NOT NULL,
    child  TEXT NOT NULL,
    kind   TEXT NOT NULL,
    PRIMARY KEY (parent, child, kind)
) WITHOUT ROWID;
CREATE INDEX registry_manifest_refs_child ON registry_manifest_refs (child);

CREATE TABLE registry_repo_manifests (
    repo       TEXT NOT NULL,
    digest     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (repo, digest)
) WITHOUT ROWID;
CREATE INDEX registry_repo_manifests_digest ON registry_repo_manifests (digest);

CREATE TABLE registry_tags (
    repo       TEXT NOT NULL,
    name       TEXT NOT NULL,
    digest     TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (repo, name)
) WITHOUT ROWID;
CREATE INDEX registry_tags_digest ON registry_tags (repo, digest);

-- A blob is readable in a repository only when linked to it: by an upload,
-- a mount, or a manifest push that references it.
CREATE TABLE registry_repo_blobs (
    repo       TEXT NOT NULL,
    digest     TEXT NOT NULL,
    size       BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (repo, digest)
) WITHOUT ROWID;
CREATE INDEX registry_repo_blobs_digest ON registry_repo_blobs (digest);

-- Upload sessions bound to the repository that opened them; the bytes and
-- hash state live in the storage driver.
CREATE TABLE registry_uploads (
    id         TEXT PRIMARY KEY,
    repo       TEXT NOT NULL,
    started_at BIGINT NOT NULL
) WITHOUT ROWID;
