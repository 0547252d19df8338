-- PostgreSQL translation of migrations/sqlite/0003_gc.sql.

-- Garbage collection's queues. A blob enters registry_gc_blobs when its
-- reference count may have dropped to zero (a manifest row deleted, a link
-- removed) or when it is born unreferenced (an upload or a mount, until a
-- manifest references it), so a run reads the candidates, never the whole
-- store. deleting (0 or 1, compared as integers in gc.go and gc_queue.go,
-- never scanned into a Go bool) marks a blob whose links are gone and
-- whose bytes are being removed: a run cut off there finishes the removal
-- next time.
CREATE TABLE registry_gc_blobs (
    digest   TEXT COLLATE "C" PRIMARY KEY,
    since    BIGINT NOT NULL,
    deleting INTEGER NOT NULL DEFAULT 0
);

-- Manifests of a repository that lost their last tag (or never had one):
-- what a run with delete_untagged considers.
CREATE TABLE registry_gc_untagged (
    repo   TEXT COLLATE "C" NOT NULL,
    digest TEXT COLLATE "C" NOT NULL,
    since  BIGINT NOT NULL,
    PRIMARY KEY (repo, digest)
);

-- A store from before the queues: every linked blob no manifest
-- references, and every untagged manifest, is a candidate once.
INSERT INTO registry_gc_blobs (digest, since)
    SELECT b.digest, MAX(b.created_at) FROM registry_repo_blobs b
    WHERE NOT EXISTS (SELECT 1 FROM registry_manifest_refs r WHERE r.child = b.digest AND r.kind = 'blob')
    GROUP BY b.digest;
INSERT INTO registry_gc_untagged (repo, digest, since)
    SELECT rm.repo, rm.digest, rm.created_at FROM registry_repo_manifests rm
    WHERE NOT EXISTS (SELECT 1 FROM registry_tags t WHERE t.repo = rm.repo AND t.digest = rm.digest);
