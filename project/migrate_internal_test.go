package project

import (
	"context"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/sqldb"
)

// Members stored before they were keyed by project id keep their grants,
// on either engine.
func TestMembersMigrateToProjectIDs(t *testing.T) {
	open := map[sqldb.Dialect]func(t *testing.T) (*sqldb.DB, error){
		sqldb.SQLite:   func(t *testing.T) (*sqldb.DB, error) { return sqldb.OpenSQLiteMemory(t.Context()) },
		sqldb.Postgres: func(t *testing.T) (*sqldb.DB, error) { return sqldb.OpenPostgres(t.Context(), pg.Database(t)) },
	}
	for _, dialect := range []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres} {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			db, err := open[dialect](t)
			require.NoError(t, err)
			defer db.Close()
			first, err := fs.ReadFile(migrations, "migrations/"+string(dialect)+"/0001_project.sql")
			require.NoError(t, err)
			require.NoError(t, db.Migrate(ctx, "project", fstest.MapFS{"0001_project.sql": {Data: first}}))
			require.NoError(t, db.Write(ctx, func(tx *sqldb.Tx) error {
				if _, err := tx.Exec(ctx, `INSERT INTO project_projects (name, id, public, created_at, updated_at) VALUES ('app', 7, ?, 1, 1)`, false); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `INSERT INTO project_members (project, subject, role, created_at, updated_at) VALUES ('app', 'user:alice', 'developer', 1, 1)`)
				return err
			}))

			s, err := NewStore(ctx, db)
			require.NoError(t, err)
			ms, total, err := s.ListMembers(ctx, "app", MemberFilter{}, Page{})
			require.NoError(t, err)
			require.Equal(t, 1, total)
			assert.Equal(t, "user:alice", ms[0].Subject)
			assert.Equal(t, "developer", ms[0].Role)
			var id int64
			require.NoError(t, db.QueryRow(ctx, `SELECT project_id FROM project_members`).Scan(&id))
			assert.Equal(t, int64(7), id)
		})
	}
}
