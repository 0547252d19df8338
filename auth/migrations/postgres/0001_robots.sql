-- PostgreSQL translation of migrations/sqlite/0001_robots.sql. Names and
-- projects compare byte by byte (COLLATE "C"), as SQLite's do, so List
-- sorts and pages the same on both engines ("robot$a+b" before
-- "robot$a-b") whatever the database's locale. WITHOUT ROWID has no
-- counterpart; BOOLEAN is kept, as the Go code binds and scans booleans.

-- Robot accounts. name is the full name: robot$<name> (system level) or
-- robot$<project>+<name> (project level). permissions is a JSON array of
-- {project, resource, action}. secret_hash is
-- hmac-sha256$<salt>$<mac>; the secret itself is never stored. Times are
-- Unix nanoseconds; expires_at 0 means never.
CREATE TABLE auth_robots (
    name        TEXT COLLATE "C" PRIMARY KEY,
    level       TEXT NOT NULL,
    project     TEXT COLLATE "C" NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    permissions TEXT NOT NULL DEFAULT '[]',
    disabled    BOOLEAN NOT NULL DEFAULT FALSE,
    expires_at  BIGINT NOT NULL DEFAULT 0,
    secret_hash TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    created_by  TEXT NOT NULL DEFAULT ''
);

CREATE INDEX auth_robots_project ON auth_robots (project, name);
