package registry

import (
	"context"
	"strings"

	"github.com/berthlabs/berth/sqldb"
)

// The garbage collection queues are filled in the transactions that change
// references, so a run reads candidates instead of scanning the store.

// enqueueBlob makes d a candidate: unreferenced at birth (an upload, a
// mount) or maybe no longer referenced. An existing entry keeps its time.
func enqueueBlob(ctx context.Context, tx *sqldb.Tx, d string, since int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO registry_gc_blobs (digest, since) VALUES (?, ?) ON CONFLICT (digest) DO NOTHING`, d, since)
	return err
}

// dequeueBlobs drops candidates a manifest now references.
func dequeueBlobs(ctx context.Context, tx *sqldb.Tx, ds []string) error {
	const batch = 200
	for start := 0; start < len(ds); start += batch {
		part := ds[start:min(start+batch, len(ds))]
		args := make([]any, len(part))
		for i, d := range part {
			args[i] = d
		}
		if _, err := tx.Exec(ctx, `DELETE FROM registry_gc_blobs WHERE deleting = 0 AND digest IN (?`+
			strings.Repeat(", ?", len(part)-1)+`)`, args...); err != nil {
			return err
		}
	}
	return nil
}

// enqueueBlobRefs makes candidates of the blobs a manifest about to lose
// its row references.
func enqueueBlobRefs(ctx context.Context, tx *sqldb.Tx, parent string, now int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO registry_gc_blobs (digest, since)
		SELECT child, ? FROM registry_manifest_refs WHERE parent = ? AND kind = 'blob'
		ON CONFLICT (digest) DO NOTHING`, now, parent)
	return err
}

// enqueueDependents makes untagged candidates of what a manifest just
// removed from repo kept there: its index children and its referrers.
func enqueueDependents(ctx context.Context, tx *sqldb.Tx, repo, d string, now int64) error {
	if _, err := tx.Exec(ctx, `INSERT INTO registry_gc_untagged (repo, digest, since)
		SELECT ?, child, ? FROM registry_manifest_refs WHERE parent = ? AND kind = 'manifest'
		ON CONFLICT (repo, digest) DO NOTHING`, repo, now, d); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO registry_gc_untagged (repo, digest, since)
		SELECT ?, m.digest, ? FROM registry_manifests m
		JOIN registry_repo_manifests rm ON rm.digest = m.digest AND rm.repo = ?
		WHERE m.subject = ? ON CONFLICT (repo, digest) DO NOTHING`, repo, now, repo, d)
	return err
}

// enqueueUntagged makes a manifest of repo that has no tag a candidate.
func enqueueUntagged(ctx context.Context, tx *sqldb.Tx, repo, d string, now int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO registry_gc_untagged (repo, digest, since)
		SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM registry_tags WHERE repo = ? AND digest = ?)
		ON CONFLICT (repo, digest) DO NOTHING`, repo, d, now, repo, d)
	return err
}

// dequeueUntagged drops a manifest that got a tag.
func dequeueUntagged(ctx context.Context, tx *sqldb.Tx, repo, d string) error {
	_, err := tx.Exec(ctx, `DELETE FROM registry_gc_untagged WHERE repo = ? AND digest = ?`, repo, d)
	return err
}
