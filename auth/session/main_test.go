package session_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/pgtest"
	"github.com/berthlabs/berth/sqldb"
)

// pg is the PostgreSQL server this package's tests share.
var pg pgtest.Shared

func TestMain(m *testing.M) { os.Exit(pg.Run(m)) }

// onEngines runs fn on a SQLite file and on a fresh PostgreSQL schema.
func onEngines(t *testing.T, fn func(t *testing.T, db func() *sqldb.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "sessions.db")
		fn(t, func() *sqldb.DB {
			db, err := sqldb.OpenSQLite(t.Context(), path)
			return closing(t, db, err)
		})
	})
	t.Run("postgres", func(t *testing.T) {
		url := pg.Schema(t)
		fn(t, func() *sqldb.DB {
			db, err := sqldb.OpenPostgres(t.Context(), url)
			return closing(t, db, err)
		})
	})
}

func memoryDB(t *testing.T) *sqldb.DB {
	db, err := sqldb.OpenSQLiteMemory(t.Context())
	return closing(t, db, err)
}

func closing(t *testing.T, db *sqldb.DB, err error) *sqldb.DB {
	t.Helper()
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
