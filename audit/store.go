package audit

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/berthlabs/berth/sqldb"
)

//go:embed migrations
var migrations embed.FS

// Store is the durable audit log in a SQL database.
type Store struct {
	db       *sqldb.DB
	now      func() time.Time
	projects Projects // nil: entries keep ProjectID as given
}

// Projects resolves a project name to its immutable id; ok is false when
// there is no such project. *project.Store implements it.
type Projects interface {
	ProjectID(ctx context.Context, name string) (id int64, ok bool, err error)
}

// WithProjects makes Record (and a Recorder's Record) fill in the
// ProjectID of entries that name a Project but no id, from the project
// currently holding that name.
func WithProjects(p Projects) StoreOption { return func(s *Store) { s.projects = p } }

// prepare normalizes e and resolves its project id.
func (s *Store) prepare(ctx context.Context, e Entry) (Entry, error) {
	e, err := e.normalize(s.now)
	if err != nil || e.ProjectID != 0 || e.Project == "" || s.projects == nil {
		return e, err
	}
	id, ok, err := s.projects.ProjectID(ctx, e.Project)
	if err != nil {
		return e, fmt.Errorf("audit: project %q: %w", e.Project, err)
	}
	if ok {
		e.ProjectID = id
	}
	return e, nil
}

// StoreOption configures a Store.
type StoreOption func(*Store)

// WithClock sets the clock that stamps entries recorded without a time.
func WithClock(now func() time.Time) StoreOption { return func(s *Store) { s.now = now } }

// NewStore applies the audit log's migrations to db and returns a Store
// over it.
func NewStore(ctx context.Context, db *sqldb.DB, opts ...StoreOption) (*Store, error) {
	if db == nil {
		return nil, errors.New("audit: a database is required")
	}
	if err := db.MigrateDialect(ctx, "audit", migrations); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	s := &Store{db: db, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// Record writes one entry. It is durable when Record returns nil. For
// frequent events (pulls) use a Recorder, which batches.
func (s *Store) Record(ctx context.Context, e Entry) error {
	e, err := s.prepare(ctx, e)
	if err != nil {
		return err
	}
	return s.insert(ctx, []Entry{e})
}

const insertSQL = `INSERT INTO audit_log (op_time, actor, actor_kind, action, resource_type,
	resource, project, project_id, result, detail, remote_addr, user_agent, count, attempted_user)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// insert writes normalized entries in one transaction.
func (s *Store) insert(ctx context.Context, entries []Entry) error {
	err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		for _, e := range entries {
			if _, err := tx.Exec(ctx, insertSQL, e.Time.UnixNano(), e.Actor, e.ActorKind, e.Action,
				e.ResourceType, e.Resource, e.Project, e.ProjectID, e.Result, e.Detail, e.RemoteAddr, e.UserAgent,
				max(e.Count, 1), e.AttemptedUser); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("audit: write %d entries: %w", len(entries), err)
	}
	return nil
}

// purgeChunk bounds each purge transaction, so retention never holds the
// database's single writer for long.
const purgeChunk = 5000

// Purge deletes the entries older than before and reports how many. It
// deletes in short transactions; a cancelled context stops it between two.
// A zero before deletes nothing.
func (s *Store) Purge(ctx context.Context, before time.Time) (int64, error) {
	if before.IsZero() {
		return 0, nil
	}
	return s.PurgeOperations(ctx, before, nil, false)
}

// minTime and maxTime bound the times an int64 of Unix nanoseconds holds.
func minTime() time.Time { return time.Unix(0, math.MinInt64) }
func maxTime() time.Time { return time.Unix(0, math.MaxInt64) }

// nanos converts t to Unix nanoseconds, clamped to the representable
// range; the zero time gives zero (the caller's "unbounded" value).
func nanos(t time.Time, zero int64) int64 {
	switch {
	case t.IsZero():
		return zero
	case t.Before(minTime()):
		return math.MinInt64
	case t.After(maxTime()):
		return math.MaxInt64
	}
	return t.UnixNano()
}
