-- PostgreSQL translation of migrations/sqlite/0005_project_usage.sql.

-- Each project's storage usage: every blob and manifest linked into its
-- repositories, counted once per project (quota.go keeps it exact). On
-- PostgreSQL a project's row is also the lock that orders the
-- transactions changing what the project holds (lockProject in quota.go).
CREATE TABLE registry_project_usage (
    project TEXT COLLATE "C" PRIMARY KEY,
    bytes   BIGINT NOT NULL
);

INSERT INTO registry_project_usage (project, bytes)
    SELECT project, SUM(size) FROM (
        SELECT DISTINCT split_part(b.repo, '/', 1) AS project, b.digest, b.size FROM registry_repo_blobs b
        UNION
        SELECT DISTINCT split_part(rm.repo, '/', 1), rm.digest, m.size
            FROM registry_repo_manifests rm JOIN registry_manifests m ON m.digest = rm.digest
    ) AS held GROUP BY project;
