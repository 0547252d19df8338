package sqldb

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/pgtest"
)

// pg is the PostgreSQL server this package's tests share, each test with a
// database of its own.
var pg pgtest.Shared

func TestMain(m *testing.M) { os.Exit(pg.Run(m)) }

// forEachEngine runs fn on a SQLite file and on a fresh PostgreSQL
// database. open opens one more handle on the same database (another
// process, in effect), closed when the test ends.
func forEachEngine(t *testing.T, fn func(t *testing.T, db *DB, open func() *DB)) {
	t.Helper()
	for _, engine := range []Dialect{SQLite, Postgres} {
		t.Run(string(engine), func(t *testing.T) {
			var connect func(ctx context.Context) (*DB, error)
			if engine == SQLite {
				path := filepath.Join(t.TempDir(), "test.db")
				connect = func(ctx context.Context) (*DB, error) { return OpenSQLite(ctx, path) }
			} else {
				url := pg.Database(t)
				connect = func(ctx context.Context) (*DB, error) { return OpenPostgres(ctx, url) }
			}
			open := func() *DB {
				db, err := connect(t.Context())
				require.NoError(t, err)
				t.Cleanup(func() { _ = db.Close() })
				return db
			}
			fn(t, open(), open)
		})
	}
}

// twoMigrations is one schema in each dialect, for MigrateDialect.
var twoMigrations = fstest.MapFS{
	"migrations/sqlite/0001_items.sql":   {Data: []byte("-- items\nCREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\nCREATE INDEX items_name ON items (name);\n")},
	"migrations/sqlite/0002_more.sql":    {Data: []byte("ALTER TABLE items ADD COLUMN size BIGINT NOT NULL DEFAULT 0;\n")},
	"migrations/postgres/0001_items.sql": {Data: []byte("-- items\nCREATE TABLE items (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL);\nCREATE INDEX items_name ON items (name);\n")},
	"migrations/postgres/0002_more.sql":  {Data: []byte("ALTER TABLE items ADD COLUMN size BIGINT NOT NULL DEFAULT 0;\n")},
}

// tableExists asks the engine's catalog.
func tableExists(t *testing.T, db *DB, name string) bool {
	t.Helper()
	q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
	if db.Dialect() == Postgres {
		q = `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?`
	}
	var n int
	require.NoError(t, db.QueryRow(t.Context(), q, name).Scan(&n))
	return n > 0
}
