-- PostgreSQL translation of migrations/sqlite/0002_upload_quotas.sql.

-- Upload sessions carry whose quota they count against (owner: the actor
-- the Authorizer recorded, or the anonymous client's address), their
-- project (the repository's first path component) and their last activity
-- (touched_at: the start or the last acknowledged chunk). Reserving a
-- session counts the owner's, the project's and all sessions active since
-- the idle cutoff: each count is a range of one of these indexes.
ALTER TABLE registry_uploads ADD COLUMN owner TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE registry_uploads ADD COLUMN project TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE registry_uploads ADD COLUMN touched_at BIGINT NOT NULL DEFAULT 0;

-- split_part(repo, '/', 1) is SQLite's CASE over instr and substr: the
-- text before the first '/', or all of it.
UPDATE registry_uploads SET touched_at = started_at, project = split_part(repo, '/', 1);

CREATE INDEX registry_uploads_owner ON registry_uploads (owner, touched_at);
CREATE INDEX registry_uploads_project ON registry_uploads (project, touched_at);
CREATE INDEX registry_uploads_touched ON registry_uploads (touched_at);
CREATE INDEX registry_uploads_started ON registry_uploads (started_at);

-- One row whose lock orders reservations: a reservation takes it before
-- counting, so two reservations never both see room for one more session.
CREATE TABLE registry_upload_gate (
    id           INTEGER PRIMARY KEY,
    reservations BIGINT NOT NULL
);
INSERT INTO registry_upload_gate (id, reservations) VALUES (1, 0);
