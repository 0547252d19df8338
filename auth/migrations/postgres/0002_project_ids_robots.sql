-- PostgreSQL translation of migrations/sqlite/0002_project_ids_robots.sql
-- (the same statements).

-- A project robot names its project by the project's immutable id too,
-- and permissions carry {project, project_id, ...}: a project deleted and
-- created again under its name (by someone else) gives old robots nothing.
-- Robots stored before have 0 and are judged by the project name until the
-- project is deleted, which removes them (auth.Robots.ForgetProject).
ALTER TABLE auth_robots ADD COLUMN project_id BIGINT NOT NULL DEFAULT 0;
CREATE INDEX auth_robots_project_id ON auth_robots (project_id) WHERE project_id <> 0;
