-- Labels, Harbor's: global ones (scope 'g', project_id 0) and project
-- ones (scope 'p', keyed by the project's immutable id, never its name).
-- A name is unique within its scope, and for project labels within the
-- project. Deletion removes the row; AUTOINCREMENT so an id is never
-- reused, and a policy naming a deleted label's id never matches another.
CREATE TABLE label_labels (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    color       TEXT NOT NULL DEFAULT '',
    scope       TEXT NOT NULL,
    project_id  BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX label_labels_name ON label_labels (scope, project_id, name);
CREATE INDEX label_labels_project ON label_labels (project_id);

-- Labels attached to artifacts: an artifact is its project's id, its
-- repository's full name ("project/repo") and its manifest digest. The
-- key starts with the repository and digest, which an artifact's labels
-- and the deletion hooks look up; the label index serves label deletion
-- and ArtifactsWithLabel, the project index a project's deletion.
CREATE TABLE label_artifacts (
    repository TEXT NOT NULL,
    digest     TEXT NOT NULL,
    project_id BIGINT NOT NULL,
    label_id   BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (repository, digest, project_id, label_id)
) WITHOUT ROWID;
CREATE INDEX label_artifacts_label ON label_artifacts (label_id, project_id);
CREATE INDEX label_artifacts_project ON label_artifacts (project_id);
