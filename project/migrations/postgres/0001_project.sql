-- PostgreSQL translation of migrations/sqlite/0001_project.sql. Text keys
-- compare byte by byte (COLLATE "C"), as SQLite's do, so listings sort and
-- page the same on both engines whatever the database's locale.

-- Projects: the first path component of every repository. The name is the
-- key; id is a secondary number for APIs shaped like Harbor's (project_id),
-- drawn from project_seq so it is never reused. Settings are one JSON
-- document so later features add fields without a migration.
CREATE TABLE project_projects (
    name       TEXT COLLATE "C" PRIMARY KEY,
    id         BIGINT NOT NULL UNIQUE,
    public     BOOLEAN NOT NULL,
    owner      TEXT NOT NULL DEFAULT '',
    metadata   TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One row; creating a project locks it, so ids are handed out in order
-- and a rolled-back creation uses none.
CREATE TABLE project_seq (
    last_id BIGINT NOT NULL
);
INSERT INTO project_seq (last_id) VALUES (0);

-- Members: a subject ("user:alice", "group:cn=devs,ou=groups,dc=example")
-- holds a role on a project, or on the repositories of the project that
-- match a glob ("library/app-*"); '' means the whole project.
CREATE TABLE project_members (
    project      TEXT COLLATE "C" NOT NULL REFERENCES project_projects (name) ON DELETE CASCADE,
    subject      TEXT COLLATE "C" NOT NULL,
    repositories TEXT COLLATE "C" NOT NULL DEFAULT '',
    role         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (project, subject, repositories)
);
CREATE INDEX project_members_subject ON project_members (subject, project);
