-- At most one pending or running task of a kind per artifact (digest and
-- repository; scan-all tasks have neither): a scan, SBOM generation or
-- scan-all started while one is in progress joins it (INSERT ... ON
-- CONFLICT DO NOTHING), also when several processes sharing the database
-- start it at once. Duplicates left from before are stopped first, all
-- but the newest of each artifact.
UPDATE scan_tasks SET status = 'Stopped', message = 'superseded by a newer task of the same artifact',
    ended_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000000000
WHERE status IN ('Pending', 'Running') AND id < (SELECT MAX(t2.id) FROM scan_tasks t2
    WHERE t2.kind = scan_tasks.kind AND t2.digest = scan_tasks.digest AND t2.repository = scan_tasks.repository
    AND t2.status IN ('Pending', 'Running'));
CREATE UNIQUE INDEX scan_tasks_active ON scan_tasks (kind, digest, repository) WHERE status IN ('Pending', 'Running');
