package scan

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/pgtest"
	"github.com/berthlabs/berth/sqldb"
)

// pg is the PostgreSQL server this package's tests share, each test with a
// database of its own.
var pg pgtest.Shared

func TestMain(m *testing.M) { os.Exit(pg.Run(m)) }

// The engines a test runs on, for this package's tests and scan_test's
// (which cannot see pg): OnEngines runs a test on each, and DBOpener and
// OpenDB open a database of the engine of the test they are given.

// engine is a database a test runs on.
type engine string

const (
	// sqliteFile is a SQLite file: the job queue's pool (DB.NewPool)
	// needs one, as the server's does.
	sqliteFile engine = "sqlite"
	postgres   engine = "postgres" // a fresh database on the shared PostgreSQL server
)

// testEngines maps the name of each OnEngines subtest to its engine.
var testEngines sync.Map

// OnEngines runs fn on a SQLite file and on PostgreSQL, as subtests
// named after them; DBOpener and OpenDB in fn, or in fn's own subtests,
// open a database of that engine.
func OnEngines(t *testing.T, fn func(t *testing.T)) {
	t.Helper()
	for _, e := range []engine{sqliteFile, postgres} {
		t.Run(string(e), func(t *testing.T) {
			testEngines.Store(t.Name(), e)
			t.Cleanup(func() { testEngines.Delete(t.Name()) })
			fn(t)
		})
	}
}

// engineOf is the engine of t's closest OnEngines subtest, or a SQLite
// file.
func engineOf(t testing.TB) engine {
	for name := t.Name(); ; {
		if e, ok := testEngines.Load(name); ok {
			return e.(engine)
		}
		i := strings.LastIndexByte(name, '/')
		if i < 0 {
			return sqliteFile
		}
		name = name[:i]
	}
}

// DBOpener returns how to open one new database of t's engine, again and
// again (processes sharing it, or one restarting on it); the caller
// closes what it opens.
func DBOpener(t testing.TB) func() (*sqldb.DB, error) {
	t.Helper()
	if engineOf(t) == postgres {
		url := pg.Database(t)
		return func() (*sqldb.DB, error) { return sqldb.OpenPostgres(context.Background(), url) }
	}
	path := filepath.Join(t.TempDir(), "berth.db")
	return func() (*sqldb.DB, error) { return sqldb.OpenSQLite(context.Background(), path) }
}

// OpenDB opens a new database of t's engine, closed when t ends.
func OpenDB(t testing.TB) *sqldb.DB {
	t.Helper()
	db, err := DBOpener(t)()
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}
