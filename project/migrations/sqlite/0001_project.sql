-- Projects: the first path component of every repository. The name is the
-- key; id is a secondary number for APIs shaped like Harbor's (project_id),
-- drawn from project_seq so it is never reused. Settings are one JSON
-- document so later features add fields without a migration.
CREATE TABLE project_projects (
    name       TEXT PRIMARY KEY,
    id         BIGINT NOT NULL UNIQUE,
    public     BOOLEAN NOT NULL,
    owner      TEXT NOT NULL DEFAULT '',
    metadata   TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
) WITHOUT ROWID;

CREATE TABLE project_seq (
    last_id BIGINT NOT NULL
);
INSERT INTO project_seq (last_id) VALUES (0);

-- Members: a subject ("user:alice", "group:cn=devs,ou=groups,dc=example")
-- holds a role on a project, or on the repositories of the project that
-- match a glob ("library/app-*"); '' means the whole project.
CREATE TABLE project_members (
    project      TEXT NOT NULL REFERENCES project_projects (name) ON DELETE CASCADE,
    subject      TEXT NOT NULL,
    repositories TEXT NOT NULL DEFAULT '',
    role         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (project, subject, repositories)
) WITHOUT ROWID;
CREATE INDEX project_members_subject ON project_members (subject, project);
