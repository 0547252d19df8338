package server

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/pgtest"
	"github.com/berthlabs/berth/sqldb"
)

// Settings set on one node are read by another on the same database, on
// both engines; migrating twice (a second node starting) changes nothing.
func TestSettingsStoreSharedByNodes(t *testing.T) {
	engines := map[string]func(t *testing.T) (*sqldb.DB, *sqldb.DB){
		"sqlite": func(t *testing.T) (*sqldb.DB, *sqldb.DB) {
			db, err := sqldb.OpenSQLite(t.Context(), filepath.Join(t.TempDir(), "berth.db"))
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			return db, db // one process holds a SQLite file
		},
		"postgres": func(t *testing.T) (*sqldb.DB, *sqldb.DB) {
			url := pgtest.Start(t).Database(t)
			var dbs [2]*sqldb.DB
			for i := range dbs {
				db, err := sqldb.OpenPostgres(t.Context(), url)
				require.NoError(t, err)
				t.Cleanup(func() { _ = db.Close() })
				dbs[i] = db
			}
			return dbs[0], dbs[1]
		},
	}
	for name, open := range engines {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			db1, db2 := open(t)
			one, err := openSettings(ctx, db1)
			require.NoError(t, err)
			two, err := openSettings(ctx, db2)
			require.NoError(t, err)

			got, err := two.Settings(ctx)
			require.NoError(t, err)
			assert.Empty(t, got)
			require.NoError(t, one.SetSettings(ctx, map[string]string{"project_creation_restriction": "adminonly",
				"robot_token_duration": "3"}))
			require.NoError(t, one.SetSettings(ctx, map[string]string{"robot_token_duration": "9"}))
			got, err = two.Settings(ctx)
			require.NoError(t, err)
			assert.Equal(t, map[string]string{"project_creation_restriction": "adminonly", "robot_token_duration": "9"}, got)
		})
	}
}
