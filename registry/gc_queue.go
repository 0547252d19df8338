package registry

import (
	"context"
	"strings"

	"github.com/opencontainers/go-digest"

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

// errBlobCollecting refuses a link to a blob garbage collection has
// judged and is removing (another node's run: this node's runs hold the
// digest lock). The client pushes again once the removal is done.
var errBlobCollecting = &Error{Status: 503, Code: CodeUnavailable,
	Message: "this blob is being removed by garbage collection; push it again in a moment",
	Header:  map[string][]string{"Retry-After": {retryAfterUnavailable}}}

// enqueueLinkedBlob is enqueueBlob for a new link to d. With garbage
// collection possibly running in another process (whose digest locks
// this process does not see) it locks d's queue entry, so the link and a
// run's judgement of d come one wholly before the other: the run sees the
// link, or the link finds the entry marked deleting and is refused
// (errBlobCollecting). Holding the entry, it then checks that the bytes
// are stored: a run that judged, removed and cleaned up d before the
// entry was locked left none, and the link is refused too. Either way the
// transaction rolls back: no link without bytes.
func (m *metaStore) enqueueLinkedBlob(ctx context.Context, tx *sqldb.Tx, d digest.Digest, since int64) error {
	if m.stored == nil || !sharedWriters(tx) {
		return enqueueBlob(ctx, tx, d.String(), since) // this process's runs hold the digest lock
	}
	var deleting int
	if err := tx.QueryRow(ctx, `INSERT INTO registry_gc_blobs (digest, since) VALUES (?, ?)
		ON CONFLICT (digest) DO UPDATE SET since = registry_gc_blobs.since RETURNING deleting`, d.String(), since).Scan(&deleting); err != nil {
		return err
	}
	if deleting != 0 {
		return errBlobCollecting
	}
	return m.stored(ctx, d)
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
