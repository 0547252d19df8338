package server

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/jobs"
)

type blockArgs struct{ N int }

func (blockArgs) Kind() string { return "block" }

type idleArgs struct{}

func (idleArgs) Kind() string { return "idle" }

// blockWorker runs until its job is cancelled.
type blockWorker struct{ started chan int64 }

func (w blockWorker) Work(ctx context.Context, j *jobs.Job[blockArgs]) error {
	w.started <- j.ID
	<-ctx.Done()
	return ctx.Err()
}

type idleWorker struct{}

func (idleWorker) Work(context.Context, *jobs.Job[idleArgs]) error { return nil }

// The job service view maps River honestly: a running job is a worker of
// its runner's pool, pending jobs are counted by kind, stop cancels them.
func TestJobServiceView(t *testing.T) {
	ctx := context.Background()
	pool, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "jobs.db")+
		"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)")
	require.NoError(t, err)
	pool.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = pool.Close() })
	require.NoError(t, jobs.Migrate(ctx, pool))
	w := blockWorker{started: make(chan int64, 1)}
	runner, err := jobs.New(pool, jobs.WithWorker[blockArgs](w), jobs.WithWorker[idleArgs](idleWorker{}),
		jobs.WithConcurrency(1), jobs.WithPollInterval(20*time.Millisecond), jobs.WithStopGrace(time.Second),
		jobs.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	require.NoError(t, runner.Start(ctx))
	t.Cleanup(func() {
		stop, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_ = runner.Stop(stop)
	})
	js := newJobService(runner)

	running, err := runner.Enqueue(ctx, blockArgs{N: 1})
	require.NoError(t, err)
	require.Equal(t, running, <-w.started)
	for i := 2; i <= 3; i++ { // wait behind the running one: concurrency 1
		_, err := runner.Enqueue(ctx, blockArgs{N: i})
		require.NoError(t, err)
	}
	_, err = runner.Enqueue(ctx, idleArgs{}, jobs.At(time.Now().Add(time.Hour)))
	require.NoError(t, err)

	pools, err := js.Pools(ctx)
	require.NoError(t, err)
	require.Len(t, pools, 1)
	assert.Equal(t, runner.ID(), pools[0].WorkerPoolID)
	workers, err := js.Workers(ctx, runner.ID())
	require.NoError(t, err)
	require.Len(t, workers, 1)
	assert.Equal(t, "block", workers[0].JobName)
	_, err = js.Workers(ctx, "elsewhere")
	require.ErrorIs(t, err, core.ErrNotFound)

	queues, err := js.Queues(ctx)
	require.NoError(t, err)
	counts := map[string]int64{}
	for _, q := range queues {
		counts[q.JobType] = q.Count
	}
	assert.Equal(t, map[string]int64{"block": 2, "idle": 1}, counts)

	require.NoError(t, js.StopPending(ctx, "block"))
	queues, err = js.Queues(ctx)
	require.NoError(t, err)
	require.Len(t, queues, 1)
	assert.Equal(t, "idle", queues[0].JobType, "the other kind waits on")

	require.NoError(t, js.StopJob(ctx, running))
	require.Eventually(t, func() bool {
		ws, err := js.Workers(ctx, "all")
		return err == nil && len(ws) == 0
	}, 5*time.Second, 20*time.Millisecond)
	log, err := js.JobLog(ctx, running)
	require.NoError(t, err)
	assert.Contains(t, log, "(block): cancelled")
	require.ErrorIs(t, js.StopJob(ctx, 1<<40), core.ErrNotFound)
}
