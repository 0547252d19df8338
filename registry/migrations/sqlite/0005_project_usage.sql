-- Each project's storage usage: every blob and manifest linked into its
-- repositories, counted once per project (quota.go keeps it exact).
CREATE TABLE registry_project_usage (
    project TEXT PRIMARY KEY,
    bytes   BIGINT NOT NULL
) WITHOUT ROWID;

INSERT INTO registry_project_usage (project, bytes)
    SELECT project, SUM(size) FROM (
        SELECT DISTINCT CASE WHEN instr(b.repo, '/') > 0 THEN substr(b.repo, 1, instr(b.repo, '/') - 1) ELSE b.repo END AS project,
            b.digest, b.size FROM registry_repo_blobs b
        UNION
        SELECT DISTINCT CASE WHEN instr(rm.repo, '/') > 0 THEN substr(rm.repo, 1, instr(rm.repo, '/') - 1) ELSE rm.repo END,
            rm.digest, m.size FROM registry_repo_manifests rm JOIN registry_manifests m ON m.digest = rm.digest
    ) WHERE true GROUP BY project;
