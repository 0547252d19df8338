package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sync/errgroup"

	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage"
)

// DefaultGCGraceWindow protects blobs uploaded or mounted this recently
// (Harbor's time_window).
const DefaultGCGraceWindow = 2 * time.Hour

// gcBatch is how many candidates one transaction judges.
const gcBatch = 200

// GCOptions configure one garbage collection run.
type GCOptions struct {
	// DryRun reports what a run would free and changes nothing.
	DryRun bool
	// DeleteUntagged removes manifests without tags from their
	// repositories first, except children of a tagged index and referrers
	// of a manifest still in the repository.
	DeleteUntagged bool
	// GraceWindow protects blobs linked (uploaded, mounted) and untagged
	// manifests pushed more recently than this; 0 is
	// DefaultGCGraceWindow, a negative value none.
	GraceWindow time.Duration
	// Log, when set, receives progress lines.
	Log func(line string)
}

// GCResult is what a run freed (or, dry, would free).
type GCResult struct {
	ManifestsDeleted int   // untagged manifests removed from repositories
	BlobsDeleted     int   // blobs whose bytes were removed
	BytesFreed       int64 // their sizes
	Kept             int   // candidates found referenced again, or held
	Deferred         int   // candidates inside the grace window, for a later run
}

// BlobHolder tells whether something outside the registry's tables holds
// a blob of the shared store (Helm chart archives do).
type BlobHolder interface {
	HoldsBlob(ctx context.Context, d digest.Digest) (bool, error)
}

// WithBlobHolder makes garbage collection keep blobs h holds.
func WithBlobHolder(h BlobHolder) Option {
	return func(r *Registry) { r.holders = append(r.holders, h) }
}

// AddBlobHolder is WithBlobHolder for a holder made after the registry
// (it stores its blobs through the registry's lock); call it before any
// garbage collection runs.
func (rg *Registry) AddBlobHolder(h BlobHolder) { rg.holders = append(rg.holders, h) }

// LockBlob serialises work on one digest within the process: garbage
// collection holds it while it removes a blob, and the registry while it
// commits or links one. Another writer of the shared blob store (charts)
// takes it around storing a blob and recording its reference.
func (rg *Registry) LockBlob(d digest.Digest) (unlock func()) { return rg.blobLocks.lock(d.String()) }

// storedForLink is metaStore.stored: ErrBlobCollecting when d's bytes
// are not stored.
func (rg *Registry) storedForLink(ctx context.Context, d digest.Digest) error {
	if _, err := rg.blobs.Stat(ctx, d); errors.Is(err, storage.ErrBlobUnknown) {
		return errBlobCollecting
	} else if err != nil {
		return err
	}
	return nil
}

// ReleaseBlob tells garbage collection that d may have lost its last
// holder outside the registry (a chart version deleted).
func (rg *Registry) ReleaseBlob(ctx context.Context, d digest.Digest) error {
	return rg.db.Write(ctx, func(tx *sqldb.Tx) error { return enqueueBlob(ctx, tx, d.String(), 0) })
}

// CollectGarbage frees what nothing references, online: pushes, pulls and
// deletes go on meanwhile. It reads only the candidates queued when
// references dropped (its cost follows the garbage, not the store). Each
// blob is judged again, under its digest lock, in the transaction that
// removes its links, so a concurrent push either keeps it or fails
// cleanly with BLOB_UNKNOWN or MANIFEST_BLOB_UNKNOWN; bytes are removed
// after that commit, and a run cut off in between finishes the removal
// the next time. Cancel ctx to stop a run; what it did stays done.
func (rg *Registry) CollectGarbage(ctx context.Context, opts GCOptions) (GCResult, error) {
	var res GCResult
	grace := opts.GraceWindow
	if grace == 0 {
		grace = DefaultGCGraceWindow
	}
	cutoff := nowUnix(rg.now().Add(-max(grace, 0)))
	logf := func(format string, a ...any) {
		if opts.Log != nil {
			opts.Log(fmt.Sprintf(format, a...))
		}
	}
	logf("garbage collection started: dry_run=%t delete_untagged=%t grace=%s", opts.DryRun, opts.DeleteUntagged, grace)
	if opts.DeleteUntagged {
		if err := rg.collectUntagged(ctx, opts.DryRun, cutoff, &res, logf); err != nil {
			return res, err
		}
	}
	if err := rg.collectBlobs(ctx, opts.DryRun, cutoff, &res, logf); err != nil {
		return res, err
	}
	logf("garbage collection finished: %d manifests and %d blobs (%d bytes) %s; %d kept, %d in the grace window",
		res.ManifestsDeleted, res.BlobsDeleted, res.BytesFreed, map[bool]string{true: "would be deleted", false: "deleted"}[opts.DryRun],
		res.Kept, res.Deferred)
	return res, nil
}

// collectUntagged removes untagged manifests past the grace window from
// their repositories.
func (rg *Registry) collectUntagged(ctx context.Context, dry bool, cutoff int64, res *GCResult, logf func(string, ...any)) error {
	type cand struct{ repo, digest string }
	after := cand{}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var batch []cand
		rows, err := rg.db.Query(ctx, `SELECT repo, digest FROM registry_gc_untagged WHERE (repo, digest) > (?, ?)
			ORDER BY repo, digest LIMIT ?`, after.repo, after.digest, gcBatch)
		if err != nil {
			return err
		}
		for rows.Next() {
			var c cand
			if err := rows.Scan(&c.repo, &c.digest); err != nil {
				rows.Close()
				return err
			}
			batch = append(batch, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		after = batch[len(batch)-1]
		projects := make([]string, len(batch))
		for i, c := range batch {
			projects[i] = projectOf(c.repo)
		}
		// What the transaction hands out is assigned afresh in each
		// attempt: Write runs it again after a deadlock.
		var deleted []cand
		var kept, deferred int
		err = rg.db.Write(ctx, func(tx *sqldb.Tx) error {
			deleted, kept, deferred = deleted[:0], 0, 0
			// The projects' locks keep tags, index parents and subjects
			// from changing between a verdict and the removal it decides.
			if err := lockProjects(ctx, tx, projects); err != nil {
				return err
			}
			for _, c := range batch {
				verdict, err := untaggedVerdict(ctx, tx, c.repo, c.digest, cutoff)
				if err != nil {
					return err
				}
				switch verdict {
				case gcDefer:
					deferred++
					continue
				case gcKeep:
					kept++
					if !dry {
						if err := dequeueUntagged(ctx, tx, c.repo, c.digest); err != nil {
							return err
						}
					}
					continue
				}
				deleted = append(deleted, c)
				if dry {
					continue
				}
				var size int64
				if err := tx.QueryRow(ctx, `SELECT size FROM registry_manifests WHERE digest = ?`, c.digest).Scan(&size); err != nil {
					return err
				}
				if err := dropArtifactIDs(ctx, tx, c.repo, c.digest); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `DELETE FROM registry_repo_manifests WHERE repo = ? AND digest = ?`, c.repo, c.digest); err != nil {
					return err
				}
				if err := releaseManifest(ctx, tx, c.repo, c.digest, size); err != nil {
					return err
				}
				if err := dropManifestRow(ctx, tx, c.repo, c.digest, 0); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		res.Kept += kept
		res.Deferred += deferred
		for _, c := range deleted {
			res.ManifestsDeleted++
			logf("untagged manifest %s@%s", c.repo, c.digest)
			if !dry {
				rg.meta.changed(c.repo)
			}
		}
	}
}

type gcVerdict int

const (
	gcDelete gcVerdict = iota
	gcKeep             // referenced: off the queue
	gcDefer            // too recent: stays queued
)

// untaggedVerdict judges a manifest of repo queued as untagged.
func untaggedVerdict(ctx context.Context, tx *sqldb.Tx, repo, d string, cutoff int64) (gcVerdict, error) {
	var created int64
	err := tx.QueryRow(ctx, `SELECT created_at FROM registry_repo_manifests WHERE repo = ? AND digest = ?`, repo, d).Scan(&created)
	if err != nil {
		if errors.Is(notFoundIfNoRows(err), errNotFound) {
			return gcKeep, nil // gone already: nothing to do
		}
		return 0, err
	}
	var held bool
	// A tag, a tagged index of repo holding it, or a subject in repo that it
	// refers to (a signature, an SBOM) keeps it.
	err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM registry_tags WHERE repo = ? AND digest = ?)
		OR EXISTS (SELECT 1 FROM registry_manifest_refs r JOIN registry_tags t ON t.digest = r.parent AND t.repo = ?
			WHERE r.child = ? AND r.kind = 'manifest')
		OR EXISTS (SELECT 1 FROM registry_manifests m JOIN registry_repo_manifests s ON s.digest = m.subject AND s.repo = ?
			WHERE m.digest = ? AND m.subject <> '')`, repo, d, repo, d, repo, d).Scan(&held)
	if err != nil {
		return 0, err
	}
	switch {
	case held:
		return gcKeep, nil
	case created > cutoff:
		return gcDefer, nil
	}
	return gcDelete, nil
}

// collectBlobs removes the bytes and links of blob candidates nothing
// references.
func (rg *Registry) collectBlobs(ctx context.Context, dry bool, cutoff int64, res *GCResult, logf func(string, ...any)) error {
	after := ""
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var batch []string
		rows, err := rg.db.Query(ctx, `SELECT digest FROM registry_gc_blobs WHERE digest > ? ORDER BY digest LIMIT ?`, after, gcBatch)
		if err != nil {
			return err
		}
		for rows.Next() {
			var d string
			if err := rows.Scan(&d); err != nil {
				rows.Close()
				return err
			}
			batch = append(batch, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		after = batch[len(batch)-1]
		if err := rg.collectBlobBatch(ctx, batch, dry, cutoff, res, logf); err != nil {
			return err
		}
	}
}

// doomedBlob is a blob whose links a run removed: its bytes go next.
type doomedBlob struct {
	digest string
	size   int64
}

// collectBlobBatch judges and removes one batch of blob candidates under
// their digest locks (taken in digest order: no other path holds two).
func (rg *Registry) collectBlobBatch(ctx context.Context, batch []string, dry bool, cutoff int64,
	res *GCResult, logf func(string, ...any)) error {
	slices.Sort(batch)
	for _, d := range batch {
		defer rg.blobLocks.lock(d)()
	}
	held := map[string]bool{}
	for _, d := range batch {
		for _, h := range rg.holders {
			ok, err := h.HoldsBlob(ctx, digest.Digest(d))
			if err != nil {
				return err
			}
			held[d] = held[d] || ok
		}
	}
	// What the transaction hands out is assigned afresh in each attempt:
	// Write runs it again after a deadlock.
	var gone []doomedBlob
	var kept, deferred int
	err := rg.db.Write(ctx, func(tx *sqldb.Tx) error {
		gone, kept, deferred = gone[:0], 0, 0
		// The locks of the projects linking the candidates, in name
		// order, before any is judged: a manifest push into one of them
		// holds it from checking its blobs' links to its commit, so a
		// push either committed its references before the judgement or
		// finds the links gone after it (MANIFEST_BLOB_UNKNOWN).
		locked := map[string]bool{}
		lock := func(ds ...string) error {
			projects, err := linkingProjects(ctx, tx, ds...)
			if err != nil {
				return err
			}
			projects = slices.DeleteFunc(projects, func(p string) bool { return locked[p] })
			for _, p := range projects {
				locked[p] = true
			}
			return lockProjects(ctx, tx, projects)
		}
		if err := lock(batch...); err != nil {
			return err
		}
		for _, d := range batch {
			// Links made since (another process's uploads: this one's
			// wait for the digest locks held here) bring their projects.
			if err := lock(d); err != nil {
				return err
			}
			// A push that references d without linking it (a sparse
			// manifest) takes it off the queue: lock the entry so that
			// push comes wholly before the judgement (the entry is gone:
			// d is referenced) or after it (it keeps an entry marked
			// deleting, as after the same push on SQLite).
			if queued, err := lockQueuedBlob(ctx, tx, d); err != nil {
				return err
			} else if !queued {
				kept++
				continue
			}
			var referenced, recent bool
			var size int64
			if err := tx.QueryRow(ctx, `SELECT
				EXISTS (SELECT 1 FROM registry_manifest_refs WHERE child = ? AND kind = 'blob'),
				EXISTS (SELECT 1 FROM registry_repo_blobs WHERE digest = ? AND created_at > ?),
				COALESCE((SELECT MAX(size) FROM registry_repo_blobs WHERE digest = ?), -1)`,
				d, d, cutoff, d).Scan(&referenced, &recent, &size); err != nil {
				return err
			}
			switch {
			case referenced || held[d]:
				kept++
				if !dry {
					if _, err := tx.Exec(ctx, `DELETE FROM registry_gc_blobs WHERE digest = ?`, d); err != nil {
						return err
					}
				}
				continue
			case recent:
				deferred++
				continue
			}
			gone = append(gone, doomedBlob{d, size})
			if dry {
				continue
			}
			// The links go now; the bytes after the commit. deleting marks
			// the candidate so a run cut off in between finishes the job.
			if err := releaseBlobEverywhere(ctx, tx, d, size); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE registry_gc_blobs SET deleting = 1 WHERE digest = ?`, d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	res.Kept += kept
	res.Deferred += deferred
	freed := gone
	var removeErr error
	if !dry {
		freed, removeErr = rg.removeBlobs(ctx, gone)
	}
	for _, g := range freed {
		res.BlobsDeleted++
		res.BytesFreed += max(g.size, 0)
		logf("blob %s (%d bytes)", g.digest, max(g.size, 0))
	}
	if dry || len(freed) == 0 {
		return removeErr
	}
	removed := make([]any, len(freed))
	for i, g := range freed {
		removed[i] = g.digest
	}
	return errors.Join(removeErr, rg.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM registry_gc_blobs WHERE deleting = 1 AND digest IN (?`+
			strings.Repeat(", ?", len(removed)-1)+`)`, removed...)
		return err
	}))
}

// gcRemovers is how many blob removals a run keeps in flight: a removal
// waits on the file system's journal or an object store's round trip
// more than on the CPU (eight cut a run by 10-30 % on local disk).
const gcRemovers = 8

// removeBlobs removes the bytes of blobs whose links are gone, several at
// a time, and returns those removed. A blob already gone counts as removed
// (a run cut off after its removal); one whose removal fails stays queued
// as deleting, for the next run, and the error names it.
func (rg *Registry) removeBlobs(ctx context.Context, gone []doomedBlob) ([]doomedBlob, error) {
	done := make([]bool, len(gone))
	var g errgroup.Group
	g.SetLimit(gcRemovers)
	for i, b := range gone {
		g.Go(func() error {
			err := rg.blobs.Delete(ctx, digest.Digest(b.digest))
			if err != nil && !errors.Is(err, storage.ErrBlobUnknown) {
				return fmt.Errorf("gc: removing blob %s: %w", b.digest, err)
			}
			done[i] = true
			return nil
		})
	}
	err := g.Wait()
	var removed []doomedBlob
	for i, b := range gone {
		if done[i] {
			removed = append(removed, b)
		}
	}
	return removed, err
}

// MarkGarbage is the repair tool: it queues every blob no manifest
// references, every untagged manifest, and every stored blob file no
// repository links (bytes a crash or a restore left behind), reading the
// whole store (a store restored from a backup, or one whose queue was
// lost). Normal operation never needs it. Run it with the registry
// stopped (the reference server's `check -requeue-garbage`): a blob file
// being pushed has no link yet, and a run would take it for garbage. It
// returns how many entries it queued.
func (rg *Registry) MarkGarbage(ctx context.Context) (int, error) {
	var n int64
	err := rg.db.Write(ctx, func(tx *sqldb.Tx) error {
		r1, err := tx.Exec(ctx, `INSERT INTO registry_gc_blobs (digest, since)
			SELECT b.digest, MAX(b.created_at) FROM registry_repo_blobs b
			WHERE NOT EXISTS (SELECT 1 FROM registry_manifest_refs r WHERE r.child = b.digest AND r.kind = 'blob')
			GROUP BY b.digest ON CONFLICT (digest) DO NOTHING`)
		if err != nil {
			return err
		}
		r2, err := tx.Exec(ctx, `INSERT INTO registry_gc_untagged (repo, digest, since)
			SELECT rm.repo, rm.digest, rm.created_at FROM registry_repo_manifests rm
			WHERE NOT EXISTS (SELECT 1 FROM registry_tags t WHERE t.repo = rm.repo AND t.digest = rm.digest)
			ON CONFLICT (repo, digest) DO NOTHING`)
		if err != nil {
			return err
		}
		a, _ := r1.RowsAffected()
		b, _ := r2.RowsAffected()
		n = a + b
		return nil
	})
	if err != nil {
		return int(n), err
	}
	files, err := rg.queueUnlinkedFiles(ctx)
	return int(n) + files, err
}

// queueUnlinkedFiles queues each stored blob that no repository links and
// no queue entry names, as garbage since the epoch (no link protects it).
func (rg *Registry) queueUnlinkedFiles(ctx context.Context) (int, error) {
	var batch []string
	n := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		added := 0
		err := rg.db.Write(ctx, func(tx *sqldb.Tx) error {
			added = 0 // counted afresh if Write runs this again
			for _, d := range batch {
				r, err := tx.Exec(ctx, `INSERT INTO registry_gc_blobs (digest, since)
					SELECT ?, 0 WHERE NOT EXISTS (SELECT 1 FROM registry_repo_blobs WHERE digest = ?)
					ON CONFLICT (digest) DO NOTHING`, d, d)
				if err != nil {
					return err
				}
				k, _ := r.RowsAffected()
				added += int(k)
			}
			return nil
		})
		batch = batch[:0]
		if err != nil {
			return err
		}
		n += added
		return nil
	}
	err := rg.blobs.Walk(ctx, func(d digest.Digest, _ int64) error {
		if batch = append(batch, d.String()); len(batch) == gcBatch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	return n, flush()
}

// GarbageQueue reports how many blobs and untagged manifests wait for a
// run.
func (rg *Registry) GarbageQueue(ctx context.Context) (blobs, untagged int, err error) {
	err = rg.db.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM registry_gc_blobs), (SELECT COUNT(*) FROM registry_gc_untagged)`).
		Scan(&blobs, &untagged)
	return blobs, untagged, err
}

// lockQueuedBlob locks d's entry in the blob queue until tx ends; false
// when it has left the queue. With SQLite it does nothing (and reports
// true): the entry cannot leave while a run's transaction holds the
// database.
func lockQueuedBlob(ctx context.Context, tx *sqldb.Tx, d string) (bool, error) {
	if !sharedWriters(tx) {
		return true, nil
	}
	var deleting int
	err := tx.QueryRow(ctx, `SELECT deleting FROM registry_gc_blobs WHERE digest = ?`+tx.ForUpdate(), d).Scan(&deleting)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// linkingProjects lists the projects whose repositories link any of ds.
func linkingProjects(ctx context.Context, tx *sqldb.Tx, ds ...string) ([]string, error) {
	if len(ds) == 0 || !sharedWriters(tx) {
		return nil, nil // lockProjects would do nothing with them
	}
	args := make([]any, len(ds))
	for i, d := range ds {
		args[i] = d
	}
	repos, err := scanStrings(tx.Query(ctx, `SELECT DISTINCT repo FROM registry_repo_blobs WHERE digest IN (?`+
		strings.Repeat(", ?", len(ds)-1)+`)`, args...))
	for i, r := range repos {
		repos[i] = projectOf(r)
	}
	return repos, err
}

// releaseBlobEverywhere removes every link of d, taking its size off the
// usage of each project that held it.
func releaseBlobEverywhere(ctx context.Context, tx *sqldb.Tx, d string, size int64) error {
	repos, err := scanStrings(tx.Query(ctx, `SELECT repo FROM registry_repo_blobs WHERE digest = ?`, d))
	if err != nil {
		return err
	}
	projects := make([]string, len(repos))
	for i, r := range repos {
		projects[i] = projectOf(r)
	}
	slices.Sort(projects)
	for _, p := range slices.Compact(projects) {
		if err := addUsage(ctx, tx, p, -max(size, 0)); err != nil {
			return err
		}
	}
	_, err = tx.Exec(ctx, `DELETE FROM registry_repo_blobs WHERE digest = ?`, d)
	return err
}
