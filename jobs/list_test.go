package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/jobs"
)

func TestList(t *testing.T) { engines(t, testList) }

func testList(t *testing.T, e engine) {
	ctx := context.Background()
	db := e.open(t)
	r := newRunner(t, db, jobs.WithWorker(&echoWorker{}), jobs.WithWorker(&failWorker{}))
	var ids []int64
	for _, msg := range []string{"a", "b", "c"} {
		id, err := r.Enqueue(ctx, echoArgs{Msg: msg})
		require.NoError(t, err)
		ids = append(ids, id)
	}
	later, err := r.Enqueue(ctx, failArgs{}, jobs.At(time.Now().Add(time.Hour)))
	require.NoError(t, err)

	all, err := r.List(ctx, jobs.ListFilter{})
	require.NoError(t, err)
	require.Len(t, all, 4)
	assert.Equal(t, ids[0], all[0].ID, "oldest first")
	assert.Empty(t, all[0].Worker, "not attempted yet")

	echo, err := r.List(ctx, jobs.ListFilter{Kinds: []string{"echo"}, Limit: 2})
	require.NoError(t, err)
	require.Len(t, echo, 2)
	assert.Equal(t, []int64{ids[0], ids[1]}, []int64{echo[0].ID, echo[1].ID})

	scheduled, err := r.List(ctx, jobs.ListFilter{States: []jobs.State{jobs.StateScheduled}})
	require.NoError(t, err)
	require.Len(t, scheduled, 1)
	assert.Equal(t, later, scheduled[0].ID)
	assert.Equal(t, "fail", scheduled[0].Kind)

	start(t, r)
	waitState(t, r, ids[2], jobs.StateCompleted, 5*time.Second)
	done, err := r.List(ctx, jobs.ListFilter{IDs: []int64{ids[2]}})
	require.NoError(t, err)
	require.Len(t, done, 1)
	assert.Equal(t, r.ID(), done[0].Worker, "the runner that worked it")
}
