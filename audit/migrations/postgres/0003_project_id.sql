-- PostgreSQL translation of migrations/sqlite/0003_project_id.sql. The
-- index ends with id, as SQLite's ends with the rowid (see 0001).

-- Entries name their project by its immutable id, which a project's log is
-- queried by: a project deleted and created again under its name (by
-- someone else) must not show the old project's history. Entries recorded
-- before have 0: they stay in the system-wide log only.
ALTER TABLE audit_log ADD COLUMN project_id BIGINT NOT NULL DEFAULT 0;
CREATE INDEX audit_log_project_id ON audit_log (project_id, op_time, id);

-- The name a failed login claimed: a claim, not an actor (the actor of a
-- failed login is anonymous).
ALTER TABLE audit_log ADD COLUMN attempted_user TEXT NOT NULL DEFAULT '';
