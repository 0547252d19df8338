package project_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/sqldb"
)

// Every grant has a number of its own, found again by GetMember within
// its project only, and never handed out twice, even after a removal or
// a refused addition.
func TestMemberIDs(t *testing.T) {
	backends(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		s := newStore(t, db)
		_, err := s.Create(ctx, project.Project{Name: "app"}, project.Member{Subject: "user:owner", Role: project.RoleProjectAdmin})
		require.NoError(t, err)
		_, err = s.Create(ctx, project.Project{Name: "other"})
		require.NoError(t, err)

		alice, err := s.AddMember(ctx, project.Member{Project: "app", Subject: "user:alice", Role: project.RoleDeveloper})
		require.NoError(t, err)
		devs, err := s.AddMember(ctx, project.Member{Project: "app", Subject: "group:devs", Role: project.RoleGuest,
			Repositories: "app/x-*"})
		require.NoError(t, err)
		owner, err := s.GetMember(ctx, "app", 1)
		require.NoError(t, err)
		assert.Equal(t, "user:owner", owner.Subject, "the creator's grant is number 1")
		assert.Equal(t, int64(2), alice.ID)
		assert.Equal(t, int64(3), devs.ID)

		got, err := s.GetMember(ctx, "app", devs.ID)
		require.NoError(t, err)
		assert.Equal(t, devs, got)
		_, err = s.GetMember(ctx, "other", devs.ID)
		assert.ErrorIs(t, err, project.ErrNotFound, "a number names a grant of its own project only")
		_, err = s.GetMember(ctx, "app", 99)
		assert.ErrorIs(t, err, project.ErrNotFound)

		updated, err := s.UpdateMember(ctx, project.Member{Project: "app", Subject: "user:alice", Role: project.RoleMaintainer})
		require.NoError(t, err)
		assert.Equal(t, alice.ID, updated.ID, "a role change keeps the number")
		ms, _, err := s.ListMembers(ctx, "app", project.MemberFilter{}, project.Page{})
		require.NoError(t, err)
		ids := []int64{}
		for _, m := range ms {
			ids = append(ids, m.ID)
		}
		assert.Equal(t, []int64{3, 2, 1}, ids, "group:devs, user:alice, user:owner: ordered by subject")

		_, err = s.AddMember(ctx, project.Member{Project: "app", Subject: "user:alice", Role: project.RoleGuest})
		require.ErrorIs(t, err, project.ErrExists)
		require.NoError(t, s.RemoveMember(ctx, "app", "user:alice", ""))
		again, err := s.AddMember(ctx, project.Member{Project: "app", Subject: "user:alice", Role: project.RoleGuest})
		require.NoError(t, err)
		assert.Equal(t, int64(4), again.ID, "neither the removed nor the refused grant's number comes back")
	})
}

func TestRoleCounts(t *testing.T) {
	backends(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		s := newStore(t, db)
		_, err := s.Create(ctx, project.Project{Name: "app"},
			project.Member{Subject: "user:owner", Role: project.RoleProjectAdmin},
			project.Member{Subject: "user:a", Role: project.RoleDeveloper},
			project.Member{Subject: "group:b", Role: project.RoleDeveloper},
			project.Member{Subject: "user:c", Role: project.RoleGuest},
			project.Member{Subject: "user:c", Role: project.RoleMaintainer, Repositories: "app/x"})
		require.NoError(t, err)
		n, err := s.RoleCounts(ctx, "app")
		require.NoError(t, err)
		assert.Equal(t, map[string]int{project.RoleProjectAdmin: 1, project.RoleDeveloper: 2, project.RoleGuest: 1}, n)
		_, err = s.RoleCounts(ctx, "missing")
		assert.ErrorIs(t, err, project.ErrNotFound)
	})
}

// Deletable answers what Delete would, and changes nothing.
func TestDeletable(t *testing.T) {
	backends(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		repos := map[string]int{"full": 1}
		s := newStore(t, db, project.WithRepositoryCounter(func(_ context.Context, p string) (int, error) {
			return repos[p], nil
		}))
		refuse := errors.New("charts left")
		var ran int
		s.OnDelete(func(ctx context.Context, tx *sqldb.Tx, p project.Project) error {
			ran++
			if p.Name == "charts" {
				return refuse
			}
			return nil
		})
		for _, name := range []string{"full", "charts", "empty"} {
			_, err := s.Create(ctx, project.Project{Name: name}, project.Member{Subject: "user:a", Role: project.RoleGuest})
			require.NoError(t, err)
		}
		err := s.Deletable(ctx, "full")
		assert.ErrorIs(t, err, project.ErrNotEmpty)
		assert.Contains(t, err.Error(), "1 repositories")
		assert.ErrorIs(t, s.Deletable(ctx, "charts"), refuse)
		assert.Equal(t, 1, ran, "the repositories are counted before the cascades run")
		require.NoError(t, s.Deletable(ctx, "empty"))
		assert.ErrorIs(t, s.Deletable(ctx, "missing"), project.ErrNotFound)

		ok, err := s.Exists(ctx, "empty")
		require.NoError(t, err)
		assert.True(t, ok, "Deletable deleted nothing")
		ms, total, err := s.ListMembers(ctx, "empty", project.MemberFilter{}, project.Page{})
		require.NoError(t, err)
		assert.Equal(t, 1, total)
		assert.Equal(t, "user:a", ms[0].Subject)
		require.NoError(t, s.Delete(ctx, "empty"))
	})
}
