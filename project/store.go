package project

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/sqldb"
)

//go:embed migrations
var migrations embed.FS

// Errors, matched with errors.Is. Every error the Store returns for a
// caller's mistake wraps one of them, so an API maps them to 404, 409, 412
// and 400.
var (
	ErrNotFound = core.ErrNotFound
	ErrExists   = core.ErrExists
	ErrNotEmpty = core.New(core.ErrPrecondition, "not empty")
	ErrInvalid  = core.ErrInvalid
)

// DefaultCacheSize is how many projects the in-process cache holds.
const DefaultCacheSize = 10000

// Store keeps projects and their members in SQL. It is safe for concurrent
// use. Keep one Store per database in a process: its cache sees only the
// changes made through it.
type Store struct {
	db        *sqldb.DB
	validRole func(string) error
	repoCount func(ctx context.Context, project string) (int, error)
	hooks     []func(context.Context, Change)
	now       func() time.Time
	cacheSize int
	cache     *cache // nil when disabled

	mu       sync.Mutex
	cascades []Cascade
}

// Option configures a Store.
type Option func(*Store)

// WithRoleValidator sets the check every member role passes (default:
// DefaultRoleValidator). Pass the rbac package's role lookup to allow
// custom roles.
func WithRoleValidator(f func(role string) error) Option {
	return func(s *Store) { s.validRole = f }
}

// WithRepositoryCounter sets how Delete learns whether a project still
// holds repositories; Delete refuses with ErrNotEmpty when it reports more
// than zero. Without it Delete does not check.
func WithRepositoryCounter(f func(ctx context.Context, project string) (int, error)) Option {
	return func(s *Store) { s.repoCount = f }
}

// WithChangeHook adds a function called after every committed project or
// member change, in the caller's goroutine, in the order hooks were added.
// It is never called for an operation that failed.
func WithChangeHook(f func(ctx context.Context, c Change)) Option {
	return func(s *Store) { s.hooks = append(s.hooks, f) }
}

// WithClock sets the time source for timestamps (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithCacheSize bounds the in-process project cache (default
// DefaultCacheSize; 0 disables it). The cache is used only when this
// process is the database's only user (sqldb.DB.Exclusive), where it is
// exact; with a shared database every lookup goes to SQL.
func WithCacheSize(n int) Option { return func(s *Store) { s.cacheSize = n } }

// NewStore returns a Store over db and applies the package's migrations.
func NewStore(ctx context.Context, db *sqldb.DB, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("project: a database is required")
	}
	if err := db.MigrateDialect(ctx, "project", migrations); err != nil {
		return nil, fmt.Errorf("project: %w", err)
	}
	s := &Store{
		db:        db,
		validRole: DefaultRoleValidator,
		now:       time.Now,
		cacheSize: DefaultCacheSize,
	}
	for _, o := range opts {
		o(s)
	}
	if s.validRole == nil {
		s.validRole = DefaultRoleValidator
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.cacheSize > 0 && db.Exclusive() {
		s.cache = newCache(s.cacheSize)
	}
	return s, nil
}

// timestamp is now, rounded to what the database stores.
func (s *Store) timestamp() time.Time { return fromUnix(s.now().UnixNano()) }

func fromUnix(n int64) time.Time { return time.Unix(0, n).UTC() }

// changed runs after a write: it invalidates the cache entry whatever the
// outcome (a failed commit may still have happened), and on success fires
// the hooks.
func (s *Store) changed(ctx context.Context, project string, err error, cs ...Change) {
	if s.cache != nil {
		s.cache.invalidate(project)
	}
	if err != nil {
		return
	}
	actor := actorFrom(ctx)
	for _, c := range cs {
		c.Actor = actor
		for _, h := range s.hooks {
			h(ctx, c)
		}
	}
}
