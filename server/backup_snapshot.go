package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sync/errgroup"

	"github.com/berthlabs/berth/storage"
)

// blobRef is a blob a snapshot references. A required one is linked to a
// repository or held by a chart: the data directory must store it. One
// only a manifest references may be absent (sparse and proxy-cached
// manifests), as server check allows.
type blobRef struct {
	digest   digest.Digest
	required bool
}

// blobEntry is a blob in the backup.
type blobEntry struct {
	digest digest.Digest
	size   int64
}

// snapshot writes a consistent copy of the SQLite database at src to out
// and returns the blobs it references. VACUUM INTO reads the live
// database in one read transaction over a read-only connection: in WAL
// mode it neither waits for the server's writer nor blocks it. (The
// "sqlite" driver is modernc's, registered by package sqldb.)
func snapshot(ctx context.Context, src, out string) ([]blobRef, error) {
	if err := os.Remove(out); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	live, err := sql.Open("sqlite", "file:"+(&url.URL{Path: src}).EscapedPath()+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, err
	}
	_, err = live.ExecContext(ctx, `VACUUM INTO ?`, out)
	if err := errors.Join(err, live.Close()); err != nil {
		return nil, err
	}
	if err := os.Chmod(out, 0o600); err != nil {
		return nil, err
	}
	snap, err := sql.Open("sqlite", "file:"+(&url.URL{Path: out}).EscapedPath()+"?_pragma=journal_mode(DELETE)")
	if err != nil {
		return nil, err
	}
	refs, err := prepareSnapshot(ctx, snap)
	return refs, errors.Join(err, snap.Close())
}

// prepareSnapshot forgets the upload sessions in flight (their bytes stay
// in the live data directory; clients start them again, as MigrateTo
// leaves them) and lists the referenced blobs.
func prepareSnapshot(ctx context.Context, db *sql.DB) ([]blobRef, error) {
	tables := map[string]bool{}
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return nil, err
		}
		tables[t] = true
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, err
	}
	if tables["registry_uploads"] {
		if _, err := db.ExecContext(ctx, `DELETE FROM registry_uploads`); err != nil {
			return nil, err
		}
	}
	// What garbage collection keeps (registry.Check and chart.HoldsBlob
	// read the same columns): repository links and chart archives are
	// required; manifest references may be sparse.
	var required, optional []string
	if tables["registry_repo_blobs"] {
		required = append(required, `SELECT digest FROM registry_repo_blobs`)
	}
	for _, t := range []string{"chart_versions", "chart_versions_legacy"} {
		if tables[t] {
			required = append(required, `SELECT 'sha256:' || digest FROM `+t,
				`SELECT prov_digest FROM `+t+` WHERE prov_digest <> ''`)
		}
	}
	if tables["registry_manifest_refs"] {
		optional = append(optional, `SELECT child FROM registry_manifest_refs WHERE kind = 'blob'`)
	}
	seen := map[digest.Digest]int{}
	var refs []blobRef
	for _, group := range []struct {
		queries  []string
		required bool
	}{{required, true}, {optional, false}} {
		for _, q := range group.queries {
			if err := scanDigests(ctx, db, q, func(d digest.Digest) {
				if _, ok := seen[d]; !ok {
					seen[d] = len(refs)
					refs = append(refs, blobRef{digest: d, required: group.required})
				}
			}); err != nil {
				return nil, err
			}
		}
	}
	return refs, nil
}

// scanDigests calls fn with each valid digest q returns; the snapshot is
// berth's own database, so an invalid one is an error.
func scanDigests(ctx context.Context, db *sql.DB, q string, fn func(digest.Digest)) error {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		d := digest.Digest(s)
		if err := storage.CheckDigest(d); err != nil {
			return fmt.Errorf("snapshot references an invalid digest %q: %w", s, err)
		}
		fn(d)
	}
	return rows.Err()
}

// copyReferencedBlobs copies into the backup's store to each referenced
// blob of the data directory's store from that the backup lacks, verified
// against its digest (storage.Put), and records it in copied. It returns
// the blobs now in the backup and the required ones from no longer has.
func copyReferencedBlobs(ctx context.Context, from, to storage.Driver, refs []blobRef, copied map[digest.Digest]bool) ([]blobEntry, []string, error) {
	type result struct {
		size            int64
		copied, missing bool
	}
	results := make([]result, len(refs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i, ref := range refs {
		g.Go(func() error {
			if size, err := to.Stat(gctx, ref.digest); err == nil {
				results[i].size = size
				return nil
			} else if !errors.Is(err, storage.ErrBlobUnknown) {
				return err
			}
			rc, err := from.Open(gctx, ref.digest)
			if errors.Is(err, storage.ErrBlobUnknown) {
				results[i].missing = true
				return nil
			} else if err != nil {
				return err
			}
			defer rc.Close()
			n, err := storage.Put(gctx, to, ref.digest, rc)
			if err != nil {
				return fmt.Errorf("blob %s: %w", ref.digest, err)
			}
			results[i] = result{size: n, copied: true}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	var blobs []blobEntry
	var missing []string
	for i, r := range results {
		switch {
		case r.missing && refs[i].required:
			missing = append(missing, refs[i].digest.String())
		case r.missing: // a sparse manifest's reference: not stored here either
		default:
			blobs = append(blobs, blobEntry{digest: refs[i].digest, size: r.size})
			if r.copied {
				copied[refs[i].digest] = true
			}
		}
	}
	return blobs, missing, nil
}

// count fills rep's blob counts: copied holds what this run copied.
func (rep *BackupReport) count(blobs []blobEntry, copied map[digest.Digest]bool) {
	for _, b := range blobs {
		rep.Blobs++
		rep.BlobBytes += b.size
		if copied[b.digest] {
			rep.NewBlobs++
			rep.NewBytes += b.size
		} else {
			rep.ReusedBlobs++
		}
	}
}
