package registry

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/storage"
)

// CheckReport is the outcome of Check. Problems lists each inconsistency in
// words; Missing lists references to content the registry does not hold,
// which is expected only for sparse manifests.
type CheckReport struct {
	Manifests, Tags, BlobLinks, Blobs int
	Problems                          []string
	Missing                           []string
}

// OK reports whether the check found nothing wrong. Missing references
// count as wrong unless sparse manifests are allowed.
func (c *CheckReport) OK(sparse bool) bool {
	return len(c.Problems) == 0 && (sparse || len(c.Missing) == 0)
}

// Check verifies the store: every stored manifest matches its digest and
// its references resolve, every tag points at a manifest of its repository,
// every blob link has its blob, and every stored blob's bytes match its
// digest. It reads everything, so it is an offline or maintenance tool.
func (rg *Registry) Check(ctx context.Context) (*CheckReport, error) {
	rep := &CheckReport{}
	problem := func(f string, a ...any) { rep.Problems = append(rep.Problems, fmt.Sprintf(f, a...)) }

	// Every listing is in key order, so the report lists problems in the
	// same order on every engine (PostgreSQL returns a table's rows in no
	// particular order).
	rows, err := rg.db.Query(ctx, `SELECT digest, content FROM registry_manifests ORDER BY digest`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var d string
		var content []byte
		if err := rows.Scan(&d, &content); err != nil {
			rows.Close()
			return nil, err
		}
		rep.Manifests++
		dg := digest.Digest(d)
		if err := storage.CheckDigest(dg); err != nil || dg.Algorithm().FromBytes(content) != dg {
			problem("manifest %s: content does not match its digest", d)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	type ref struct{ parent, child, kind string }
	var refs []ref
	if err := rg.scanAll(ctx, `SELECT parent, child, kind FROM registry_manifest_refs ORDER BY parent, child, kind`, func(s func(...any) error) error {
		var r ref
		if err := s(&r.parent, &r.child, &r.kind); err != nil {
			return err
		}
		refs = append(refs, r)
		return nil
	}); err != nil {
		return nil, err
	}
	for _, r := range refs {
		switch r.kind {
		case "blob":
			if _, err := rg.blobs.Stat(ctx, digest.Digest(r.child)); errors.Is(err, storage.ErrBlobUnknown) {
				rep.Missing = append(rep.Missing, fmt.Sprintf("manifest %s references blob %s, which is not stored", r.parent, r.child))
			} else if err != nil {
				return nil, err
			}
		case "manifest":
			var n int
			if err := rg.db.QueryRow(ctx, `SELECT COUNT(*) FROM registry_manifests WHERE digest = ?`, r.child).Scan(&n); err != nil {
				return nil, err
			}
			if n == 0 {
				rep.Missing = append(rep.Missing, fmt.Sprintf("index %s references manifest %s, which is not stored", r.parent, r.child))
			}
		}
	}

	if err := rg.scanAll(ctx, `SELECT t.repo, t.name, t.digest, COUNT(rm.digest) FROM registry_tags t
		LEFT JOIN registry_repo_manifests rm ON rm.repo = t.repo AND rm.digest = t.digest
		GROUP BY t.repo, t.name, t.digest ORDER BY t.repo, t.name`, func(s func(...any) error) error {
		var repo, tag, d string
		var n int
		if err := s(&repo, &tag, &d, &n); err != nil {
			return err
		}
		rep.Tags++
		if n == 0 {
			problem("tag %s:%s points at %s, which is not a manifest of the repository", repo, tag, d)
		}
		return nil
	}); err != nil {
		return nil, err
	}

	var links []ref
	if err := rg.scanAll(ctx, `SELECT repo, digest FROM registry_repo_blobs ORDER BY repo, digest`, func(s func(...any) error) error {
		var r ref
		if err := s(&r.parent, &r.child); err != nil {
			return err
		}
		links = append(links, r)
		return nil
	}); err != nil {
		return nil, err
	}
	for _, l := range links {
		rep.BlobLinks++
		if _, err := rg.blobs.Stat(ctx, digest.Digest(l.child)); errors.Is(err, storage.ErrBlobUnknown) {
			problem("repository %s links blob %s, which is not stored", l.parent, l.child)
		} else if err != nil {
			return nil, err
		}
	}

	err = rg.blobs.Walk(ctx, func(d digest.Digest, size int64) error {
		rep.Blobs++
		ok, err := rg.blobMatches(ctx, d, size)
		if err != nil {
			return err
		}
		if !ok {
			problem("blob %s: stored bytes do not match the digest", d)
		}
		return nil
	})
	return rep, err
}

func (rg *Registry) blobMatches(ctx context.Context, d digest.Digest, size int64) (bool, error) {
	rc, err := rg.blobs.Open(ctx, d)
	if err != nil {
		return false, err
	}
	defer rc.Close()
	v := d.Verifier()
	n, err := io.Copy(v, rc)
	if err != nil {
		return false, err
	}
	return n == size && v.Verified(), nil
}

// scanAll runs a read query and calls fn with each row's Scan.
func (rg *Registry) scanAll(ctx context.Context, q string, fn func(scan func(...any) error) error) error {
	rows, err := rg.db.Query(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}
