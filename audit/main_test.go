package audit

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/pgtest"
	"github.com/berthlabs/berth/sqldb"
)

// pg is the PostgreSQL server this package's tests share, each test with a
// database of its own.
var pg pgtest.Shared

func TestMain(m *testing.M) { os.Exit(pg.Run(m)) }

// PostgresDatabase returns the URL of a fresh database on the shared
// server, for audit_test's helpers (they cannot see pg).
func PostgresDatabase(t testing.TB) string { return pg.Database(t) }

// Engines names the databases OnEngines runs a test on: a private
// in-memory SQLite database, a SQLite file (a reader pool apart from the
// writer, as a server's) and a fresh PostgreSQL database.
var Engines = []string{"sqlite", "file", "postgres"}

// OpenEngine opens a fresh database of the named engine, closed when t
// ends.
func OpenEngine(t *testing.T, engine string) *sqldb.DB {
	t.Helper()
	var db *sqldb.DB
	var err error
	switch engine {
	case "sqlite":
		db, err = sqldb.OpenSQLiteMemory(t.Context())
	case "file":
		db, err = sqldb.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "berth.db"))
	case "postgres":
		db, err = sqldb.OpenPostgres(t.Context(), pg.Database(t))
	default:
		t.Fatalf("no engine %q", engine)
	}
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// OnEngines runs fn once on each of Engines, as subtests named after
// them, with a fresh database.
func OnEngines(t *testing.T, fn func(t *testing.T, db *sqldb.DB)) {
	t.Helper()
	for _, e := range Engines {
		t.Run(e, func(t *testing.T) { fn(t, OpenEngine(t, e)) })
	}
}
