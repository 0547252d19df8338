package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/berthlabs/berth/core"
	"io"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/sqldb"
)

// The methods in this file are the registry's Go API for management layers
// (the REST API, replication, retention): listings with totals and deletes
// that emit the same events as their HTTP counterparts.

// ErrNotFound is returned by the Go API for a repository or artifact that
// does not exist.
var ErrNotFound = core.ErrNotFound

// DeleteArtifact removes a manifest and its tags from a repository, as a
// DELETE of /v2/<repo>/manifests/<digest> does, and emits the event.
func (rg *Registry) DeleteArtifact(ctx context.Context, repo string, d digest.Digest) error {
	if err := rg.checkDelete(ctx, repo, "", d); err != nil {
		return err
	}
	mr, err := rg.meta.deleteManifest(ctx, repo, d)
	if errors.Is(err, errNotFound) {
		return notFound("artifact", repo+"@"+d.String())
	}
	if err != nil {
		return err
	}
	rg.events.Emit(ctx, Event{Action: EventDelete, Target: TargetManifest, Repository: repo, Digest: d,
		MediaType: mr.MediaType, ArtifactType: mr.ArtifactType, Size: mr.Size, Subject: mr.Subject,
		Actor: ActorFrom(ctx), Time: rg.now()})
	return nil
}

// DeleteTag removes a tag, leaving the artifact.
func (rg *Registry) DeleteTag(ctx context.Context, repo, tag string) error {
	if err := rg.checkDelete(ctx, repo, tag, ""); err != nil {
		return err
	}
	d, err := rg.meta.deleteTag(ctx, repo, tag)
	if errors.Is(err, errNotFound) {
		return notFound("tag", repo+":"+tag)
	}
	if err != nil {
		return err
	}
	rg.events.Emit(ctx, Event{Action: EventDelete, Target: TargetTag, Repository: repo, Tag: tag, Digest: d,
		Actor: ActorFrom(ctx), Time: rg.now()})
	return nil
}

// DeleteRepository removes a repository with all its artifacts, tags and
// blob links; blob bytes are left to garbage collection.
func (rg *Registry) DeleteRepository(ctx context.Context, repo string) error {
	if err := rg.checkRepositoryDelete(ctx, repo); err != nil {
		return err
	}
	defer rg.meta.changed(repo)
	var gone []string
	err := rg.db.Write(ctx, func(tx *sqldb.Tx) error {
		gone = gone[:0] // a retried transaction starts over
		if err := lockProject(ctx, tx, projectOf(repo)); err != nil {
			return err
		}
		res, err := tx.Exec(ctx, `DELETE FROM registry_repositories WHERE name = ?`, repo)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("repository", repo)
		}
		rows, err := tx.Query(ctx, `SELECT digest FROM registry_repo_manifests WHERE repo = ? ORDER BY digest`, repo)
		if err != nil {
			return err
		}
		for rows.Next() {
			var d string
			if err := rows.Scan(&d); err != nil {
				rows.Close()
				return err
			}
			gone = append(gone, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		now := nowUnix(rg.now())
		if err := releaseRepository(ctx, tx, repo); err != nil {
			return err
		}
		if err := dropRepositoryIDs(ctx, tx, repo); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO registry_gc_blobs (digest, since)
			SELECT digest, ? FROM registry_repo_blobs WHERE repo = ? ON CONFLICT (digest) DO NOTHING`, now, repo); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM registry_tags WHERE repo = ?`,
			`DELETE FROM registry_repo_manifests WHERE repo = ?`,
			`DELETE FROM registry_repo_blobs WHERE repo = ?`,
			`DELETE FROM registry_uploads WHERE repo = ?`,
		} {
			if _, err := tx.Exec(ctx, q, repo); err != nil {
				return err
			}
		}
		// Manifests no other repository holds go with their references.
		for _, d := range gone {
			if err := dropManifestRow(ctx, tx, repo, d, now); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `DELETE FROM registry_gc_untagged WHERE repo = ?`, repo)
		return err
	})
	if err != nil {
		return err
	}
	for _, d := range gone {
		rg.events.Emit(ctx, Event{Action: EventDelete, Target: TargetManifest, Repository: repo,
			Digest: digest.Digest(d), Actor: ActorFrom(ctx), Time: rg.now()})
	}
	return nil
}

func notFound(what, name string) error {
	return fmt.Errorf("%s %s: %w", what, name, ErrNotFound)
}

func clampLimit(limit, maxLimit int) int {
	if limit <= 0 {
		return DefaultPageSize
	}
	return min(limit, maxLimit)
}

// escapeLike makes s match literally in LIKE ... ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// likePrefix is the LIKE ... ESCAPE '\' pattern of the repository names
// that start with prefix. SQLite's LIKE ignores the case of ASCII letters
// and PostgreSQL's does not; repository names are lower case
// (core.ValidRepository), so folding the prefix's ASCII letters gives
// SQLite's answer on both engines.
func likePrefix(prefix string) string {
	b := []byte(prefix)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return escapeLike(string(b)) + "%"
}

// ErrTooLarge is returned by ReadConfig for a config over the limit.
var ErrTooLarge = core.New(core.ErrInvalid, "too large")

// ReadConfig returns the config blob of an image manifest in repo (a Helm
// chart's Chart.yaml as JSON, an image's platform and history), at most
// limit bytes. Management layers show it; it is read like a pull, without
// the pull gate, so callers must check read access themselves.
func (rg *Registry) ReadConfig(ctx context.Context, repo string, d digest.Digest, limit int64) ([]byte, error) {
	mr, err := rg.meta.queryManifest(ctx, repo, d.String(), true)
	if errors.Is(err, errNotFound) {
		return nil, notFound("artifact", repo+"@"+d.String())
	}
	if err != nil {
		return nil, err
	}
	var m struct {
		Config *struct {
			Digest digest.Digest `json:"digest"`
			Size   int64         `json:"size"`
		} `json:"config"`
	}
	if err := json.Unmarshal(mr.Content, &m); err != nil || m.Config == nil {
		return nil, notFound("config of", repo+"@"+d.String())
	}
	if m.Config.Size > limit {
		return nil, fmt.Errorf("config of %s@%s is %d bytes: %w", repo, d, m.Config.Size, ErrTooLarge)
	}
	if _, err := rg.meta.blobSize(ctx, repo, m.Config.Digest); err != nil {
		return nil, notFound("config blob", m.Config.Digest.String())
	}
	rc, err := rg.blobs.Open(ctx, m.Config.Digest)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, limit))
}

// checkRepositoryDelete asks the delete gate about every tagged manifest
// of repo.
func (rg *Registry) checkRepositoryDelete(ctx context.Context, repo string) error {
	if _, ok := rg.deleteGate.(allowAll); ok {
		return nil
	}
	digests, err := rg.meta.page(ctx, `SELECT DISTINCT digest FROM registry_tags WHERE repo = ? ORDER BY digest`, repo)
	if err != nil {
		return err
	}
	for _, d := range digests {
		if err := rg.checkDelete(ctx, repo, "", digest.Digest(d)); err != nil {
			return err
		}
	}
	return nil
}

// ArtifactChildren lists the manifests an index references (its
// platforms), as stored.
func (rg *Registry) ArtifactChildren(ctx context.Context, d digest.Digest) ([]digest.Digest, error) {
	ds, err := rg.meta.page(ctx, `SELECT child FROM registry_manifest_refs WHERE parent = ? AND kind = 'manifest' ORDER BY child`, d.String())
	out := make([]digest.Digest, len(ds))
	for i, s := range ds {
		out[i] = digest.Digest(s)
	}
	return out, err
}

// releaseRepository takes what repo holds, and no other repository of its
// project does, off the project's usage; repo's rows are deleted next.
func releaseRepository(ctx context.Context, tx *sqldb.Tx, repo string) error {
	project := projectOf(repo)
	cond, args := inProject("o.repo", project)
	var blobs, manifests int64
	if err := tx.QueryRow(ctx, `SELECT COALESCE(SUM(b.size), 0) FROM registry_repo_blobs b WHERE b.repo = ?
		AND NOT EXISTS (SELECT 1 FROM registry_repo_blobs o WHERE o.digest = b.digest AND o.repo <> b.repo AND `+cond+`)`,
		append([]any{repo}, args...)...).Scan(&blobs); err != nil {
		return err
	}
	if err := tx.QueryRow(ctx, `SELECT COALESCE(SUM(m.size), 0) FROM registry_repo_manifests rm
		JOIN registry_manifests m ON m.digest = rm.digest WHERE rm.repo = ?
		AND NOT EXISTS (SELECT 1 FROM registry_repo_manifests o WHERE o.digest = rm.digest AND o.repo <> rm.repo AND `+cond+`)`,
		append([]any{repo}, args...)...).Scan(&manifests); err != nil {
		return err
	}
	return addUsage(ctx, tx, project, -(blobs + manifests))
}
