package registry

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/sqldb"
)

// metaStore keeps repositories, manifests, tags, blob links and upload
// bindings in SQL. Every listing is an indexed query.
type metaStore struct {
	db     *sqldb.DB
	cache  *manifestCache // nil: every read goes to SQL
	quotas Quotas         // nil: no limits (usage is counted anyway)
	// stored checks that a blob's bytes are in the store, for links made
	// where garbage collection may run in another process (nil: none can).
	stored func(ctx context.Context, d digest.Digest) error
}

// manifestRow is a stored manifest as a repository sees it.
type manifestRow struct {
	Digest       digest.Digest
	MediaType    string
	ArtifactType string
	Subject      digest.Digest
	Annotations  string
	Size         int64
	Content      []byte
}

var errNotFound = errors.New("not found")

func nowUnix(t time.Time) int64 { return t.UnixNano() }

func ensureRepo(ctx context.Context, tx *sqldb.Tx, repo string, now int64) error {
	res, err := tx.Exec(ctx, `INSERT INTO registry_repositories (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, repo, now)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return errors.Join(err, addRepositoryID(ctx, tx, repo))
	}
	return nil
}

// linkBlob makes a committed blob readable in repo.
func (m *metaStore) linkBlob(ctx context.Context, repo string, d digest.Digest, size int64, now time.Time) error {
	limit, err := m.quotaLimit(ctx, repo)
	if err != nil {
		return err
	}
	var notice *QuotaNotice
	defer func() { m.notice(ctx, notice) }()
	return m.db.Write(ctx, func(tx *sqldb.Tx) error {
		notice = nil // this attempt's: Write runs fn again after a deadlock
		t := nowUnix(now)
		if err := lockProject(ctx, tx, projectOf(repo)); err != nil {
			return err
		}
		if err := ensureRepo(ctx, tx, repo, t); err != nil {
			return err
		}
		delta, err := linkDelta(ctx, tx, "registry_repo_blobs", repo, d.String(), size)
		if err != nil {
			return err
		}
		if notice, err = m.reserve(ctx, tx, repo, delta, limit); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO registry_repo_blobs (repo, digest, size, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (repo, digest) DO UPDATE SET created_at = excluded.created_at`, repo, d.String(), size, t); err != nil {
			return err
		}
		// Unreferenced until a manifest names it; the link's time keeps it
		// through GC's grace window.
		return m.enqueueLinkedBlob(ctx, tx, d, t)
	})
}

// blobSize returns the size of a blob linked to repo, or errNotFound.
func (m *metaStore) blobSize(ctx context.Context, repo string, d digest.Digest) (int64, error) {
	var size int64
	err := m.db.QueryRow(ctx, `SELECT size FROM registry_repo_blobs WHERE repo = ? AND digest = ?`, repo, d.String()).Scan(&size)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errNotFound
	}
	return size, err
}

// unlinkBlob removes a blob from repo; errNotFound when it was not linked.
func (m *metaStore) unlinkBlob(ctx context.Context, repo string, d digest.Digest) error {
	return m.db.Write(ctx, func(tx *sqldb.Tx) error {
		if err := lockProject(ctx, tx, projectOf(repo)); err != nil {
			return err
		}
		var size int64
		if err := tx.QueryRow(ctx, `DELETE FROM registry_repo_blobs WHERE repo = ? AND digest = ? RETURNING size`,
			repo, d.String()).Scan(&size); err != nil {
			return notFoundIfNoRows(err)
		}
		delta, err := unlinkDelta(ctx, tx, "registry_repo_blobs", repo, d.String(), size)
		if err != nil {
			return err
		}
		if err := addUsage(ctx, tx, projectOf(repo), delta); err != nil {
			return err
		}
		return enqueueBlob(ctx, tx, d.String(), nowUnix(time.Now()))
	})
}

const manifestCols = `m.digest, m.media_type, m.artifact_type, m.subject, m.annotations, m.size`

func scanManifest(row interface{ Scan(...any) error }, withContent bool) (*manifestRow, error) {
	var mr manifestRow
	var d, subj string
	dest := []any{&d, &mr.MediaType, &mr.ArtifactType, &subj, &mr.Annotations, &mr.Size}
	if withContent {
		dest = append(dest, &mr.Content)
	}
	if err := row.Scan(dest...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errNotFound
		}
		return nil, err
	}
	mr.Digest, mr.Subject = digest.Digest(d), digest.Digest(subj)
	return &mr, nil
}

// manifest finds a manifest in repo by tag or digest.
func (m *metaStore) manifest(ctx context.Context, repo, ref string, withContent bool) (*manifestRow, error) {
	if m.cache == nil {
		return m.queryManifest(ctx, repo, ref, withContent)
	}
	if row := m.cache.get(repo, ref); row != nil {
		return row, nil
	}
	gen := m.cache.generation(repo)
	row, err := m.queryManifest(ctx, repo, ref, true)
	if err == nil {
		m.cache.put(repo, ref, gen, row)
	}
	return row, err
}

// changed marks repo's cached manifests stale after a write.
func (m *metaStore) changed(repo string) {
	if m.cache != nil {
		m.cache.invalidate(repo)
	}
}

func (m *metaStore) queryManifest(ctx context.Context, repo, ref string, withContent bool) (*manifestRow, error) {
	cols := manifestCols
	if withContent {
		cols += ", m.content"
	}
	var q string
	if strings.Contains(ref, ":") {
		q = `SELECT ` + cols + ` FROM registry_repo_manifests rm JOIN registry_manifests m ON m.digest = rm.digest
			WHERE rm.repo = ? AND rm.digest = ?`
	} else {
		q = `SELECT ` + cols + ` FROM registry_tags t JOIN registry_manifests m ON m.digest = t.digest
			WHERE t.repo = ? AND t.name = ?`
	}
	return scanManifest(m.db.QueryRow(ctx, q, repo, ref), withContent)
}

// repoExists reports whether a repository has ever received content.
func (m *metaStore) repoExists(ctx context.Context, repo string) (bool, error) {
	var n int
	err := m.db.QueryRow(ctx, `SELECT COUNT(*) FROM registry_repositories WHERE name = ?`, repo).Scan(&n)
	return n > 0, err
}

// page reads one column of strings from a paginated query.
func (m *metaStore) page(ctx context.Context, q string, args ...any) ([]string, error) {
	return scanStrings(m.db.Query(ctx, q, args...))
}

// scanStrings reads one column of strings from a query's rows.
func scanStrings(rows *sql.Rows, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// tags lists up to n tags after last, in lexical order.
func (m *metaStore) tags(ctx context.Context, repo, last string, n int) ([]string, error) {
	return m.page(ctx, `SELECT name FROM registry_tags WHERE repo = ? AND name > ? ORDER BY name LIMIT ?`, repo, last, n)
}

// repositories lists up to n repository names after last.
func (m *metaStore) repositories(ctx context.Context, last string, n int) ([]string, error) {
	return m.page(ctx, `SELECT name FROM registry_repositories WHERE name > ? ORDER BY name LIMIT ?`, last, n)
}

// referrers lists up to n manifests in repo whose subject is d, in digest
// order after last, optionally only of one artifact type.
func (m *metaStore) referrers(ctx context.Context, repo string, d digest.Digest, artifactType, last string, n int) ([]*manifestRow, error) {
	q := `SELECT ` + manifestCols + ` FROM registry_manifests m JOIN registry_repo_manifests rm ON rm.digest = m.digest
		WHERE rm.repo = ? AND m.subject = ? AND m.digest > ?`
	args := []any{repo, d.String(), last}
	if artifactType != "" {
		q += ` AND m.artifact_type = ?`
		args = append(args, artifactType)
	}
	rows, err := m.db.Query(ctx, q+` ORDER BY m.digest LIMIT ?`, append(args, n)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*manifestRow
	for rows.Next() {
		mr, err := scanManifest(rows, false)
		if err != nil {
			return nil, err
		}
		out = append(out, mr)
	}
	return out, rows.Err()
}

func notFoundIfNoRows(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return errNotFound
	}
	return err
}
