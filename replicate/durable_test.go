package replicate_test

import (
	"context"
	"github.com/berthlabs/berth/core"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/replicate"
)

// slowPolicy replicates slow/app at speed KB/s to a fresh berth.
func slowPolicy(t *testing.T, l *local, speed, size int) (policy int64, dst *peer) {
	t.Helper()
	ctx := context.Background()
	dst = newBerth(t)
	push(t, l.host, "slow/app:v1", bigImage(t, size, 7))
	epID, err := l.svc.CreateEndpoint(ctx, replicate.Endpoint{Name: "dst", URL: dst.url})
	require.NoError(t, err)
	policy, err = l.svc.CreatePolicy(ctx, replicate.Policy{Name: "slow", Mode: replicate.Push, RemoteID: epID, Enabled: true,
		Trigger: replicate.TriggerManual, Speed: speed, Filters: []replicate.Filter{{Type: replicate.FilterName, Value: "slow/app"}}})
	require.NoError(t, err)
	return policy, dst
}

// TestBandwidthAndStop: a 1 MiB blob at 256 KB/s takes about 4 s; a
// running execution can be stopped.
func TestBandwidthAndStop(t *testing.T) {
	engines(t, func(t *testing.T, eng string) {
		ctx := context.Background()
		l := newLocal(t, eng)
		pid, dst := slowPolicy(t, l, 256, 1<<20)
		start := time.Now()
		e := run(t, l, pid)
		took := time.Since(start)
		require.Equal(t, replicate.StatusSucceed, e.Status)
		assert.GreaterOrEqual(t, took, 3500*time.Millisecond, "1 MiB at 256 KB/s")
		assert.Less(t, took, 10*time.Second)
		t.Logf("1 MiB at 256 KB/s took %s", took)
		sameImage(t, l.host, "slow/app:v1", dst.host, "slow/app:v1")

		// Stop: a new image under a new tag, so there is work to stop.
		push(t, l.host, "slow/app:v2", bigImage(t, 1<<20, 8))
		eid, err := l.svc.StartExecution(ctx, pid, replicate.TriggerManual)
		require.NoError(t, err)
		running := func() []replicate.Task {
			ts, _, err := l.svc.Tasks(ctx, eid, core.Page{Limit: 10})
			require.NoError(t, err)
			var out []replicate.Task
			for _, tk := range ts {
				// v1 is already at the destination: its task passes through
				// InProgress on its way to a quick skip.
				if tk.Status == replicate.StatusInProgress && strings.Contains(tk.SrcResource, "v2") {
					out = append(out, tk)
				}
			}
			return out
		}
		waitFor(t, 5*time.Second, "a task running", func() bool { return len(running()) > 0 })
		slow := running()[0]
		require.NoError(t, l.svc.StopExecution(ctx, eid))
		e = waitExec(t, l.svc, eid, 5*time.Second)
		assert.Equal(t, replicate.StatusStopped, e.Status)
		// The copy notices the stop and returns; its task records it.
		taskStatus := func() replicate.Status {
			ts, _, err := l.svc.Tasks(ctx, eid, core.Page{Limit: 10})
			require.NoError(t, err)
			for _, tk := range ts {
				if tk.ID == slow.ID {
					return tk.Status
				}
			}
			return ""
		}
		waitFor(t, 5*time.Second, "the stopped task to settle", func() bool { return taskStatus() != replicate.StatusInProgress })
		assert.Equal(t, replicate.StatusStopped, taskStatus())
		assert.Empty(t, digestAt(t, dst.host, "slow/app:v2"))
	})
}

// TestExecutionSurvivesRestart: the job runner and the service stop in the
// middle of an execution (running jobs cancelled, as a shutdown does); a
// new service and runner on the same database resume it — the blob upload
// from the last chunk the destination acknowledged — and finish it.
func TestExecutionSurvivesRestart(t *testing.T) {
	engines(t, func(t *testing.T, eng string) {
		ctx := context.Background()
		chunks := replicate.WithCopyOptions(replicate.WithChunkSize(1 << 20))
		l := newLocal(t, eng, chunks)
		pid, dst := slowPolicy(t, l, 1024, 4<<20)
		eid, err := l.svc.StartExecution(ctx, pid, replicate.TriggerManual)
		require.NoError(t, err)
		waitFor(t, 5*time.Second, "a task running", func() bool {
			ts, _, err := l.svc.Tasks(ctx, eid, core.Page{Limit: 10})
			return err == nil && len(ts) == 1 && ts[0].Status == replicate.StatusInProgress
		})
		time.Sleep(2 * time.Second) // a chunk or two acknowledged

		// Shut down: the running job is cancelled.
		stopCtx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		_ = l.runner.Stop(stopCtx)
		cancel()
		l.svc.Close()
		e, err := l.svc.Execution(ctx, eid)
		require.NoError(t, err)
		require.Equal(t, replicate.StatusInProgress, e.Status, "interrupted, not finished")

		// Start again on the same database.
		pool := l.openJobs(t)
		t.Cleanup(func() { _ = pool.Close() })
		svc, runner := newService(t, l.db, pool, l.reg, chunks)
		t.Cleanup(func() {
			c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = runner.Stop(c)
			svc.Close()
		})
		l.setService(svc)
		e = waitExec(t, svc, eid, 30*time.Second)
		require.Equal(t, replicate.StatusSucceed, e.Status, "%+v", e)
		ts, _, err := svc.Tasks(ctx, eid, core.Page{Limit: 10})
		require.NoError(t, err)
		log, err := svc.TaskLog(ctx, eid, ts[0].ID)
		require.NoError(t, err)
		t.Logf("task log:\n%s", log)
		assert.GreaterOrEqual(t, ts[0].Attempts, 2)
		assert.Regexp(t, `resuming the upload an earlier attempt left at byte [1-9]`, log)
		sameImage(t, l.host, "slow/app:v1", dst.host, "slow/app:v1")
	})
}
