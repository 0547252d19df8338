package registry

import (
	"context"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/sqldb"
)

// uploadRow binds an upload session to the repository that opened it and
// to whose quota it counts against. Times are nowUnix values.
type uploadRow struct {
	ID, Repo  string
	Owner     string // see uploadOwner
	Project   string // projectOf(Repo)
	StartedAt int64
	TouchedAt int64 // the start or the last acknowledged chunk
}

// uploadCountsQuery counts an owner's, a project's and all sessions active
// since a time: each a range of one index (owner, project, touched_at).
const uploadCountsQuery = `SELECT
	(SELECT COUNT(*) FROM registry_uploads WHERE owner = ? AND touched_at >= ?),
	(SELECT COUNT(*) FROM registry_uploads WHERE project = ? AND touched_at >= ?),
	(SELECT COUNT(*) FROM registry_uploads WHERE touched_at >= ?)`

// expireUploadsQuery forgets the sessions idle since or started before
// two times, through the touched_at and started_at indexes.
const expireUploadsQuery = `DELETE FROM registry_uploads WHERE touched_at < ? OR started_at < ? RETURNING id`

// reserveUpload records a new session when its owner, its project and the
// registry are each under their caps, counting the sessions active since
// (touched at or after it). Counting and inserting are one transaction
// that first takes the gate row: SQLite serialises writers anyway, and on
// an engine with concurrent writers the row lock orders reservations while
// every statement after it sees those committed before, so concurrent
// starts never overshoot a cap. A full cap is a *capReached.
func (m *metaStore) reserveUpload(ctx context.Context, u uploadRow, since int64, caps uploadCaps) error {
	return m.db.Write(ctx, func(tx *sqldb.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE registry_upload_gate SET reservations = reservations + 1 WHERE id = 1`); err != nil {
			return err
		}
		var user, project, all int
		err := tx.QueryRow(ctx, uploadCountsQuery, u.Owner, since, u.Project, since, since).Scan(&user, &project, &all)
		if err != nil {
			return err
		}
		switch {
		case user >= caps.perUser:
			return &capReached{which: "user", limit: caps.perUser}
		case project >= caps.perProject:
			return &capReached{which: "project", limit: caps.perProject}
		case all >= caps.global:
			return &capReached{which: "registry", limit: caps.global}
		}
		_, err = tx.Exec(ctx, `INSERT INTO registry_uploads (id, repo, owner, project, started_at, touched_at)
			VALUES (?, ?, ?, ?, ?, ?)`, u.ID, u.Repo, u.Owner, u.Project, u.StartedAt, u.TouchedAt)
		return err
	})
}

// uploadSession returns an upload session's binding, or errNotFound.
func (m *metaStore) uploadSession(ctx context.Context, id string) (uploadRow, error) {
	u := uploadRow{ID: id}
	err := m.db.QueryRow(ctx, `SELECT repo, started_at, touched_at FROM registry_uploads WHERE id = ?`, id).
		Scan(&u.Repo, &u.StartedAt, &u.TouchedAt)
	return u, notFoundIfNoRows(err)
}

// touchUpload records activity on a session; errNotFound when the session
// has been purged meanwhile.
func (m *metaStore) touchUpload(ctx context.Context, id string, now time.Time) error {
	return m.db.Write(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE registry_uploads SET touched_at = ? WHERE id = ?`, nowUnix(now), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errNotFound
		}
		return nil
	})
}

func (m *metaStore) deleteUpload(ctx context.Context, id string) error {
	return m.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM registry_uploads WHERE id = ?`, id)
		return err
	})
}

// expireUploads forgets the sessions idle since before idleBefore or
// started before startedBefore and returns their ids.
func (m *metaStore) expireUploads(ctx context.Context, idleBefore, startedBefore time.Time) ([]string, error) {
	var ids []string
	err := m.db.Write(ctx, func(tx *sqldb.Tx) error {
		ids = ids[:0]
		rows, err := tx.Query(ctx, expireUploadsQuery, nowUnix(idleBefore), nowUnix(startedBefore))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	return ids, err
}

// finishUpload links the committed blob and forgets the session in one
// transaction.
func (m *metaStore) finishUpload(ctx context.Context, id, repo string, d digest.Digest, size int64, now time.Time) error {
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
		if err := m.enqueueLinkedBlob(ctx, tx, d, t); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM registry_uploads WHERE id = ?`, id)
		return err
	})
}

// repoBlob is a blob linked to a repository.
type repoBlob struct {
	Repo string
	Size int64
}

// blobHolders lists up to n repositories, in name order, that hold d: only
// those of project when project is not empty.
func (m *metaStore) blobHolders(ctx context.Context, project string, d digest.Digest, n int) ([]repoBlob, error) {
	q, args := `SELECT repo, size FROM registry_repo_blobs WHERE digest = ?`, []any{d.String()}
	if project != "" {
		q += ` AND repo LIKE ? ESCAPE '\'`
		args = append(args, likePrefix(project+"/"))
	}
	rows, err := m.db.Query(ctx, q+` ORDER BY repo LIMIT ?`, append(args, n)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []repoBlob
	for rows.Next() {
		var b repoBlob
		if err := rows.Scan(&b.Repo, &b.Size); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}
