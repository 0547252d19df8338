package jobs_test

// Several processes ("nodes") sharing one queue on PostgreSQL. Each node
// here is a Runner with a pool of its own; TestCrashedNodesJobsRescued
// runs one in a child process and kills it.

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/jobs"
)

type countArgs struct {
	N int `json:"n"`
}

func (countArgs) Kind() string { return "count" }

// ledger records, for each job (by its argument N), the nodes that started
// it and the nodes that finished it.
type ledger struct {
	mu      sync.Mutex
	started map[int][]string
	done    map[int][]string
	doneAt  map[int]time.Time
}

func newLedger() *ledger {
	return &ledger{started: map[int][]string{}, done: map[int][]string{}, doneAt: map[int]time.Time{}}
}

func (l *ledger) start(n int, node string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.started[n] = append(l.started[n], node)
}

func (l *ledger) finish(n int, node string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done[n] = append(l.done[n], node)
	l.doneAt[n] = time.Now()
}

// doneBy counts the jobs node finished.
func (l *ledger) doneBy(node string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := 0
	for _, nodes := range l.done {
		for _, nd := range nodes {
			if nd == node {
				k++
			}
		}
	}
	return k
}

// exactlyOnce asserts that jobs 0…n-1, and no others, were each finished
// exactly once, and returns how many each node finished and how many
// starts there were in all.
func (l *ledger) exactlyOnce(t *testing.T, n int) (perNode map[string]int, starts int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	perNode = map[string]int{}
	require.Len(t, l.done, n, "jobs finished")
	for i := range n {
		nodes := l.done[i]
		require.Len(t, nodes, 1, "job %d finished by %v", i, nodes)
		perNode[nodes[0]]++
	}
	for _, nodes := range l.started {
		starts += len(nodes)
	}
	return perNode, starts
}

// nodeWorker works count jobs for one node: it records the start, works
// for a while and records the finish. Once hold is set, the jobs it starts
// block until their context ends (work in progress when the node stops),
// and their numbers go to held.
type nodeWorker struct {
	node string
	l    *ledger
	work time.Duration
	hold atomic.Bool
	held chan int
}

func (w *nodeWorker) Work(ctx context.Context, job *jobs.Job[countArgs]) error {
	w.l.start(job.Args.N, w.node)
	if w.hold.Load() {
		w.held <- job.Args.N
		<-ctx.Done()
		return ctx.Err()
	}
	select {
	case <-time.After(w.work):
	case <-ctx.Done():
		return ctx.Err()
	}
	w.l.finish(job.Args.N, w.node)
	return nil
}

// enqueueCounts enqueues count jobs 0…n-1 through the runners in turn and
// returns their ids by number.
func enqueueCounts(t *testing.T, n int, runners ...*jobs.Runner) map[int]int64 {
	t.Helper()
	ids := map[int]int64{}
	for i := range n {
		id, err := runners[i%len(runners)].Enqueue(context.Background(), countArgs{N: i})
		require.NoError(t, err)
		ids[i] = id
	}
	return ids
}

// waitCompleted polls until n jobs are completed in db.
func waitCompleted(t *testing.T, db *sql.DB, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var got int
		require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM river_job WHERE state = 'completed'`).Scan(&got))
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d jobs completed after %s", got, n, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// attempts returns, for each job, its number of attempts and of recorded
// errors (River's record of it).
func attempts(t *testing.T, r *jobs.Runner, ids map[int]int64) (attempt, errs map[int]int) {
	t.Helper()
	attempt, errs = map[int]int{}, map[int]int{}
	for n, id := range ids {
		st, err := r.Status(context.Background(), id)
		require.NoError(t, err)
		require.Equal(t, jobs.StateCompleted, st.State, "job %d", n)
		attempt[n], errs[n] = st.Attempt, len(st.Errors)
	}
	return attempt, errs
}

// Two nodes work one queue: every job is worked once, by one of them, and
// both take a share.
func TestTwoNodesShareOneQueue(t *testing.T) {
	url := pg.Database(t)
	const n = 200
	l := newLedger()
	a := &nodeWorker{node: "a", l: l, work: 5 * time.Millisecond}
	b := &nodeWorker{node: "b", l: l, work: 5 * time.Millisecond}
	dbA, dbB := openPostgres(t, url), openPostgres(t, url)
	ra := newRunner(t, dbA, jobs.WithWorker(a), jobs.WithConcurrency(4))
	rb := newRunner(t, dbB, jobs.WithWorker(b), jobs.WithConcurrency(4))
	start(t, ra)
	start(t, rb)

	began := time.Now()
	ids := enqueueCounts(t, n, ra, rb) // each node enqueues half
	waitCompleted(t, dbA, n, 60*time.Second)
	took := time.Since(began)

	perNode, starts := l.exactlyOnce(t, n)
	assert.Equal(t, n, starts, "no job started twice")
	assert.Equal(t, n, perNode["a"]+perNode["b"])
	assert.Positive(t, perNode["a"], "node a worked none")
	assert.Positive(t, perNode["b"], "node b worked none")
	attempt, errs := attempts(t, ra, ids)
	for i := range n {
		assert.Equal(t, 1, attempt[i], "job %d", i)
		assert.Zero(t, errs[i], "job %d", i)
	}
	var total int
	require.NoError(t, dbB.QueryRow(`SELECT COUNT(*) FROM river_job`).Scan(&total))
	assert.Equal(t, n, total)
	t.Logf("%d jobs over two nodes in %s: a worked %d, b %d; %d starts",
		n, took.Round(time.Millisecond), perNode["a"], perNode["b"], starts)
}

// A node stopped mid-way (Stop's context ends while it holds jobs in
// progress) hands those jobs back; the other node works them, and every
// job is still finished exactly once. River hands an interrupted job back
// as available at once, without counting the attempt, and the other node
// takes it as it takes the rest of the queue.
func TestNodeStoppedMidwayHandsBackItsJobs(t *testing.T) {
	url := pg.Database(t)
	ctx := context.Background()
	const n, concurrency = 100, 4
	l := newLedger()
	a := &nodeWorker{node: "a", l: l, work: 20 * time.Millisecond, held: make(chan int, n)}
	b := &nodeWorker{node: "b", l: l, work: 20 * time.Millisecond}
	dbA, dbB := openPostgres(t, url), openPostgres(t, url)
	ra := newRunner(t, dbA, jobs.WithWorker(a), jobs.WithConcurrency(concurrency))
	rb := newRunner(t, dbB, jobs.WithWorker(b), jobs.WithConcurrency(concurrency))
	start(t, ra)
	start(t, rb)

	ids := enqueueCounts(t, n, rb)
	// Once a has finished a few, the jobs it starts next stay in progress
	// until it stops: all its slots hold one.
	deadline := time.Now().Add(30 * time.Second)
	for l.doneBy("a") < 5 {
		require.True(t, time.Now().Before(deadline), "node a finished %d jobs in 30s", l.doneBy("a"))
		time.Sleep(5 * time.Millisecond)
	}
	a.hold.Store(true)
	var held []int
	for range concurrency {
		select {
		case i := <-a.held:
			held = append(held, i)
		case <-time.After(30 * time.Second):
			t.Fatalf("node a holds %d jobs after 30s, want %d", len(held), concurrency)
		}
	}
	stopCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	err := ra.Stop(stopCtx)
	cancel()
	require.ErrorIs(t, err, context.DeadlineExceeded)
	stopped := time.Now()

	waitCompleted(t, dbB, n, 60*time.Second)
	perNode, starts := l.exactlyOnce(t, n)
	assert.Equal(t, n+concurrency, starts, "the held jobs started twice, every other job once")
	l.mu.Lock()
	var handover time.Duration
	for _, i := range held {
		assert.Equal(t, []string{"a", "b"}, l.started[i], "job %d", i)
		assert.Equal(t, []string{"b"}, l.done[i], "job %d", i)
		handover = max(handover, l.doneAt[i].Sub(stopped))
	}
	for i, nodes := range l.started {
		if !slices.Contains(held, i) {
			assert.Len(t, nodes, 1, "job %d started by %v", i, nodes)
		}
	}
	l.mu.Unlock()
	// The interrupted attempts are not counted: every job shows one.
	attempt, errs := attempts(t, rb, ids)
	for i := range n {
		assert.Equal(t, 1, attempt[i], "job %d", i)
		assert.Zero(t, errs[i], "job %d", i)
	}
	t.Logf("%d jobs: a finished %d and was stopped holding %v; b finished %d, the last held one %s after a's Stop returned",
		n, perNode["a"], held, perNode["b"], handover.Round(time.Millisecond))
}

// Nodes starting together all migrate: they take turns, and River's
// tables come out whole. Pools of one connection: the lock must not take
// the connection the migrations need.
func TestMigrateConcurrentlyOnPostgres(t *testing.T) {
	url := pg.Database(t)
	const nodes = 4
	pools := make([]*sql.DB, nodes)
	for i := range pools {
		pools[i] = openPostgresPool(t, url, 1)
	}
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i, pool := range pools {
		wg.Go(func() { errs[i] = jobs.Migrate(t.Context(), pool) })
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "node %d", i)
	}
	var versions, distinct int
	require.NoError(t, pools[0].QueryRow(`SELECT COUNT(*), COUNT(DISTINCT version) FROM river_migration`).Scan(&versions, &distinct))
	assert.Positive(t, versions)
	assert.Equal(t, versions, distinct)
	require.NoError(t, jobs.Migrate(t.Context(), pools[1]))
	r := newRunner(t, pools[2], jobs.WithWorker(&echoWorker{}))
	start(t, r)
	id, err := r.Enqueue(t.Context(), echoArgs{Msg: "migrated"})
	require.NoError(t, err)
	waitState(t, r, id, jobs.StateCompleted, 10*time.Second)
	t.Logf("%d nodes migrated at once: %d River migrations applied once each", nodes, versions)
}

// crashNodeEnv passes the database's URL to the child process of
// TestCrashedNodesJobsRescued.
const crashNodeEnv = "BERTH_JOBS_CRASH_NODE"

// crashConcurrency is how many jobs the child takes (and never finishes).
const crashConcurrency = 3

// TestCrashNodeProcess is the process TestCrashedNodesJobsRescued kills:
// a Runner whose jobs record their start in crash_starts and then hang, as
// the jobs of a process that dies mid-job do. Run alone, it skips.
func TestCrashNodeProcess(t *testing.T) {
	url := os.Getenv(crashNodeEnv)
	if url == "" {
		t.Skip("the child process of TestCrashedNodesJobsRescued")
	}
	db := openPostgres(t, url)
	w := &hangWorker{db: db}
	r := newRunner(t, db, jobs.WithWorker(w), jobs.WithConcurrency(crashConcurrency))
	require.NoError(t, r.Start(context.Background()))
	fmt.Println("ready")
	time.Sleep(5 * time.Minute)
	t.Fatal("not killed")
}

type hangWorker struct{ db *sql.DB }

func (w *hangWorker) Work(ctx context.Context, job *jobs.Job[countArgs]) error {
	if _, err := w.db.ExecContext(ctx, `INSERT INTO crash_starts (n, pid) VALUES ($1, $2)`, job.Args.N, os.Getpid()); err != nil {
		return err
	}
	select {} // until the process is killed; deaf to its context
}

// A node killed (SIGKILL) while it works jobs leaves them running; the
// surviving node's River rescues them once they have run longer than
// WithRescueAfter (and the job timeout) and works them, each exactly once.
//
// The bound: River's rescuer runs every 30s on the leader, and a rescued
// job waits for the scheduler (every 5s) to make it available again. The
// survivor starts first and so leads: a hung job is worked again within
// RescueAfter (3s) + 30s + 5s + a poll of its start, about 38s; had the
// dead process led, within 27s of its death (leadership lasts 15s, another
// node claims it within 6s, its maintenance starts within 1s) if that is
// later. The test allows 90s.
func TestCrashedNodesJobsRescued(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for River's rescuer (about 40s at most)")
	}
	url := pg.Database(t)
	ctx := context.Background()
	const n = 60
	db := openPostgres(t, url)
	_, err := db.ExecContext(ctx, `CREATE TABLE crash_starts (n INT PRIMARY KEY, pid INT NOT NULL)`)
	require.NoError(t, err)
	l := newLedger()
	b := &nodeWorker{node: "b", l: l, work: 50 * time.Millisecond}
	rb := newRunner(t, db, jobs.WithWorker(b), jobs.WithConcurrency(4),
		jobs.WithJobTimeout(2*time.Second), jobs.WithRescueAfter(3*time.Second))
	start(t, rb)

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashNodeProcess$")
	cmd.Env = append(os.Environ(), crashNodeEnv+"="+url)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	ready := make(chan struct{})
	var out bytes.Buffer
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			if sc.Text() == "ready" {
				close(ready)
			}
		}
		_ = cmd.Wait()
	}()
	select {
	case <-ready:
	case <-exited:
		t.Fatalf("child exited before it was ready:\n%s%s", out.String(), stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatal("child not ready after 60s")
	}

	ids := enqueueCounts(t, n, rb)
	deadline := time.Now().Add(30 * time.Second)
	var hung int
	for {
		require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM crash_starts`).Scan(&hung))
		if hung == crashConcurrency {
			break
		}
		require.True(t, time.Now().Before(deadline), "the child holds %d jobs after 30s, want %d", hung, crashConcurrency)
		time.Sleep(5 * time.Millisecond)
	}
	var childLed bool
	require.NoError(t, db.QueryRow(`SELECT EXISTS (SELECT 1 FROM river_leader l JOIN river_job j ON j.attempted_by[1] = l.leader_id
		JOIN crash_starts c ON (j.args->>'n')::int = c.n)`).Scan(&childLed))
	require.NoError(t, cmd.Process.Kill())
	<-exited
	killed := time.Now()

	waitCompleted(t, db, n, 90*time.Second)
	took := time.Since(killed)

	var hungJobs []int
	rows, err := db.Query(`SELECT n, pid FROM crash_starts ORDER BY n`)
	require.NoError(t, err)
	for rows.Next() {
		var i, pid int
		require.NoError(t, rows.Scan(&i, &pid))
		assert.Equal(t, cmd.Process.Pid, pid)
		hungJobs = append(hungJobs, i)
	}
	require.NoError(t, rows.Err())
	require.Len(t, hungJobs, crashConcurrency)

	perNode, starts := l.exactlyOnce(t, n)
	assert.Equal(t, map[string]int{"b": n}, perNode)
	assert.Equal(t, n, starts, "the survivor started each job once")
	attempt, errs := attempts(t, rb, ids)
	for i := range n {
		if slices.Contains(hungJobs, i) {
			// The dead process's attempt, then the rescue's error.
			assert.Equal(t, 2, attempt[i], "job %d", i)
			assert.Equal(t, 1, errs[i], "job %d", i)
		} else {
			assert.Equal(t, 1, attempt[i], "job %d", i)
			assert.Zero(t, errs[i], "job %d", i)
		}
	}
	t.Logf("child (pid %d, leader: %v) killed holding jobs %v; all %d jobs completed %s later, each finished once by the survivor",
		cmd.Process.Pid, childLed, hungJobs, n, took.Round(time.Millisecond))
}
