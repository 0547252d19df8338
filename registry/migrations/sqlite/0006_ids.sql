-- Numeric ids of repositories, artifacts (a manifest in a repository) and
-- tags, as management APIs show them: each table hands out ids from
-- AUTOINCREMENT, so an id is never given again after its row is deleted.
-- A row lives as long as what it names; a tag keeps its id when it moves
-- to another manifest. Repositories also keep a description here.
CREATE TABLE registry_repository_ids (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    repo        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT ''
);

CREATE TABLE registry_artifact_ids (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    repo   TEXT NOT NULL,
    digest TEXT NOT NULL,
    UNIQUE (repo, digest)
);

CREATE TABLE registry_tag_ids (
    id   INTEGER PRIMARY KEY AUTOINCREMENT,
    repo TEXT NOT NULL,
    name TEXT NOT NULL,
    UNIQUE (repo, name)
);

-- Rows stored before ids: oldest first.
INSERT INTO registry_repository_ids (repo)
    SELECT name FROM registry_repositories ORDER BY created_at, name;
INSERT INTO registry_artifact_ids (repo, digest)
    SELECT repo, digest FROM registry_repo_manifests ORDER BY created_at, repo, digest;
INSERT INTO registry_tag_ids (repo, name)
    SELECT repo, name FROM registry_tags ORDER BY updated_at, repo, name;
