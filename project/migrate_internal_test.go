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

// Members stored before they were keyed by project id keep their grants.
func TestMembersMigrateToProjectIDs(t *testing.T) {
	ctx := context.Background()
	db, err := sqldb.OpenSQLiteMemory(ctx)
	require.NoError(t, err)
	defer db.Close()
	first, err := fs.ReadFile(migrations, "migrations/sqlite/0001_project.sql")
	require.NoError(t, err)
	require.NoError(t, db.Migrate(ctx, "project", fstest.MapFS{"0001_project.sql": {Data: first}}))
	require.NoError(t, db.Write(ctx, func(tx *sqldb.Tx) error {
		for _, q := range []string{
			`INSERT INTO project_projects (name, id, public, created_at, updated_at) VALUES ('app', 7, 0, 1, 1)`,
			`INSERT INTO project_members (project, subject, role, created_at, updated_at) VALUES ('app', 'user:alice', 'developer', 1, 1)`,
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
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
}
