package gc_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/gc"
	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/maintenance"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/schedule"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
)

type env struct {
	svc *gc.Service
	reg *registry.Registry
	srv *httptest.Server
}

func newEnv(t *testing.T, coll func(*registry.Registry) gc.Collector) *env {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.OpenSQLiteMemory(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	reg, err := registry.New(ctx, memory.New(), db)
	require.NoError(t, err)
	pool, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "jobs.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)")
	require.NoError(t, err)
	pool.SetMaxOpenConns(1)
	t.Cleanup(func() { pool.Close() })
	require.NoError(t, jobs.Migrate(ctx, pool))
	ws := jobs.NewWorkers()
	runner, err := jobs.New(pool, jobs.WithWorkers(ws), jobs.WithPollInterval(20*time.Millisecond),
		jobs.WithStopGrace(2*time.Second), jobs.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	require.NoError(t, err)
	var c gc.Collector = reg
	if coll != nil {
		c = coll(reg)
	}
	svc, err := gc.New(ctx, db, c, runner, gc.WithGraceWindow(-1))
	require.NoError(t, err)
	require.NoError(t, svc.Register(ws))
	require.NoError(t, runner.Start(ctx))
	require.NoError(t, svc.Start(ctx))
	t.Cleanup(func() {
		svc.Close()
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_ = runner.Stop(sctx)
	})
	srv := httptest.NewServer(reg)
	t.Cleanup(srv.Close)
	return &env{svc: svc, reg: reg, srv: srv}
}

func (e *env) push(t *testing.T, ref string) digest.Digest {
	t.Helper()
	img, err := random.Image(512, 2)
	require.NoError(t, err)
	tag, err := name.NewTag(strings.TrimPrefix(e.srv.URL, "http://")+"/"+ref, name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.Write(tag, img))
	d, err := img.Digest()
	require.NoError(t, err)
	return digest.Digest(d.String())
}

// wait returns the run once it has finished.
func (e *env) wait(t *testing.T, id int64) gc.Run {
	t.Helper()
	var r gc.Run
	require.Eventually(t, func() bool {
		var err error
		r, err = e.svc.Get(t.Context(), id)
		require.NoError(t, err)
		return r.Done()
	}, 20*time.Second, 20*time.Millisecond)
	return r
}

func TestRunsFreeGarbageAndKeepTheirRecord(t *testing.T) {
	e := newEnv(t, nil)
	e.push(t, "lib/app:keep")
	doomed := e.push(t, "lib/app:doomed")
	require.NoError(t, e.reg.DeleteArtifact(t.Context(), "lib/app", doomed))

	dry, err := e.svc.Run(t.Context(), gc.Params{DryRun: true}, maintenance.Manual)
	require.NoError(t, err)
	assert.Equal(t, maintenance.StatusPending, dry.Status)
	dry = e.wait(t, dry.ID)
	assert.Equal(t, maintenance.StatusSuccess, dry.Status)
	assert.Equal(t, 3, dry.Result.BlobsDeleted, "config and two layers would go")
	blobs, _, err := e.reg.GarbageQueue(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 3, blobs, "a dry run leaves them queued")

	run, err := e.svc.Run(t.Context(), gc.Params{}, maintenance.Manual)
	require.NoError(t, err)
	run = e.wait(t, run.ID)
	assert.Equal(t, maintenance.StatusSuccess, run.Status)
	assert.Equal(t, dry.Result.BlobsDeleted, run.Result.BlobsDeleted)
	assert.Equal(t, dry.Result.BytesFreed, run.Result.BytesFreed)
	lg, err := e.svc.Log(t.Context(), run.ID)
	require.NoError(t, err)
	assert.Contains(t, lg, "garbage collection finished: 0 manifests and 3 blobs")
	blobs, _, err = e.reg.GarbageQueue(t.Context())
	require.NoError(t, err)
	assert.Zero(t, blobs)

	// Metrics count finished runs; only real ones free anything.
	want := `
# HELP berth_gc_blobs_deleted_total Blobs garbage collection removed.
# TYPE berth_gc_blobs_deleted_total counter
berth_gc_blobs_deleted_total 3
# HELP berth_gc_runs_total Garbage collection runs finished, by status.
# TYPE berth_gc_runs_total counter
berth_gc_runs_total{status="Error"} 0
berth_gc_runs_total{status="Stopped"} 0
berth_gc_runs_total{status="Success"} 2
`
	require.Eventually(t, func() bool {
		return testutil.CollectAndCompare(e.svc.Collector(), strings.NewReader(want),
			"berth_gc_blobs_deleted_total", "berth_gc_runs_total") == nil
	}, 5*time.Second, 10*time.Millisecond)
	assert.NoError(t, testutil.CollectAndCompare(e.svc.Collector(), strings.NewReader(`
# HELP berth_gc_queue Candidates waiting for garbage collection, by kind.
# TYPE berth_gc_queue gauge
berth_gc_queue{kind="blob"} 0
berth_gc_queue{kind="untagged_manifest"} 0
`), "berth_gc_queue"))

	hist, total, err := e.svc.History(t.Context(), core.Page{})
	require.NoError(t, err)
	assert.Equal(t, 2, total)
	assert.Equal(t, []int64{run.ID, dry.ID}, []int64{hist[0].ID, hist[1].ID}, "newest first")
	assert.True(t, hist[1].Params.DryRun)
	_, err = e.svc.Get(t.Context(), 999)
	assert.ErrorIs(t, err, core.ErrNotFound)
}

// blockingCollector holds every run until released.
type blockingCollector struct {
	*registry.Registry
	started chan struct{}
	release chan struct{}
	once    sync.Once
}

func (b *blockingCollector) CollectGarbage(ctx context.Context, o registry.GCOptions) (registry.GCResult, error) {
	b.once.Do(func() { close(b.started) })
	select {
	case <-b.release:
		return b.Registry.CollectGarbage(ctx, o)
	case <-ctx.Done():
		return registry.GCResult{}, ctx.Err()
	}
}

func TestOneRunAtATimeAndStop(t *testing.T) {
	bc := &blockingCollector{started: make(chan struct{}), release: make(chan struct{})}
	e := newEnv(t, func(r *registry.Registry) gc.Collector { bc.Registry = r; return bc })
	first, err := e.svc.Run(t.Context(), gc.Params{}, maintenance.Manual)
	require.NoError(t, err)
	<-bc.started
	r, err := e.svc.Get(t.Context(), first.ID)
	require.NoError(t, err)
	assert.Equal(t, maintenance.StatusRunning, r.Status)
	_, err = e.svc.Run(t.Context(), gc.Params{}, maintenance.Manual)
	assert.ErrorIs(t, err, core.ErrConflict, "one run at a time")

	require.NoError(t, e.svc.Stop(t.Context(), first.ID))
	assert.Equal(t, maintenance.StatusStopped, e.wait(t, first.ID).Status)
	assert.ErrorIs(t, e.svc.Stop(t.Context(), first.ID), core.ErrPrecondition, "a finished run cannot be stopped")
	lg, err := e.svc.Log(t.Context(), first.ID)
	require.NoError(t, err)
	assert.Contains(t, lg, "stopped")

	close(bc.release)
	second, err := e.svc.Run(t.Context(), gc.Params{}, maintenance.Manual)
	require.NoError(t, err, "after a stop, runs start again")
	assert.Equal(t, maintenance.StatusSuccess, e.wait(t, second.ID).Status)
}

func TestScheduledRuns(t *testing.T) {
	e := newEnv(t, nil)
	sc, err := e.svc.SetSchedule(t.Context(), schedule.Schedule{Type: schedule.Custom, Cron: "* * * * * *"},
		gc.Params{DeleteUntagged: true})
	require.NoError(t, err)
	assert.Equal(t, "* * * * * *", sc.Cron)
	var runs []gc.Run
	require.Eventually(t, func() bool {
		runs, _, err = e.svc.History(t.Context(), core.Page{})
		require.NoError(t, err)
		return len(runs) > 0
	}, 10*time.Second, 50*time.Millisecond)
	assert.Equal(t, maintenance.Scheduled, runs[len(runs)-1].Kind)
	assert.True(t, runs[len(runs)-1].Params.DeleteUntagged)
	_, err = e.svc.SetSchedule(t.Context(), schedule.Schedule{Type: schedule.None}, gc.Params{})
	require.NoError(t, err)
	got, p, err := e.svc.Schedule(t.Context())
	require.NoError(t, err)
	assert.Equal(t, schedule.None, got.Type)
	assert.False(t, p.DeleteUntagged)
	_, err = e.svc.SetSchedule(t.Context(), schedule.Schedule{Type: "Often"}, gc.Params{})
	assert.ErrorIs(t, err, core.ErrInvalid)
}
