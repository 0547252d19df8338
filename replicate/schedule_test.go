package replicate_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/replicate"
)

// Three processes on one database run the schedule of a policy firing
// every second: each tick starts one execution, by the process that
// claimed it. Before the claim every process checked for an execution in
// progress and then started one, each in a transaction of its own, and
// most ticks started two or three. With a shared database (PostgreSQL) a
// process also picks up, within its resync interval, a schedule that
// another process created or changed.
func TestScheduleTickStartsOneExecution(t *testing.T) {
	engines(t, func(t *testing.T, eng string) {
		t.Parallel() // mostly waiting for ticks: both engines at once
		ctx := context.Background()
		a := newLocal(t, eng)
		remote := newBerth(t)
		push(t, a.host, "tick/app:v1", randomImage(t, 500))
		epID, err := a.svc.CreateEndpoint(ctx, replicate.Endpoint{Name: "remote", URL: remote.url})
		require.NoError(t, err)
		policy := replicate.Policy{Name: "every-second", Mode: replicate.Push, RemoteID: epID, Enabled: true,
			Trigger: replicate.TriggerScheduled, Cron: "* * * * * *",
			Filters: []replicate.Filter{{Type: replicate.FilterName, Value: "tick/app"}}}
		pid, err := a.svc.CreatePolicy(ctx, policy)
		require.NoError(t, err)
		policy.ID = pid

		// Two more processes: their schedules come from the database.
		others := make([]*replicate.Service, 2)
		for i := range others {
			pool := a.openJobs(t)
			svc, runner := newService(t, a.db, pool, a.reg, replicate.WithScheduleResync(100*time.Millisecond))
			t.Cleanup(func() {
				sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = runner.Stop(sctx)
				svc.Close()
				_ = pool.Close()
			})
			others[i] = svc
			assert.False(t, svc.NextRun(pid).IsZero(), "scheduled at Start")
		}
		time.Sleep(3500 * time.Millisecond)
		policy.Enabled = false
		require.NoError(t, a.svc.UpdatePolicy(ctx, policy))
		time.Sleep(1200 * time.Millisecond) // a tick the others still fire: the stored policy stops it

		execs, total, err := a.svc.Executions(ctx, pid, "", core.Page{Limit: 100})
		require.NoError(t, err)
		require.GreaterOrEqual(t, total, 2, "about one a second for 3.5 s")
		require.LessOrEqual(t, total, 5)
		starts := make([]time.Time, len(execs))
		for i, e := range execs {
			starts[i] = e.StartTime
			assert.Equal(t, replicate.TriggerScheduled, e.Trigger)
		}
		sort.Slice(starts, func(i, j int) bool { return starts[i].Before(starts[j]) })
		for i := 1; i < len(starts); i++ {
			assert.GreaterOrEqual(t, starts[i].Sub(starts[i-1]), 500*time.Millisecond,
				"one execution a tick: %v", starts)
		}
		for _, e := range execs {
			waitExec(t, a.svc, e.ID, 30*time.Second)
		}

		if eng != "postgres" {
			return // one process owns a SQLite database: nothing to resync
		}
		for _, svc := range others {
			waitFor(t, 5*time.Second, "the disabled schedule dropped", func() bool { return svc.NextRun(pid).IsZero() })
		}
		policy.Enabled = true
		require.NoError(t, a.svc.UpdatePolicy(ctx, policy))
		for _, svc := range others {
			waitFor(t, 5*time.Second, "the enabled schedule picked up", func() bool { return !svc.NextRun(pid).IsZero() })
		}
		// The enabled schedule may have started executions by now: stop it
		// and let them finish before the policy can be deleted.
		policy.Enabled = false
		require.NoError(t, a.svc.UpdatePolicy(ctx, policy))
		time.Sleep(1200 * time.Millisecond)
		execs, _, err = a.svc.Executions(ctx, pid, "", core.Page{Limit: 100})
		require.NoError(t, err)
		for _, e := range execs {
			waitExec(t, a.svc, e.ID, 30*time.Second)
		}
		require.NoError(t, a.svc.DeletePolicy(ctx, pid))
	})
}

// Policies given an endpoint while it is deleted: either the delete
// finds them (ErrInUse) or they find no endpoint (ErrInvalid). On
// PostgreSQL a policy committed between the delete's count and its
// DELETE used to fail it on the foreign key instead.
func TestDeleteEndpointWhilePoliciesUseIt(t *testing.T) {
	engines(t, func(t *testing.T, eng string) {
		ctx := context.Background()
		l := newLocal(t, eng)
		for round := range 10 {
			epID, err := l.svc.CreateEndpoint(ctx, replicate.Endpoint{Name: fmt.Sprintf("ep%d", round), URL: "https://r.example"})
			require.NoError(t, err)
			var wg sync.WaitGroup
			errs := make([]error, 5)
			gate := make(chan struct{})
			for i := range errs {
				wg.Go(func() {
					<-gate
					if i == 0 {
						errs[i] = l.svc.DeleteEndpoint(ctx, epID)
						return
					}
					_, errs[i] = l.svc.CreatePolicy(ctx, replicate.Policy{Name: fmt.Sprintf("p%d-%d", round, i),
						Mode: replicate.Push, RemoteID: epID, Trigger: replicate.TriggerManual})
				})
			}
			close(gate)
			wg.Wait()
			if errs[0] == nil {
				for _, err := range errs[1:] {
					require.True(t, err == nil || errors.Is(err, replicate.ErrInvalid), "round %d: %v", round, err)
				}
				_, total, err := l.svc.Policies(ctx, fmt.Sprintf("p%d-", round), core.Page{Limit: 10})
				require.NoError(t, err)
				require.Zero(t, total, "round %d: deleted with no policy on it", round)
			} else {
				require.ErrorIs(t, errs[0], replicate.ErrInUse, "round %d", round)
			}
		}
	})
}
