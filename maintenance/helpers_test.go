package maintenance_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/maintenance"
	"github.com/berthlabs/berth/sqldb"
)

// params and result are the fake task's.
type params struct {
	N int `json:"n"`
}

type result struct {
	Done int `json:"done"`
}

type service = maintenance.Service[params, result]

type run = maintenance.Run[params, result]

// store is the database that outlives the processes of a test: berth's
// and the job queue's.
type store struct {
	db   *sqldb.DB
	pool *sql.DB
}

// engines runs fn on a SQLite file (the job queue in a file of its own)
// and on a fresh PostgreSQL database (the job queue in the same
// database, through a pool of its own), as subtests named after them.
func engines(t *testing.T, fn func(t *testing.T, st *store)) {
	t.Helper()
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) { fn(t, newStore(t, name)) })
	}
}

func newStore(t *testing.T, engine string) *store {
	t.Helper()
	if engine == "postgres" {
		db, err := sqldb.OpenPostgres(t.Context(), maintenance.PostgresDatabase(t))
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		pool, err := db.NewPool(t.Context(), 4)
		require.NoError(t, err)
		t.Cleanup(func() { _ = pool.Close() })
		require.NoError(t, jobs.Migrate(t.Context(), pool))
		return &store{db: db, pool: pool}
	}
	dir := t.TempDir()
	db, err := sqldb.OpenSQLite(t.Context(), filepath.Join(dir, "berth.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	pool, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "jobs.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)")
	require.NoError(t, err)
	pool.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = pool.Close() })
	require.NoError(t, jobs.Migrate(t.Context(), pool))
	return &store{db: db, pool: pool}
}

// proc is one process's part: a job runner and the task's service.
type proc struct {
	svc    *service
	runner *jobs.Runner
}

// newProc starts a process on st working task; with started false its
// job runner does not work jobs, so runs stay pending.
func newProc(t *testing.T, st *store, task maintenance.Task[params, result], started bool) *proc {
	t.Helper()
	ctx := t.Context()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ws := jobs.NewWorkers()
	runner, err := jobs.New(st.pool, jobs.WithWorkers(ws), jobs.WithPollInterval(20*time.Millisecond),
		jobs.WithStopGrace(2*time.Second), jobs.WithLogger(quiet))
	require.NoError(t, err)
	svc, err := maintenance.New(ctx, st.db, runner, task, maintenance.WithLogger(quiet))
	require.NoError(t, err)
	require.NoError(t, svc.Register(ws))
	if started {
		require.NoError(t, runner.Start(ctx))
	}
	require.NoError(t, svc.Start(ctx))
	t.Cleanup(func() {
		svc.Close()
		if started {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = runner.Stop(sctx)
		}
	})
	return &proc{svc: svc, runner: runner}
}

// counting is a task that logs and returns N.
func counting(name string) maintenance.Task[params, result] {
	return maintenance.Task[params, result]{Name: name, Title: "counting",
		Run: func(_ context.Context, p params, log func(string, ...any)) (result, error) {
			for i := range p.N {
				log("counted %d", i+1)
			}
			return result{Done: p.N}, nil
		}}
}

// holding is a task whose runs wait, after signalling started, until
// released or stopped; a stopped run returns what it did so far.
type holding struct {
	started chan int64
	release chan struct{}
}

func newHolding() *holding {
	return &holding{started: make(chan int64, 8), release: make(chan struct{})}
}

func (h *holding) task(name string) maintenance.Task[params, result] {
	return maintenance.Task[params, result]{Name: name,
		Run: func(ctx context.Context, p params, log func(string, ...any)) (result, error) {
			h.started <- int64(p.N)
			log("holding")
			select {
			case <-h.release:
				return result{Done: p.N}, nil
			case <-ctx.Done():
				return result{Done: 1}, ctx.Err()
			}
		}}
}

// startHeld starts a run of h's task on p and returns it once it runs.
func startHeld(t *testing.T, p *proc, h *holding, n int) run {
	t.Helper()
	r, err := p.svc.Run(t.Context(), params{N: n}, maintenance.Manual)
	require.NoError(t, err)
	<-h.started
	waitStatus(t, p.svc, r.ID, maintenance.StatusRunning)
	return r
}

// wait returns the run once it has ended.
func wait(t *testing.T, svc *service, id int64) run {
	t.Helper()
	var r run
	require.Eventually(t, func() bool {
		var err error
		r, err = svc.Get(t.Context(), id)
		require.NoError(t, err)
		return r.Done()
	}, 20*time.Second, 10*time.Millisecond)
	return r
}

// waitStatus waits until the run has status.
func waitStatus(t *testing.T, svc *service, id int64, status string) {
	t.Helper()
	require.Eventually(t, func() bool {
		r, err := svc.Get(t.Context(), id)
		require.NoError(t, err)
		return r.Status == status
	}, 20*time.Second, 5*time.Millisecond)
}
