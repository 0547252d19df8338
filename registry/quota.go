package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/berthlabs/berth/sqldb"
)

// A project's storage usage is the size of every blob and manifest linked
// into its repositories, each counted once however many of its
// repositories hold it. It is kept exact in the transactions that link
// and unlink (pushes, mounts, deletions, garbage collection), so reading
// it costs one row and enforcing a limit needs no scan.

// Quotas tells the registry each project's storage limit and hears about
// usage near or over it; the server implements it over the project store.
type Quotas interface {
	// StorageLimit is the project's limit in bytes; negative: none.
	StorageLimit(ctx context.Context, project string) (int64, error)
	// QuotaNotice is told, after the fact, when a change takes usage to
	// QuotaWarnPercent of the limit or beyond, and when a push is refused.
	QuotaNotice(ctx context.Context, n QuotaNotice)
}

// QuotaWarnPercent is the usage, in percent of the limit, that warns.
const QuotaWarnPercent = 85

// QuotaNotice describes a project's usage crossing the warning level, or
// a refused push.
type QuotaNotice struct {
	Project    string
	Repository string
	Used       int64 // after the change (or, refused, before it)
	Limit      int64
	Requested  int64 // the bytes the change adds
	Exceeded   bool  // the push was refused
}

// WithQuotas enforces storage limits: a blob committed or mounted into a
// project, or a manifest stored, that would take its usage over the limit
// is refused with 403 DENIED, in Harbor's words.
func WithQuotas(q Quotas) Option { return func(r *Registry) { r.meta.quotas = q } }

// ProjectUsage is the storage a project uses, in bytes.
func (rg *Registry) ProjectUsage(ctx context.Context, project string) (int64, error) {
	var used int64
	err := rg.db.QueryRow(ctx, `SELECT bytes FROM registry_project_usage WHERE project = ?`, project).Scan(&used)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return used, err
}

// inProject is the condition "column names a repository of project".
func inProject(column, project string) (string, []any) {
	return `(` + column + ` = ? OR ` + column + ` LIKE ? ESCAPE '\')`, []any{project, likePrefix(project + "/")}
}

// sharedWriters reports whether other transactions write while tx runs
// (PostgreSQL: READ COMMITTED, side by side). With SQLite tx excludes
// every other writer until it ends.
func sharedWriters(tx *sqldb.Tx) bool { return tx.ForUpdate() != "" }

// lockProject makes tx the only transaction changing what project holds
// until it ends: every transaction that links or unlinks blobs and
// manifests, moves or deletes tags, or judges garbage in a project takes
// it first, so what it reads of the project (whether another repository
// holds a digest, the usage a quota check reads, the digest a tag points
// at, whether a manifest is still tagged) stays true until it commits,
// and the next one reads what it wrote. The lock is the project's usage
// row, created (at 0 bytes) if need be. With SQLite it does nothing:
// transactions run one at a time there anyway.
//
// It is a coarse lock, chosen over row locks on each table read, because
// the facts those transactions depend on are absences as often as rows
// (no other repository holds d, no tag points at m) and an absence
// cannot be locked. Transactions of one project wait for each other on
// PostgreSQL as all writers do on SQLite; other projects' go on.
func lockProject(ctx context.Context, tx *sqldb.Tx, project string) error {
	if !sharedWriters(tx) {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO registry_project_usage (project, bytes) VALUES (?, 0)
		ON CONFLICT (project) DO NOTHING`, project); err != nil {
		return err
	}
	var bytes int64
	return tx.QueryRow(ctx, `SELECT bytes FROM registry_project_usage WHERE project = ?`+tx.ForUpdate(), project).Scan(&bytes)
}

// lockProjects takes the locks of several projects, in name order so that
// two transactions taking some of the same ones cannot deadlock.
func lockProjects(ctx context.Context, tx *sqldb.Tx, projects []string) error {
	projects = slices.Clone(projects)
	slices.Sort(projects)
	for _, p := range slices.Compact(projects) {
		if err := lockProject(ctx, tx, p); err != nil {
			return err
		}
	}
	return nil
}

// linkDelta is what linking d (size bytes) into repo adds to its
// project's usage: nothing when the project holds d already. The caller
// holds the project's lock (lockProject).
func linkDelta(ctx context.Context, tx *sqldb.Tx, table, repo, d string, size int64) (int64, error) {
	cond, args := inProject("repo", projectOf(repo))
	var held bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+` WHERE digest = ? AND `+cond+`)`,
		append([]any{d}, args...)...).Scan(&held)
	if err != nil || held {
		return 0, err
	}
	return size, nil
}

// unlinkDelta is what unlinking d (size bytes) from repo, already done,
// takes from its project's usage: nothing while another repository of the
// project holds it. The caller holds the project's lock (lockProject).
func unlinkDelta(ctx context.Context, tx *sqldb.Tx, table, repo, d string, size int64) (int64, error) {
	delta, err := linkDelta(ctx, tx, table, repo, d, size)
	return -delta, err
}

// addUsage changes a project's usage by delta.
func addUsage(ctx context.Context, tx *sqldb.Tx, project string, delta int64) error {
	if delta == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO registry_project_usage (project, bytes) VALUES (?, ?)
		ON CONFLICT (project) DO UPDATE SET bytes = registry_project_usage.bytes + excluded.bytes`, project, delta)
	return err
}

// quotaLimit is a project's limit, or -1 without quotas.
func (m *metaStore) quotaLimit(ctx context.Context, repo string) (int64, error) {
	if m.quotas == nil {
		return -1, nil
	}
	return m.quotas.StorageLimit(ctx, projectOf(repo))
}

// reserve adds delta to repo's project's usage, in tx, unless that would
// exceed limit: then nothing changes and the error is Harbor's refusal.
// It returns the notice to give once tx commits, if any. The caller holds
// the project's lock (lockProject), so the usage read is the one the
// addition changes: concurrent pushes cannot both fit in the last room.
func (m *metaStore) reserve(ctx context.Context, tx *sqldb.Tx, repo string, delta, limit int64) (*QuotaNotice, error) {
	if delta == 0 {
		return nil, nil
	}
	project := projectOf(repo)
	if delta < 0 || limit < 0 {
		return nil, addUsage(ctx, tx, project, delta)
	}
	var used int64
	err := tx.QueryRow(ctx, `SELECT bytes FROM registry_project_usage WHERE project = ?`+tx.ForUpdate(), project).Scan(&used)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	n := &QuotaNotice{Project: project, Repository: repo, Used: used, Limit: limit, Requested: delta}
	if used+delta > limit {
		n.Exceeded = true
		return n, quotaRefusal(n)
	}
	if err := addUsage(ctx, tx, project, delta); err != nil {
		return nil, err
	}
	n.Used = used + delta
	if n.Used*100 >= limit*QuotaWarnPercent && used*100 < limit*QuotaWarnPercent {
		return n, nil // crossed the warning level
	}
	return nil, nil
}

// notice hands a notice to the Quotas, outside any transaction.
func (m *metaStore) notice(ctx context.Context, n *QuotaNotice) {
	if n != nil && m.quotas != nil {
		m.quotas.QuotaNotice(context.WithoutCancel(ctx), *n)
	}
}

// quotaRefusal is the registry's answer to a push over the limit: 403
// DENIED in Harbor's words.
func quotaRefusal(n *QuotaNotice) *Error {
	return newError(http.StatusForbidden, CodeDenied, fmt.Sprintf(
		"Quota exceeded when processing the request of adding %s of storage resource, which when updated to current usage of %s will exceed the configured upper limit of %s.",
		humanBytes(n.Requested), humanBytes(n.Used), humanBytes(n.Limit)))
}

// humanBytes writes n as Harbor does (1.5 MiB).
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for v := n / unit; v >= unit; v /= unit {
		div *= unit
		exp++
	}
	s := fmt.Sprintf("%.2f", float64(n)/float64(div))
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s + " " + string("KMGTPE"[exp]) + "iB"
}
