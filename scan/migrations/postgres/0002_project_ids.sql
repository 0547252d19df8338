-- PostgreSQL translation of migrations/sqlite/0002_project_ids.sql, with
-- the same choices as 0001. Renaming a table keeps its primary key's index
-- name, so the legacy tables' are renamed too, leaving the *_pkey names
-- to the new tables.

-- A project's allowlist and scanner choice are keyed by its immutable id
-- (0: the system allowlist), not its name: a project deleted and created
-- again under its name must not inherit them. Rows of projects stored
-- before (keyed by name) are kept, unused, in the *_legacy tables.
ALTER TABLE scan_allowlists RENAME TO scan_allowlists_legacy;
ALTER INDEX scan_allowlists_pkey RENAME TO scan_allowlists_legacy_pkey;
CREATE TABLE scan_allowlists (
    project_id BIGINT  PRIMARY KEY,
    items      TEXT    NOT NULL,
    expires_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL
);
INSERT INTO scan_allowlists (project_id, items, expires_at, updated_at)
    SELECT 0, items, expires_at, updated_at FROM scan_allowlists_legacy WHERE project = '';
DELETE FROM scan_allowlists_legacy WHERE project = '';

ALTER TABLE scan_project_scanners RENAME TO scan_project_scanners_legacy;
ALTER INDEX scan_project_scanners_pkey RENAME TO scan_project_scanners_legacy_pkey;
CREATE TABLE scan_project_scanners (
    project_id BIGINT PRIMARY KEY,
    scanner    TEXT COLLATE "C" NOT NULL
);
