package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/sqldb"
)

// putManifest stores a manifest in repo and points tags at it, in one
// transaction. Unless sparse, an image manifest's blobs must be linked to
// repo and an index's children must be manifests of repo.
func (m *metaStore) putManifest(ctx context.Context, repo string, dgst digest.Digest, body []byte,
	pm *parsedManifest, tags []string, sparse bool, now time.Time) error {
	t := nowUnix(now)
	defer m.changed(repo)
	limit, err := m.quotaLimit(ctx, repo)
	if err != nil {
		return err
	}
	var notice *QuotaNotice
	defer func() { m.notice(ctx, notice) }()
	return m.db.Write(ctx, func(tx *sqldb.Tx) error {
		notice = nil // this attempt's: Write runs fn again after a deadlock
		// The project's lock first: the links requireAll finds stay until
		// the commit (garbage collection takes the lock to remove them),
		// the quota check reads the usage it changes, and the tags read
		// below are the ones the upserts replace.
		if err := lockProject(ctx, tx, projectOf(repo)); err != nil {
			return err
		}
		if !sparse {
			if err := requireAll(ctx, tx, `registry_repo_blobs`, repo, pm.Blobs, "blob"); err != nil {
				return err
			}
			if err := requireAll(ctx, tx, `registry_repo_manifests`, repo, pm.Children, "manifest"); err != nil {
				return err
			}
		}
		if err := ensureRepo(ctx, tx, repo, t); err != nil {
			return err
		}
		subject := ""
		if pm.Subject != nil {
			subject = pm.Subject.Digest.String()
		}
		if err := storeManifestRow(ctx, tx, dgst.String(), pm, subject, body, t); err != nil {
			return err
		}
		if err := insertRefs(ctx, tx, dgst, pm); err != nil {
			return err
		}
		if err := dequeueBlobs(ctx, tx, digestStrings(pm.Blobs)); err != nil {
			return err
		}
		delta, err := linkDelta(ctx, tx, "registry_repo_manifests", repo, dgst.String(), int64(len(body)))
		if err != nil {
			return err
		}
		if notice, err = m.reserve(ctx, tx, repo, delta, limit); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `INSERT INTO registry_repo_manifests (repo, digest, created_at) VALUES (?, ?, ?)
			ON CONFLICT (repo, digest) DO NOTHING`, repo, dgst.String(), t)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			if err := errors.Join(err, addArtifactID(ctx, tx, repo, dgst.String())); err != nil {
				return err
			}
		}
		for _, tag := range tags {
			// Every transaction that points or deletes a tag of the
			// project holds its lock (lockProject above), so old is what
			// the upsert replaces, and the manifest it leaves untagged
			// is queued: no concurrent move can slip in between.
			var old string
			err := tx.QueryRow(ctx, `SELECT digest FROM registry_tags WHERE repo = ? AND name = ?`, repo, tag).Scan(&old)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO registry_tags (repo, name, digest, updated_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (repo, name) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at`,
				repo, tag, dgst.String(), t); err != nil {
				return err
			}
			if old == "" {
				if err := addTagID(ctx, tx, repo, tag); err != nil {
					return err
				}
			}
			if old != "" && old != dgst.String() {
				if err := enqueueUntagged(ctx, tx, repo, old, t); err != nil { // the tag moved off it
					return err
				}
			}
		}
		if len(tags) > 0 {
			return dequeueUntagged(ctx, tx, repo, dgst.String())
		}
		return enqueueUntagged(ctx, tx, repo, dgst.String(), t)
	})
}

// maxManifestRowAttempts bounds storeManifestRow's attempts to insert a
// row that concurrent deletions keep removing.
const maxManifestRowAttempts = 3

// storeManifestRow inserts a manifest's row unless it is stored already,
// and holds the row's lock until tx ends. A manifest's row is shared by
// every repository holding it, of every project: the lock keeps a
// deletion in another project (dropManifestRow, which takes it before
// counting the holders) from removing the row and its references while
// this transaction adds a holder. With SQLite the insert is all.
func storeManifestRow(ctx context.Context, tx *sqldb.Tx, d string, pm *parsedManifest, subject string, body []byte, now int64) error {
	for range maxManifestRowAttempts {
		res, err := tx.Exec(ctx, `INSERT INTO registry_manifests
			(digest, media_type, artifact_type, subject, annotations, size, content, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING`,
			d, pm.MediaType, pm.ArtifactType, subject, annotationsJSON(pm.Annotations), len(body), body, now)
		if err != nil || !sharedWriters(tx) {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err // inserted: locked as this transaction's own row
		}
		// Stored already: lock it. No row means a deletion committed in
		// between (DO NOTHING does not wait for it); insert again.
		if err := lockManifestRow(ctx, tx, d); !errors.Is(err, errNotFound) {
			return err
		}
	}
	return fmt.Errorf("manifest %s: its row was deleted %d times while being stored", d, maxManifestRowAttempts)
}

// lockManifestRow locks a manifest's row until tx ends; errNotFound when
// there is none.
func lockManifestRow(ctx context.Context, tx *sqldb.Tx, d string) error {
	var s string
	return notFoundIfNoRows(tx.QueryRow(ctx, `SELECT digest FROM registry_manifests WHERE digest = ?`+tx.ForUpdate(), d).Scan(&s))
}

func insertRefs(ctx context.Context, tx *sqldb.Tx, parent digest.Digest, pm *parsedManifest) error {
	add := func(ds []v1.Descriptor, kind string) error {
		for _, d := range ds {
			if _, err := tx.Exec(ctx, `INSERT INTO registry_manifest_refs (parent, child, kind) VALUES (?, ?, ?)
				ON CONFLICT (parent, child, kind) DO NOTHING`, parent.String(), d.Digest.String(), kind); err != nil {
				return err
			}
		}
		return nil
	}
	if err := add(pm.Blobs, "blob"); err != nil {
		return err
	}
	if err := add(pm.External, "external"); err != nil {
		return err
	}
	return add(pm.Children, "manifest")
}

// requireAll fails with MANIFEST_BLOB_UNKNOWN naming the first descriptor
// that table does not hold for repo.
func requireAll(ctx context.Context, tx *sqldb.Tx, table, repo string, ds []v1.Descriptor, what string) error {
	if len(ds) == 0 {
		return nil
	}
	const batch = 200
	for start := 0; start < len(ds); start += batch {
		part := ds[start:min(start+batch, len(ds))]
		args := []any{repo}
		for _, d := range part {
			args = append(args, d.Digest.String())
		}
		rows, err := tx.Query(ctx, `SELECT digest FROM `+table+` WHERE repo = ? AND digest IN (?`+
			strings.Repeat(", ?", len(part)-1)+`)`, args...)
		if err != nil {
			return err
		}
		have := map[string]bool{}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				rows.Close()
				return err
			}
			have[s] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, d := range part {
			if !have[d.Digest.String()] {
				e := newError(http.StatusBadRequest, CodeManifestBlobUnknown,
					fmt.Sprintf("%s %s is not in repository %s", what, d.Digest, repo))
				e.Detail = map[string]string{"digest": d.Digest.String()}
				return e
			}
		}
	}
	return nil
}

// deleteTag removes a tag and returns the digest it pointed at.
func (m *metaStore) deleteTag(ctx context.Context, repo, tag string) (digest.Digest, error) {
	var d string
	defer m.changed(repo)
	err := m.db.Write(ctx, func(tx *sqldb.Tx) error {
		// The project's lock orders this against tagging d again, so d is
		// queued as untagged exactly when no tag is left on it.
		if err := lockProject(ctx, tx, projectOf(repo)); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `DELETE FROM registry_tags WHERE repo = ? AND name = ? RETURNING digest`, repo, tag).Scan(&d); err != nil {
			return notFoundIfNoRows(err)
		}
		if err := dropTagID(ctx, tx, repo, tag); err != nil {
			return err
		}
		return enqueueUntagged(ctx, tx, repo, d, nowUnix(time.Now()))
	})
	return digest.Digest(d), err
}

// deleteManifest removes a manifest and its tags from repo. The manifest's
// own row goes too once no repository holds it; blobs are left to GC.
func (m *metaStore) deleteManifest(ctx context.Context, repo string, dgst digest.Digest) (*manifestRow, error) {
	var mr *manifestRow
	defer m.changed(repo)
	err := m.db.Write(ctx, func(tx *sqldb.Tx) error {
		if err := lockProject(ctx, tx, projectOf(repo)); err != nil {
			return err
		}
		var err error
		mr, err = scanManifest(tx.QueryRow(ctx, `SELECT `+manifestCols+` FROM registry_repo_manifests rm
			JOIN registry_manifests m ON m.digest = rm.digest WHERE rm.repo = ? AND rm.digest = ?`, repo, dgst.String()), false)
		if err != nil {
			return err
		}
		if err := dropArtifactIDs(ctx, tx, repo, dgst.String()); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM registry_repo_manifests WHERE repo = ? AND digest = ?`,
			`DELETE FROM registry_tags WHERE repo = ? AND digest = ?`,
		} {
			if _, err := tx.Exec(ctx, q, repo, dgst.String()); err != nil {
				return err
			}
		}
		if err := releaseManifest(ctx, tx, repo, dgst.String(), mr.Size); err != nil {
			return err
		}
		return dropManifestRow(ctx, tx, repo, dgst.String(), nowUnix(time.Now()))
	})
	return mr, err
}

// dropManifestRow removes a manifest's row and references once no
// repository holds it, making candidates of what it referenced; repo is
// the repository that last held it. Its own untagged entry in repo goes.
// The caller holds repo's project's lock; the count of holders is taken
// under the row's lock, which a push of the manifest into any repository
// holds until it commits (storeManifestRow): the count sees that push, or
// the push stores the row again after this commits.
func dropManifestRow(ctx context.Context, tx *sqldb.Tx, repo, d string, now int64) error {
	if err := dequeueUntagged(ctx, tx, repo, d); err != nil {
		return err
	}
	if err := enqueueDependents(ctx, tx, repo, d, now); err != nil {
		return err
	}
	if sharedWriters(tx) {
		if err := lockManifestRow(ctx, tx, d); err != nil && !errors.Is(err, errNotFound) {
			return err
		}
	}
	var holders int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM registry_repo_manifests WHERE digest = ?`, d).Scan(&holders); err != nil {
		return err
	}
	if holders > 0 {
		return nil
	}
	if err := enqueueBlobRefs(ctx, tx, d, now); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM registry_manifest_refs WHERE parent = ?`, d); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `DELETE FROM registry_manifests WHERE digest = ?`, d)
	return err
}

func digestStrings(ds []v1.Descriptor) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Digest.String()
	}
	return out
}

// releaseManifest takes a manifest just removed from repo off its
// project's usage, unless another repository of the project holds it.
func releaseManifest(ctx context.Context, tx *sqldb.Tx, repo, d string, size int64) error {
	delta, err := unlinkDelta(ctx, tx, "registry_repo_manifests", repo, d, size)
	if err != nil {
		return err
	}
	return addUsage(ctx, tx, projectOf(repo), delta)
}
