package registry

import (
	"context"
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
		if _, err := tx.Exec(ctx, `INSERT INTO registry_repo_manifests (repo, digest, created_at) VALUES (?, ?, ?)
			ON CONFLICT (repo, digest) DO NOTHING`, repo, dgst.String(), t); err != nil {
			return err
		}
		for _, tag := range tags {
			if _, err := tx.Exec(ctx, `INSERT INTO registry_tags (repo, name, digest, updated_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (repo, name) DO UPDATE SET digest = excluded.digest, updated_at = excluded.updated_at`,
				repo, tag, dgst.String(), t); err != nil {
				return err
			}
		}
		return nil
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
		return nil
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
		var holders int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM registry_repo_manifests WHERE digest = ?`, dgst.String()).Scan(&holders); err != nil {
			return err
		}
		if holders > 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `DELETE FROM registry_manifest_refs WHERE parent = ?`, dgst.String()); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM registry_manifests WHERE digest = ?`, dgst.String())
		return err
	})
	return mr, err
}
