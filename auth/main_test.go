package auth

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/pgtest"
	"github.com/berthlabs/berth/sqldb"
)

// pg is the PostgreSQL server this package's tests share.
var pg pgtest.Shared

func TestMain(m *testing.M) { os.Exit(pg.Run(m)) }

// PostgresDatabase returns the URL of a fresh, empty schema on the shared
// server (pgtest.Shared.Schema), for this package's tests and auth_test's
// (they cannot see pg).
func PostgresDatabase(t testing.TB) string { return pg.Schema(t) }

// OnEngines runs fn as subtests on each engine: "sqlite" (in memory) and
// "postgres" (a fresh schema on the shared server, PostgresDatabase). auth_test uses it
// too.
func OnEngines(t *testing.T, fn func(t *testing.T, db *sqldb.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, memoryDB(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, postgresDB(t)) })
}

// forEachDB is OnEngines with a SQLite file as well, which reads through
// a pool of its own, as the server's database does.
func forEachDB(t *testing.T, fn func(t *testing.T, db *sqldb.DB)) {
	t.Helper()
	OnEngines(t, fn)
	t.Run("sqlite-file", func(t *testing.T) { fn(t, fileDB(t)) })
}

func memoryDB(t testing.TB) *sqldb.DB {
	db, err := sqldb.OpenSQLiteMemory(t.Context())
	return closing(t, db, err)
}

func fileDB(t testing.TB) *sqldb.DB {
	db, err := sqldb.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "auth.db"))
	return closing(t, db, err)
}

func postgresDB(t testing.TB) *sqldb.DB {
	db, err := sqldb.OpenPostgres(t.Context(), PostgresDatabase(t))
	return closing(t, db, err)
}

// closing fails t on err and closes db when t ends.
func closing(t testing.TB, db *sqldb.DB, err error) *sqldb.DB {
	t.Helper()
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}
