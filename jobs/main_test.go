package jobs_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/pgtest"
	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/sqldb"
)

// pg is the PostgreSQL server this package's tests share, each test with a
// database of its own.
var pg pgtest.Shared

func TestMain(m *testing.M) { os.Exit(pg.Run(m)) }

// engine is one database for River's tables. open opens another pool on
// it (another process, in effect), migrated, and closes it when the test
// ends, after the runners started on it have stopped.
type engine struct {
	name string
	open func(t testing.TB) *sql.DB
}

// engines runs fn on a SQLite file and on a fresh PostgreSQL database.
func engines(t *testing.T, fn func(t *testing.T, e engine)) {
	t.Helper()
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) { fn(t, newEngine(t, name)) })
	}
}

func newEngine(t *testing.T, name string) engine {
	if name == "sqlite" {
		path := filepath.Join(t.TempDir(), "berth.db")
		return engine{name: name, open: func(t testing.TB) *sql.DB { return openDB(t, path) }}
	}
	url := pg.Database(t)
	return engine{name: name, open: func(t testing.TB) *sql.DB { return openPostgres(t, url) }}
}

// openPostgres opens River's pool on the PostgreSQL database at url as a
// server would (sqldb's settings, a pool of its own of four connections)
// and migrates it.
func openPostgres(t testing.TB, url string) *sql.DB {
	t.Helper()
	pool := openPostgresPool(t, url, 4)
	require.NoError(t, jobs.Migrate(context.Background(), pool))
	return pool
}

// openPostgresPool opens a pool of size connections with sqldb's settings,
// closed when the test ends.
func openPostgresPool(t testing.TB, url string, size int) *sql.DB {
	t.Helper()
	ctx := context.Background()
	sdb, err := sqldb.OpenPostgres(ctx, url)
	require.NoError(t, err)
	pool, err := sdb.NewPool(ctx, size)
	require.NoError(t, sdb.Close()) // the pool is independent of it
	require.NoError(t, err)
	t.Cleanup(func() { _ = pool.Close() })
	return pool
}
