package jobs_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/jobs"
)

// A job a dead process left running is worked again at the next start once
// RescueOrphans ran, instead of waiting for River's rescuer. The crash is
// simulated in SQL: the row is what a process killed mid-job leaves.
func TestRescueOrphans(t *testing.T) {
	ctx := context.Background()
	db := openDB(t, filepath.Join(t.TempDir(), "berth.db"))
	w := &echoWorker{}
	r := newRunner(t, db, jobs.WithWorker(w))
	id, err := r.Enqueue(ctx, echoArgs{Msg: "orphan"})
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `UPDATE river_job SET state = 'running', attempt = 1 WHERE id = ?`, id)
	require.NoError(t, err)

	start(t, r)
	time.Sleep(200 * time.Millisecond)
	st, err := r.Status(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, jobs.StateRunning, st.State, "without a rescue the orphan sits as running")
	stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	require.NoError(t, r.Stop(stopCtx))

	n, err := jobs.RescueOrphans(ctx, db)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	r2 := newRunner(t, db, jobs.WithWorker(w))
	start(t, r2)
	waitState(t, r2, id, jobs.StateCompleted, 10*time.Second)
	w.mu.Lock()
	assert.Equal(t, []string{"orphan"}, w.seen)
	w.mu.Unlock()

	n, err = jobs.RescueOrphans(ctx, db)
	require.NoError(t, err)
	assert.Zero(t, n)
}

// On PostgreSQL other processes may be working the jobs marked running, so
// RescueOrphans refuses and changes nothing; River's rescuer recovers a
// dead process's jobs (TestCrashedNodesJobsRescued).
func TestRescueOrphansRefusedOnPostgres(t *testing.T) {
	ctx := context.Background()
	db := newEngine(t, "postgres").open(t)
	r := newRunner(t, db, jobs.WithWorker(&echoWorker{}))
	id, err := r.Enqueue(ctx, echoArgs{Msg: "running elsewhere"})
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now() WHERE id = $1`, id)
	require.NoError(t, err)

	n, err := jobs.RescueOrphans(ctx, db)
	require.ErrorIs(t, err, jobs.ErrShared)
	assert.ErrorIs(t, err, core.ErrPrecondition)
	assert.Zero(t, n)
	st, err := r.Status(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, jobs.StateRunning, st.State)
}
