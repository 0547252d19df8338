-- Members get a number of their own (Harbor's member id), drawn from
-- project_member_seq so that it is never reused. Existing members are
-- numbered in key order.
CREATE TABLE project_member_seq (
    last_id BIGINT NOT NULL
);

CREATE TABLE project_members_v3 (
    project_id   BIGINT NOT NULL REFERENCES project_projects (id) ON DELETE CASCADE,
    subject      TEXT NOT NULL,
    repositories TEXT NOT NULL DEFAULT '',
    role         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    id           BIGINT NOT NULL UNIQUE,
    PRIMARY KEY (project_id, subject, repositories)
) WITHOUT ROWID;

INSERT INTO project_members_v3 (project_id, subject, repositories, role, created_at, updated_at, id)
    SELECT project_id, subject, repositories, role, created_at, updated_at,
           ROW_NUMBER() OVER (ORDER BY project_id, subject, repositories)
    FROM project_members;
INSERT INTO project_member_seq (last_id) SELECT COALESCE(MAX(id), 0) FROM project_members_v3;

DROP TABLE project_members;
ALTER TABLE project_members_v3 RENAME TO project_members;
CREATE INDEX project_members_subject ON project_members (subject, project_id);
