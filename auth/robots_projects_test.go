package auth

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/sqldb"
)

type projectIDs map[string]int64

func (p projectIDs) ProjectID(_ context.Context, name string) (int64, bool, error) {
	id, ok := p[name]
	return id, ok, nil
}

// With WithProjects, robots carry the ids of the projects they name, a
// permission in a project that does not exist is refused, and
// ForgetProject removes the project's robots and its permissions in
// system robots (by id, and by name for robots stored without ids).
func TestRobotsKeyedByProjectID(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		ids := projectIDs{"team": 7, "other": 8}
		robots := newTestRobots(t, db, WithProjects(ids))
		legacy := newTestRobots(t, db) // the same table, as stored before ids

		ci, _, err := robots.Create(ctx, Robot{Name: "ci", Project: "team", Permissions: pushPull("team")})
		require.NoError(t, err)
		assert.Equal(t, int64(7), ci.ProjectID)
		assert.Equal(t, int64(7), ci.Permissions[0].ProjectID)
		sys, _, err := robots.Create(ctx, Robot{Name: "sync", Permissions: append(pushPull("team"),
			RobotPermission{Project: "other", Resource: "repository", Action: "pull"},
			RobotPermission{Project: AllProjects, Resource: "repository", Action: "list"})})
		require.NoError(t, err)
		got, err := robots.Get(ctx, sys.Name)
		require.NoError(t, err)
		assert.Equal(t, []int64{7, 7, 8, 0}, permissionIDs(got.Permissions))
		_, _, err = robots.Create(ctx, Robot{Name: "ghost", Permissions: pushPull("nope")})
		assert.ErrorIs(t, err, ErrInvalid)

		// Unchanged permissions are no change.
		same := pushPull("team")
		_, err = robots.Update(ctx, ci.Name, RobotUpdate{Permissions: &same})
		require.NoError(t, err)

		old, _, err := legacy.Create(ctx, Robot{Name: "old", Project: "team", Permissions: pushPull("team")})
		require.NoError(t, err)
		assert.Zero(t, old.ProjectID)

		var removed []string
		require.NoError(t, db.Write(ctx, func(tx *sqldb.Tx) (err error) {
			removed, err = robots.ForgetProject(ctx, tx, 7, "team")
			return err
		}))
		assert.ElementsMatch(t, []string{ci.Name, old.Name}, removed)
		_, err = robots.Get(ctx, ci.Name)
		assert.ErrorIs(t, err, ErrNotFound)
		got, err = robots.Get(ctx, sys.Name)
		require.NoError(t, err)
		assert.Equal(t, []RobotPermission{
			{Project: "other", ProjectID: 8, Resource: "repository", Action: "pull"},
			{Project: AllProjects, Resource: "repository", Action: "list"},
		}, got.Permissions)
	})
}

func permissionIDs(ps []RobotPermission) []int64 {
	out := make([]int64, len(ps))
	for i, p := range ps {
		out[i] = p.ProjectID
	}
	return out
}
