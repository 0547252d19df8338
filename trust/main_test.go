package trust_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/pgtest"
	"github.com/berthlabs/berth/sqldb"
)

// pg is the PostgreSQL server this package's tests share, each test with a
// database of its own.
var pg pgtest.Shared

func TestMain(m *testing.M) { os.Exit(pg.Run(m)) }

// onEngines runs fn on a private in-memory SQLite database and on a fresh
// PostgreSQL database, as subtests "sqlite" and "postgres".
func onEngines(t *testing.T, fn func(t *testing.T, db *sqldb.DB)) {
	t.Helper()
	for _, e := range []string{"sqlite", "postgres"} {
		t.Run(e, func(t *testing.T) { fn(t, openDB(t, e)) })
	}
}

// openDB opens a fresh database on engine "sqlite" (in memory) or
// "postgres", closed when t ends.
func openDB(t *testing.T, engine string) *sqldb.DB {
	t.Helper()
	var db *sqldb.DB
	var err error
	if engine == "postgres" {
		db, err = sqldb.OpenPostgres(t.Context(), pg.Database(t))
	} else {
		db, err = sqldb.OpenSQLiteMemory(t.Context())
	}
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}
