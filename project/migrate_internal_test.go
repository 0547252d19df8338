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

// Members stored before they had numbers get 1, 2, ... in key order on
// upgrade, on either engine, and new grants continue after them.
func TestMemberIDsBackfilled(t *testing.T) {
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
			old := fstest.MapFS{}
			for _, f := range []string{"0001_project.sql", "0002_member_project_ids.sql"} {
				b, err := fs.ReadFile(migrations, "migrations/"+string(dialect)+"/"+f)
				require.NoError(t, err)
				old[f] = &fstest.MapFile{Data: b}
			}
			require.NoError(t, db.Migrate(ctx, "project", old))
			require.NoError(t, db.Write(ctx, func(tx *sqldb.Tx) error {
				for _, q := range []string{
					`INSERT INTO project_projects (name, id, public, created_at, updated_at) VALUES ('b', 2, FALSE, 1, 1)`,
					`INSERT INTO project_projects (name, id, public, created_at, updated_at) VALUES ('a', 5, FALSE, 1, 1)`,
					`UPDATE project_seq SET last_id = 5`,
					`INSERT INTO project_members (project_id, subject, role, created_at, updated_at) VALUES (5, 'user:alice', 'guest', 1, 1)`,
					`INSERT INTO project_members (project_id, subject, role, created_at, updated_at) VALUES (2, 'user:zed', 'guest', 1, 1)`,
					`INSERT INTO project_members (project_id, subject, role, created_at, updated_at) VALUES (2, 'group:g', 'developer', 1, 1)`,
				} {
					if _, err := tx.Exec(ctx, q); err != nil {
						return err
					}
				}
				return nil
			}))

			s, err := NewStore(ctx, db)
			require.NoError(t, err)
			got := map[string]int64{}
			for _, p := range []string{"a", "b"} {
				ms, _, err := s.ListMembers(ctx, p, MemberFilter{}, Page{})
				require.NoError(t, err)
				for _, m := range ms {
					got[p+" "+m.Subject] = m.ID
				}
			}
			assert.Equal(t, map[string]int64{"b group:g": 1, "b user:zed": 2, "a user:alice": 3}, got)
			m, err := s.AddMember(ctx, Member{Project: "a", Subject: "user:bob", Role: "guest"})
			require.NoError(t, err)
			assert.Equal(t, int64(4), m.ID)
		})
	}
}
