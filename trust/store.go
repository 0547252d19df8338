package trust

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/berthlabs/berth/sqldb"
)

//go:embed migrations
var migrations embed.FS

// MaxEntries bounds each trust store (the system's and each project's).
const MaxEntries = 256

// Store keeps trust stores and policies in SQL, with an in-memory cache of
// what each project's pulls are checked against. Safe for concurrent use.
type Store struct {
	db      *sqldb.DB
	now     func() time.Time
	ttl     time.Duration
	version atomic.Uint64

	mu    sync.RWMutex
	gen   uint64
	cache map[string]cached
}

type cached struct {
	eff    Effective
	loaded time.Time
}

// Effective is what applies to one project: its policy (or the system
// default), the system's and the project's trust store entries, and a
// version that changes whenever any of them does.
type Effective struct {
	Project string
	Policy  Policy
	// Inherited is true when the project has no policy of its own.
	Inherited bool
	Keys      KeySet
	Version   uint64
}

// StoreOption configures a Store.
type StoreOption func(*Store)

// WithStoreClock sets the clock that stamps entries.
func WithStoreClock(now func() time.Time) StoreOption { return func(s *Store) { s.now = now } }

// WithCacheTTL bounds how long a project's policy and keys are served from
// memory. The default is forever when this process is the database's only
// user (SQLite) and 30 seconds otherwise, since another node may change
// them.
func WithCacheTTL(d time.Duration) StoreOption { return func(s *Store) { s.ttl = d } }

// NewStore applies the trust migrations to db and returns a Store. A nil
// db gets a private in-memory SQLite database (tests, embedding).
func NewStore(ctx context.Context, db *sqldb.DB, opts ...StoreOption) (*Store, error) {
	if db == nil {
		var err error
		if db, err = sqldb.OpenSQLiteMemory(ctx); err != nil {
			return nil, fmt.Errorf("trust: %w", err)
		}
	}
	if err := db.MigrateDialect(ctx, "trust", migrations); err != nil {
		return nil, fmt.Errorf("trust: %w", err)
	}
	s := &Store{db: db, now: time.Now, cache: map[string]cached{}}
	if !db.Exclusive() {
		s.ttl = 30 * time.Second
	}
	for _, o := range opts {
		o(s)
	}
	s.version.Store(1)
	return s, nil
}

// Version changes after every change of a trust store or policy.
func (s *Store) Version() uint64 { return s.version.Load() }

func (s *Store) changed() {
	s.mu.Lock()
	s.gen++
	s.version.Add(1)
	clear(s.cache)
	s.mu.Unlock()
}

// AddEntry adds a public key or certificate (one PEM block) to a
// project's trust store, or to the system's when project is "".
func (s *Store) AddEntry(ctx context.Context, project, name string, pemText []byte) (*Entry, error) {
	e, err := ParseEntry(name, pemText)
	if err != nil {
		return nil, err
	}
	e.Project, e.Created = project, s.now().UTC()
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		// The counts decide the insert. On PostgreSQL, where writers run
		// side by side, additions take turns (they are rare): each counts
		// what the others committed, so a store never exceeds MaxEntries
		// and a taken name is ErrExists. On SQLite the transaction
		// excludes every other writer.
		if tx.ForUpdate() != "" {
			if _, err := tx.Exec(ctx, `LOCK TABLE trust_entries IN SHARE ROW EXCLUSIVE MODE`); err != nil {
				return err
			}
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM trust_entries WHERE project = ?`, project).Scan(&n); err != nil {
			return err
		}
		if n >= MaxEntries {
			return fmt.Errorf("%w: the trust store already holds %d entries, the limit", ErrInvalid, n)
		}
		var dup int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM trust_entries WHERE project = ? AND name = ?`, project, e.Name).Scan(&dup); err != nil {
			return err
		}
		if dup > 0 {
			return fmt.Errorf("%w: the trust store already has an entry named %q", ErrExists, e.Name)
		}
		return tx.QueryRow(ctx, `INSERT INTO trust_entries (project, name, kind, key_id, subject, pem, created)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, project, e.Name, string(e.Kind), e.KeyID, e.Subject, e.PEM,
			e.Created.UnixNano()).Scan(&e.ID)
	})
	if err != nil {
		return nil, wrapDB("adding a trust store entry", err)
	}
	s.changed()
	return e, nil
}

func wrapDB(what string, err error) error {
	if errors.Is(err, ErrInvalid) || errors.Is(err, ErrExists) || errors.Is(err, ErrNotFound) {
		return err
	}
	return fmt.Errorf("trust: %s: %w", what, err)
}

// Entries lists a project's trust store (the system's for ""), by name.
func (s *Store) Entries(ctx context.Context, project string) ([]*Entry, error) {
	rows, err := s.db.Query(ctx, `SELECT id, name, pem, created FROM trust_entries WHERE project = ? ORDER BY name`, project)
	if err != nil {
		return nil, wrapDB("listing a trust store", err)
	}
	defer rows.Close()
	var out []*Entry
	for rows.Next() {
		var id, created int64
		var name, pemText string
		if err := rows.Scan(&id, &name, &pemText, &created); err != nil {
			return nil, wrapDB("listing a trust store", err)
		}
		e, err := ParseEntry(name, []byte(pemText))
		if err != nil {
			return nil, fmt.Errorf("trust: stored entry %d: %w", id, err)
		}
		e.ID, e.Project, e.Created = id, project, time.Unix(0, created).UTC()
		out = append(out, e)
	}
	return out, wrapRows(rows.Err())
}

func wrapRows(err error) error {
	if err != nil {
		return fmt.Errorf("trust: %w", err)
	}
	return nil
}

// DeleteEntry removes an entry, by ID, from a project's trust store.
func (s *Store) DeleteEntry(ctx context.Context, project string, id int64) error {
	err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM trust_entries WHERE project = ? AND id = ?`, project, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: no trust store entry %d", ErrNotFound, id)
		}
		return nil
	})
	if err != nil {
		return wrapDB("deleting a trust store entry", err)
	}
	s.changed()
	return nil
}

// DeleteProject removes a project's trust store and policy (call it when
// the project is deleted).
func (s *Store) DeleteProject(ctx context.Context, project string) error {
	err := s.db.Write(ctx, func(tx *sqldb.Tx) error { return s.ForgetProject(ctx, tx, project) })
	if err != nil {
		return wrapDB("deleting a project's trust settings", err)
	}
	return nil
}

// ForgetProject removes a project's trust store and policy inside tx, the
// transaction deleting the project. project is the key its settings are
// kept under (ProjectKey for stores keyed by project id). A cached entry
// outliving a rolled-back transaction is only re-read.
func (s *Store) ForgetProject(ctx context.Context, tx *sqldb.Tx, project string) error {
	if project == "" {
		return fmt.Errorf("%w: the system trust store is not a project", ErrInvalid)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM trust_entries WHERE project = ?`, project); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM trust_policies WHERE project = ?`, project); err != nil {
		return err
	}
	s.changed()
	return nil
}

// SetPolicy sets a project's policy, or the system default for "".
func (s *Store) SetPolicy(ctx context.Context, project string, p Policy) error {
	p, err := p.Validate()
	if err != nil {
		return err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO trust_policies (project, policy, updated) VALUES (?, ?, ?)
			ON CONFLICT (project) DO UPDATE SET policy = excluded.policy, updated = excluded.updated`,
			project, string(b), s.now().UnixNano())
		return err
	})
	if err != nil {
		return wrapDB("setting a policy", err)
	}
	s.changed()
	return nil
}

// ResetPolicy removes a project's own policy, so the system default
// applies again.
func (s *Store) ResetPolicy(ctx context.Context, project string) error {
	err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM trust_policies WHERE project = ?`, project)
		return err
	})
	if err != nil {
		return wrapDB("resetting a policy", err)
	}
	s.changed()
	return nil
}

// Policy returns a project's own policy (the system default for ""), and
// false when it has none.
func (s *Store) Policy(ctx context.Context, project string) (Policy, bool, error) {
	var raw string
	err := s.db.QueryRow(ctx, `SELECT policy FROM trust_policies WHERE project = ?`, project).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return Policy{Mode: ModeOff, Format: FormatEither}, false, nil
	}
	if err != nil {
		return Policy{}, false, wrapDB("reading a policy", err)
	}
	var p Policy
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		return Policy{}, false, fmt.Errorf("trust: stored policy of %q: %w", project, err)
	}
	return p, true, nil
}

// Effective returns what applies to a project's pulls, from memory when
// it can.
func (s *Store) Effective(ctx context.Context, project string) (Effective, error) {
	s.mu.RLock()
	c, ok := s.cache[project]
	gen := s.gen
	s.mu.RUnlock()
	if ok && (s.ttl == 0 || s.now().Sub(c.loaded) < s.ttl) {
		return c.eff, nil
	}
	version := s.version.Load()
	eff, err := s.load(ctx, project)
	if err != nil {
		return eff, err
	}
	eff.Version = version
	s.mu.Lock()
	if gen == s.gen {
		if ok {
			// A reload after the TTL: another node may have changed
			// something, so cached decisions must not be reused.
			eff.Version = s.version.Add(1)
			s.gen++
		}
		if len(s.cache) >= 4096 {
			clear(s.cache)
		}
		s.cache[project] = cached{eff: eff, loaded: s.now()}
	}
	s.mu.Unlock()
	return eff, nil
}

func (s *Store) load(ctx context.Context, project string) (Effective, error) {
	eff := Effective{Project: project}
	p, own, err := s.Policy(ctx, project)
	if err != nil {
		return eff, err
	}
	if !own && project != "" {
		if p, _, err = s.Policy(ctx, ""); err != nil {
			return eff, err
		}
	}
	eff.Policy, eff.Inherited = p, !own
	sys, err := s.Entries(ctx, "")
	if err != nil {
		return eff, err
	}
	eff.Keys.Entries = sys
	if project != "" {
		proj, err := s.Entries(ctx, project)
		if err != nil {
			return eff, err
		}
		eff.Keys.Entries = append(eff.Keys.Entries, proj...)
	}
	return eff, nil
}

// ProjectOf is the project of a repository: its first path component.
func ProjectOf(repo string) string {
	p, _, _ := strings.Cut(repo, "/")
	return p
}
