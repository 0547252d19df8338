package export_test

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
		t.Run(e, func(t *testing.T) {
			var db *sqldb.DB
			var err error
			if e == "postgres" {
				db, err = sqldb.OpenPostgres(t.Context(), pg.Schema(t))
			} else {
				db, err = sqldb.OpenSQLiteMemory(t.Context())
			}
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			fn(t, db)
		})
	}
}
