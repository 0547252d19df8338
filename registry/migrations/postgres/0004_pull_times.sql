-- PostgreSQL translation of migrations/sqlite/0004_pull_times.sql.

-- When each artifact and each tag was last pulled (0: never), written in
-- batches (pulls.go), as Harbor's pull_time: retention rules and the API
-- read them.
ALTER TABLE registry_repo_manifests ADD COLUMN pulled_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE registry_tags ADD COLUMN pulled_at BIGINT NOT NULL DEFAULT 0;
