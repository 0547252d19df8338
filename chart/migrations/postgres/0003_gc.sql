-- PostgreSQL translation of migrations/sqlite/0003_gc.sql (unchanged: a
-- partial index is written the same way on both engines).

-- Garbage collection asks whether a chart holds a blob, one digest at a
-- time: by archive digest (indexed already for chart_versions) or by
-- provenance digest.
CREATE INDEX chart_versions_prov ON chart_versions (prov_digest) WHERE prov_digest <> '';
CREATE INDEX chart_versions_legacy_digest ON chart_versions_legacy (digest);
