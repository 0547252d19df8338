package auth

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
)

func TestRobotChangeHooks(t *testing.T) {
	first, second := &recorder{}, &recorder{}
	clock := newFakeClock()
	robots := newTestRobots(t, memoryDB(t), WithChangeHook(first.hook), WithChangeHook(second.hook), WithClock(clock.Now))
	ctx := registry.WithActor(t.Context(), "alice")

	r, secret, err := robots.Create(ctx, Robot{Name: "ci", Project: "library"})
	require.NoError(t, err)
	clock.Advance(time.Minute)
	desc, disabled := "builds", true
	_, err = robots.Update(ctx, r.Name, RobotUpdate{Description: &desc, Disabled: &disabled})
	require.NoError(t, err)
	_, err = robots.Update(ctx, r.Name, RobotUpdate{Description: &desc}) // no change, no event
	require.NoError(t, err)
	_, err = robots.Refresh(ctx, r.Name)
	require.NoError(t, err)
	_, _ = robots.Authenticate(ctx, r.Name, secret) // not a change
	require.NoError(t, robots.Delete(ctx, r.Name))
	require.ErrorIs(t, robots.Delete(ctx, r.Name), ErrNotFound)

	start := clock.Now().Add(-time.Minute)
	want := []Change{
		{Kind: ChangeRobotCreate, Name: "robot$library+ci", Actor: "alice", At: start, Detail: "level=project"},
		{Kind: ChangeRobotUpdate, Name: "robot$library+ci", Actor: "alice", At: clock.Now(), Detail: "description,disabled=true"},
		{Kind: ChangeRobotRefresh, Name: "robot$library+ci", Actor: "alice", At: clock.Now()},
		{Kind: ChangeRobotDelete, Name: "robot$library+ci", Actor: "alice", At: clock.Now()},
	}
	assert.Equal(t, want, first.all())
	assert.Equal(t, want, second.all(), "every hook sees every change")
}

// Hooks run after the commit: what they read is what was stored.
func TestRobotChangeHookSeesCommittedState(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		var robots *Robots
		var seen []error
		robots = newTestRobots(t, db, WithChangeHook(func(ctx context.Context, c Change) {
			_, err := robots.Get(ctx, c.Name)
			seen = append(seen, err)
		}))
		ctx := t.Context()
		r, _, err := robots.Create(ctx, Robot{Name: "ci"})
		require.NoError(t, err)
		require.NoError(t, robots.Delete(ctx, r.Name))
		require.Len(t, seen, 2)
		assert.NoError(t, seen[0], "created robot is visible to the hook")
		assert.ErrorIs(t, seen[1], ErrNotFound, "deleted robot is gone for the hook")
	})
}
