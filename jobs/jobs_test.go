package jobs_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/sqldb"
)

// openDB opens River's own pool on the SQLite file at path: one connection,
// WAL, busy_timeout, synchronous=FULL (what sqldb uses for its pools).
func openDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+
		"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(FULL)")
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	// Cleanups run last-in first-out: runners (registered later) stop
	// before their pool closes.
	t.Cleanup(func() { _ = db.Close() })
	require.NoError(t, jobs.Migrate(context.Background(), db))
	return db
}

// fast are options that keep tests quick: short polls and retry backoff.
func fast(opts ...jobs.Option) []jobs.Option {
	return append([]jobs.Option{
		jobs.WithPollInterval(20 * time.Millisecond),
		jobs.WithBackoff(func(int) time.Duration { return 10 * time.Millisecond }),
		jobs.WithStopGrace(2 * time.Second),
	}, opts...)
}

func newRunner(t testing.TB, db *sql.DB, opts ...jobs.Option) *jobs.Runner {
	t.Helper()
	r, err := jobs.New(db, fast(opts...)...)
	require.NoError(t, err)
	return r
}

func start(t testing.TB, r *jobs.Runner) {
	t.Helper()
	require.NoError(t, r.Start(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = r.Stop(ctx)
	})
}

// waitState polls job id until it reaches want or the deadline passes.
func waitState(t testing.TB, r *jobs.Runner, id int64, want jobs.State, within time.Duration) *jobs.Status {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st, err := r.Status(context.Background(), id)
		require.NoError(t, err)
		if st.State == want {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d: state %s after %s, want %s (errors %+v)", id, st.State, within, want, st.Errors)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type echoArgs struct {
	Msg string `json:"msg"`
}

func (echoArgs) Kind() string { return "echo" }

type echoWorker struct {
	mu   sync.Mutex
	seen []string
}

func (w *echoWorker) Work(_ context.Context, job *jobs.Job[echoArgs]) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen = append(w.seen, job.Args.Msg)
	return nil
}

func (w *echoWorker) got() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.seen...)
}

func TestJobCompletes(t *testing.T) { engines(t, testJobCompletes) }

func testJobCompletes(t *testing.T, e engine) {
	db := e.open(t)
	w := &echoWorker{}
	r := newRunner(t, db, jobs.WithWorker(w))
	start(t, r)

	id, err := r.Enqueue(context.Background(), echoArgs{Msg: "hello"})
	require.NoError(t, err)
	st := waitState(t, r, id, jobs.StateCompleted, 5*time.Second)
	assert.Equal(t, "echo", st.Kind)
	assert.Equal(t, 1, st.Attempt)
	assert.Empty(t, st.Errors)
	assert.False(t, st.FinalizedAt.IsZero())
	assert.JSONEq(t, `{"msg":"hello"}`, string(st.Args))
	assert.Equal(t, []string{"hello"}, w.got())
}

type failArgs struct{}

func (failArgs) Kind() string { return "fail" }

type failWorker struct {
	calls atomic.Int32
}

func (w *failWorker) Work(context.Context, *jobs.Job[failArgs]) error {
	return fmt.Errorf("boom %d", w.calls.Add(1))
}

func TestFailingJobRetriesThenDiscarded(t *testing.T) { engines(t, testFailingJobRetriesThenDiscarded) }

func testFailingJobRetriesThenDiscarded(t *testing.T, e engine) {
	db := e.open(t)
	w := &failWorker{}
	r := newRunner(t, db, jobs.WithWorker(w), jobs.WithMaxAttempts(3))
	start(t, r)

	id, err := r.Enqueue(context.Background(), failArgs{})
	require.NoError(t, err)
	st := waitState(t, r, id, jobs.StateDiscarded, 10*time.Second)
	assert.Equal(t, int32(3), w.calls.Load())
	assert.Equal(t, 3, st.Attempt)
	assert.Equal(t, 3, st.MaxAttempts)
	require.Len(t, st.Errors, 3)
	for i, e := range st.Errors {
		assert.Equal(t, i+1, e.Attempt)
		assert.Equal(t, fmt.Sprintf("boom %d", i+1), e.Error)
		assert.False(t, e.At.IsZero())
	}

	// Per-job override.
	id, err = r.Enqueue(context.Background(), failArgs{}, jobs.EnqueueMaxAttempts(1))
	require.NoError(t, err)
	st = waitState(t, r, id, jobs.StateDiscarded, 10*time.Second)
	assert.Len(t, st.Errors, 1)
}

// A job enqueued while no runner works (or before a shutdown) runs when a
// new runner starts on the same database after everything was closed.
func TestDurableAcrossRestart(t *testing.T) { engines(t, testDurableAcrossRestart) }

func testDurableAcrossRestart(t *testing.T, e engine) {
	ctx := context.Background()

	// Process 1: enqueue without ever starting, then close everything.
	db := e.open(t)
	r, err := jobs.New(db, fast(jobs.WithWorker(&echoWorker{}))...)
	require.NoError(t, err)
	now, err := r.Enqueue(ctx, echoArgs{Msg: "now"})
	require.NoError(t, err)
	later, err := r.Enqueue(ctx, echoArgs{Msg: "later"}, jobs.At(time.Now().Add(500*time.Millisecond)))
	require.NoError(t, err)
	st, err := r.Status(ctx, later)
	require.NoError(t, err)
	assert.Equal(t, jobs.StateScheduled, st.State)
	require.NoError(t, db.Close())

	// Process 2: a new pool and runner on the same database.
	db = e.open(t)
	w := &echoWorker{}
	r = newRunner(t, db, jobs.WithWorker(w))
	start(t, r)
	waitState(t, r, now, jobs.StateCompleted, 5*time.Second)
	// Scheduled jobs are promoted by River's leader-run scheduler (every 5s).
	waitState(t, r, later, jobs.StateCompleted, 15*time.Second)
	assert.ElementsMatch(t, []string{"now", "later"}, w.got())
}

type blockArgs struct {
	N int `json:"n"`
}

func (blockArgs) Kind() string { return "block" }

// blockWorker blocks until released or its context ends.
type blockWorker struct {
	started chan int
	release chan struct{}
	ran     atomic.Int32
}

func (w *blockWorker) Work(ctx context.Context, job *jobs.Job[blockArgs]) error {
	w.ran.Add(1)
	if w.started != nil {
		w.started <- job.Args.N
	}
	select {
	case <-w.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// A job interrupted by shutdown (Stop's context expires while it blocks) is
// retried by the next runner on the database, after a full close.
func TestInterruptedJobResumesAfterRestart(t *testing.T) {
	engines(t, testInterruptedJobResumesAfterRestart)
}

func testInterruptedJobResumesAfterRestart(t *testing.T, e engine) {
	ctx := context.Background()

	db := e.open(t)
	w1 := &blockWorker{started: make(chan int, 1), release: make(chan struct{})}
	r1 := newRunner(t, db, jobs.WithWorker(w1))
	require.NoError(t, r1.Start(ctx))
	id, err := r1.Enqueue(ctx, blockArgs{N: 1})
	require.NoError(t, err)
	select {
	case <-w1.started:
	case <-time.After(5 * time.Second):
		t.Fatal("job did not start")
	}
	stopCtx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	err = r1.Stop(stopCtx)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)
	st, err := r1.Status(ctx, id)
	require.NoError(t, err)
	// River hands a job interrupted by shutdown back without counting the
	// attempt or recording an error.
	assert.Equal(t, jobs.StateAvailable, st.State)
	assert.Equal(t, 0, st.Attempt)
	assert.Empty(t, st.Errors)
	require.NoError(t, db.Close())

	db = e.open(t)
	released := make(chan struct{})
	close(released)
	w2 := &blockWorker{release: released}
	r2 := newRunner(t, db, jobs.WithWorker(w2))
	start(t, r2)
	st = waitState(t, r2, id, jobs.StateCompleted, 5*time.Second)
	assert.Equal(t, 1, st.Attempt)
	assert.Equal(t, int32(1), w2.ran.Load())
}

func TestCancel(t *testing.T) { engines(t, testCancel) }

func testCancel(t *testing.T, e engine) {
	db := e.open(t)
	ctx := context.Background()
	w := &blockWorker{started: make(chan int, 4), release: make(chan struct{})}
	defer close(w.release)
	r := newRunner(t, db, jobs.WithWorker(w))

	// Not yet running: cancelled at once, never runs.
	queued, err := r.Enqueue(ctx, blockArgs{N: 1})
	require.NoError(t, err)
	st, err := r.Cancel(ctx, queued)
	require.NoError(t, err)
	assert.Equal(t, jobs.StateCancelled, st.State)

	// Running: its context is cancelled and it is not retried.
	start(t, r)
	running, err := r.Enqueue(ctx, blockArgs{N: 2})
	require.NoError(t, err)
	select {
	case n := <-w.started:
		require.Equal(t, 2, n)
	case <-time.After(5 * time.Second):
		t.Fatal("job did not start")
	}
	_, err = r.Cancel(ctx, running)
	require.NoError(t, err)
	st = waitState(t, r, running, jobs.StateCancelled, 5*time.Second)
	assert.Equal(t, 1, st.Attempt)
	assert.Equal(t, int32(1), w.ran.Load(), "the cancelled queued job never ran")

	_, err = r.Cancel(ctx, 999999)
	assert.ErrorIs(t, err, jobs.ErrNotFound)
	_, err = r.Status(ctx, 999999)
	assert.ErrorIs(t, err, jobs.ErrNotFound)
}

func TestUniqueByArgs(t *testing.T) { engines(t, testUniqueByArgs) }

func testUniqueByArgs(t *testing.T, e engine) {
	db := e.open(t)
	ctx := context.Background()
	r := newRunner(t, db, jobs.WithWorker(&echoWorker{}))

	a, err := r.Enqueue(ctx, echoArgs{Msg: "sha256:aa"}, jobs.UniqueByArgs())
	require.NoError(t, err)
	b, err := r.Enqueue(ctx, echoArgs{Msg: "sha256:aa"}, jobs.UniqueByArgs())
	require.NoError(t, err)
	c, err := r.Enqueue(ctx, echoArgs{Msg: "sha256:bb"}, jobs.UniqueByArgs())
	require.NoError(t, err)
	d, err := r.Enqueue(ctx, echoArgs{Msg: "sha256:aa"}) // not unique
	require.NoError(t, err)
	assert.Equal(t, a, b, "duplicate returns the existing job")
	assert.NotEqual(t, a, c)
	assert.NotEqual(t, a, d)

	var n int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM river_job`).Scan(&n))
	assert.Equal(t, 3, n)

	// Once the first has completed, the same args may be enqueued again.
	start(t, r)
	waitState(t, r, a, jobs.StateCompleted, 5*time.Second)
	again, err := r.Enqueue(ctx, echoArgs{Msg: "sha256:aa"}, jobs.UniqueByArgs())
	require.NoError(t, err)
	assert.NotEqual(t, a, again)
}

type sleepArgs struct {
	N int `json:"n"`
}

func (sleepArgs) Kind() string { return "sleep" }

type sleepWorker struct {
	cur, max atomic.Int32
}

func (w *sleepWorker) Work(context.Context, *jobs.Job[sleepArgs]) error {
	n := w.cur.Add(1)
	defer w.cur.Add(-1)
	for {
		m := w.max.Load()
		if n <= m || w.max.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(40 * time.Millisecond)
	return nil
}

func TestConcurrencyBound(t *testing.T) { engines(t, testConcurrencyBound) }

func testConcurrencyBound(t *testing.T, e engine) {
	db := e.open(t)
	ctx := context.Background()
	w := &sleepWorker{}
	r := newRunner(t, db, jobs.WithWorker(w), jobs.WithConcurrency(3))
	var ids []int64
	for i := range 15 {
		id, err := r.Enqueue(ctx, sleepArgs{N: i})
		require.NoError(t, err)
		ids = append(ids, id)
	}
	start(t, r)
	for _, id := range ids {
		waitState(t, r, id, jobs.StateCompleted, 10*time.Second)
	}
	assert.LessOrEqual(t, w.max.Load(), int32(3))
	assert.GreaterOrEqual(t, w.max.Load(), int32(2), "jobs should run in parallel")
	t.Logf("max simultaneous executions: %d (bound 3)", w.max.Load())
}

func TestNamedQueue(t *testing.T) { engines(t, testNamedQueue) }

func testNamedQueue(t *testing.T, e engine) {
	db := e.open(t)
	w := &echoWorker{}
	r := newRunner(t, db, jobs.WithWorker(w), jobs.WithQueue("gc", 1))
	start(t, r)
	id, err := r.Enqueue(context.Background(), echoArgs{Msg: "gc"}, jobs.OnQueue("gc"))
	require.NoError(t, err)
	st := waitState(t, r, id, jobs.StateCompleted, 5*time.Second)
	assert.Equal(t, "gc", st.Queue)
}

func TestNewErrors(t *testing.T) { engines(t, testNewErrors) }

func testNewErrors(t *testing.T, e engine) {
	db := e.open(t)
	_, err := jobs.New(nil)
	assert.Error(t, err)
	_, err = jobs.New(db, jobs.WithWorker(&echoWorker{}), jobs.WithWorker(&echoWorker{}))
	assert.Error(t, err, "duplicate kind")
	_, err = jobs.New(db, jobs.WithWorker(&echoWorker{}), jobs.WithConcurrency(0))
	assert.Error(t, err)
	// Migrate is idempotent.
	require.NoError(t, jobs.Migrate(context.Background(), db))
}

// River's pool and berth's sqldb writer share one SQLite file: both take the
// single writer lock. busy_timeout on both sides must turn contention into
// waiting, never into SQLITE_BUSY errors. "idle" is the baseline with no
// sqldb writer; "paced" has two sqldb writers pausing 2ms between
// transactions (hundreds of fsynced write transactions a second);
// "saturated" (BERTH_JOBS_SATURATE=1) retakes the lock at once: SQLite's
// busy handler sleeps and polls rather than queueing, so River is starved
// under -race (100 jobs took ~40s, and River's leader re-election hit its own
// 5s timeout) though not without it (100 jobs in ~3s).
func TestContentionWithSQLDBWriter(t *testing.T) {
	t.Run("idle", func(t *testing.T) { contention(t, -1, 30) })
	t.Run("paced", func(t *testing.T) { contention(t, 2*time.Millisecond, 30) })
	t.Run("saturated", func(t *testing.T) {
		if os.Getenv("BERTH_JOBS_SATURATE") == "" {
			t.Skip("set BERTH_JOBS_SATURATE=1 to run (about 40s under -race)")
		}
		contention(t, 0, 100)
	})
}

func contention(t *testing.T, pause time.Duration, n int) {
	path := filepath.Join(t.TempDir(), "berth.db")
	ctx := context.Background()
	sdb, err := sqldb.OpenSQLite(ctx, path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = sdb.Close() })
	require.NoError(t, sdb.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `CREATE TABLE hammer (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`)
		return err
	}))

	db := openDB(t, path)
	w := &echoWorker{}
	r := newRunner(t, db, jobs.WithWorker(w), jobs.WithConcurrency(4))
	start(t, r)

	stop := make(chan struct{})
	var writes atomic.Int64
	var mu sync.Mutex
	var writeErr error
	var wg sync.WaitGroup
	hammers := 2
	if pause < 0 {
		hammers = 0 // baseline: no concurrent sqldb writer
	}
	for g := range hammers {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				err := sdb.Write(ctx, func(tx *sqldb.Tx) error {
					for j := range 5 {
						if _, err := tx.Exec(ctx, `INSERT INTO hammer(v) VALUES (?)`, fmt.Sprint(g, i, j)); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					mu.Lock()
					writeErr = errors.Join(writeErr, err)
					mu.Unlock()
					return
				}
				writes.Add(1)
				if pause > 0 {
					time.Sleep(pause)
				}
			}
		})
	}

	began := time.Now()
	ids := make([]int64, 0, n)
	for i := range n {
		id, err := r.Enqueue(ctx, echoArgs{Msg: fmt.Sprint(i)})
		require.NoError(t, err)
		ids = append(ids, id)
	}
	for _, id := range ids {
		waitState(t, r, id, jobs.StateCompleted, 60*time.Second)
	}
	took := time.Since(began)
	close(stop)
	wg.Wait()
	require.NoError(t, writeErr)
	assert.Len(t, w.got(), n)
	t.Logf("%d jobs enqueued and completed in %s while sqldb committed %d write transactions on the same file",
		n, took.Round(time.Millisecond), writes.Load())
}

// namedArgs are one type serving several kinds: its kind is its name's.
type namedArgs struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

func (a namedArgs) Kind() string { return "named:" + a.Name }

type namedWorker struct{ seen chan namedArgs }

func (w *namedWorker) Work(_ context.Context, job *jobs.Job[namedArgs]) error {
	w.seen <- job.Args
	return nil
}

func TestRegisterArgsServesOneKindPerValue(t *testing.T) {
	engines(t, testRegisterArgsServesOneKindPerValue)
}

func testRegisterArgsServesOneKindPerValue(t *testing.T, e engine) {
	db := e.open(t)
	ws := jobs.NewWorkers()
	a, b := &namedWorker{seen: make(chan namedArgs, 1)}, &namedWorker{seen: make(chan namedArgs, 1)}
	require.NoError(t, jobs.RegisterArgs(ws, namedArgs{Name: "a"}, jobs.Worker[namedArgs](a)))
	require.NoError(t, jobs.RegisterArgs(ws, namedArgs{Name: "b"}, jobs.Worker[namedArgs](b)))
	assert.Error(t, jobs.RegisterArgs(ws, namedArgs{Name: "a"}, jobs.Worker[namedArgs](b)), "a kind registered twice")
	r := newRunner(t, db, jobs.WithWorkers(ws))
	start(t, r)

	id, err := r.Enqueue(t.Context(), namedArgs{Name: "b", N: 2})
	require.NoError(t, err)
	assert.Equal(t, namedArgs{Name: "b", N: 2}, <-b.seen, "b's worker works b's jobs")
	st := waitState(t, r, id, jobs.StateCompleted, 5*time.Second)
	assert.Equal(t, "named:b", st.Kind)
	_, err = r.Enqueue(t.Context(), namedArgs{Name: "a", N: 1})
	require.NoError(t, err)
	assert.Equal(t, namedArgs{Name: "a", N: 1}, <-a.seen)
	assert.Empty(t, b.seen)
}
