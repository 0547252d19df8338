-- Members are keyed by the project's immutable id, not its name: a name
-- can be deleted and taken again by someone else, and nothing of the old
-- project may follow it.
CREATE TABLE project_members_by_id (
    project_id   BIGINT NOT NULL REFERENCES project_projects (id) ON DELETE CASCADE,
    subject      TEXT COLLATE "C" NOT NULL,
    repositories TEXT COLLATE "C" NOT NULL DEFAULT '',
    role         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (project_id, subject, repositories)
);

INSERT INTO project_members_by_id (project_id, subject, repositories, role, created_at, updated_at)
    SELECT p.id, m.subject, m.repositories, m.role, m.created_at, m.updated_at
    FROM project_members m JOIN project_projects p ON p.name = m.project;

DROP TABLE project_members;
ALTER TABLE project_members_by_id RENAME TO project_members;
CREATE INDEX project_members_subject ON project_members (subject, project_id);
