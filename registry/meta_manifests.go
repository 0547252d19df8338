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
		if _, err := tx.Exec(ctx, `INSERT INTO registry_manifests
			(digest, media_type, artifact_type, subject, annotations, size, content, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING`,
			dgst.String(), pm.MediaType, pm.ArtifactType, subject, annotationsJSON(pm.Annotations),
			len(body), body, t); err != nil {
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
		if _, err := tx.Exec(ctx, `INSERT INTO registry_repo_manifests (repo, digest, created_at) VALUES (?, ?, ?)
			ON CONFLICT (repo, digest) DO NOTHING`, repo, dgst.String(), t); err != nil {
			return err
		}
		for _, tag := range tags {
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
		if err := tx.QueryRow(ctx, `DELETE FROM registry_tags WHERE repo = ? AND name = ? RETURNING digest`, repo, tag).Scan(&d); err != nil {
			return notFoundIfNoRows(err)
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
		var err error
		mr, err = scanManifest(tx.QueryRow(ctx, `SELECT `+manifestCols+` FROM registry_repo_manifests rm
			JOIN registry_manifests m ON m.digest = rm.digest WHERE rm.repo = ? AND rm.digest = ?`, repo, dgst.String()), false)
		if err != nil {
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
func dropManifestRow(ctx context.Context, tx *sqldb.Tx, repo, d string, now int64) error {
	if err := dequeueUntagged(ctx, tx, repo, d); err != nil {
		return err
	}
	if err := enqueueDependents(ctx, tx, repo, d, now); err != nil {
		return err
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
