package project_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/sqldb"
)

// backends runs fn against an in-memory and a file-backed SQLite database,
// and a fresh PostgreSQL database.
func backends(t *testing.T, fn func(t *testing.T, db *sqldb.DB)) {
	t.Helper()
	open := map[string]func(t *testing.T) (*sqldb.DB, error){
		"memory": func(t *testing.T) (*sqldb.DB, error) { return sqldb.OpenSQLiteMemory(t.Context()) },
		"file": func(t *testing.T) (*sqldb.DB, error) {
			return sqldb.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "berth.db"))
		},
		"postgres": func(t *testing.T) (*sqldb.DB, error) {
			return sqldb.OpenPostgres(t.Context(), project.PostgresDatabase(t))
		},
	}
	for _, name := range []string{"memory", "file", "postgres"} {
		t.Run(name, func(t *testing.T) {
			db, err := open[name](t)
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			fn(t, db)
		})
	}
}

// epoch is the fake clock's start.
var epoch = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// clock returns a time source that advances one second per call.
func clock() func() time.Time {
	var n atomic.Int64
	return func() time.Time { return epoch.Add(time.Duration(n.Add(1)) * time.Second) }
}

func newStore(t *testing.T, db *sqldb.DB, opts ...project.Option) *project.Store {
	t.Helper()
	s, err := project.NewStore(context.Background(), db, append([]project.Option{project.WithClock(clock())}, opts...)...)
	require.NoError(t, err)
	return s
}

func ptr[T any](v T) *T { return &v }
