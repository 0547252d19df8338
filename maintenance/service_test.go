package maintenance_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/maintenance"
	"github.com/berthlabs/berth/schedule"
	"github.com/berthlabs/berth/sqldb"
)

func TestRunsKeepTheirRecord(t *testing.T) {
	engines(t, func(t *testing.T, st *store) {
		p := newProc(t, st, counting("count"), true)
		other := newProc(t, st, counting("other"), false) // no worker for "count": not a runner of its jobs

		var ids []int64
		for _, n := range []int{2, 3} {
			r, err := p.svc.Run(t.Context(), params{N: n}, maintenance.Manual)
			require.NoError(t, err)
			assert.Equal(t, maintenance.StatusPending, r.Status)
			assert.Equal(t, maintenance.Manual, r.Kind)
			assert.Equal(t, params{N: n}, r.Params)
			assert.Zero(t, r.Result, "no result before it ends")
			r = wait(t, p.svc, r.ID)
			assert.Equal(t, maintenance.StatusSuccess, r.Status)
			assert.Equal(t, result{Done: n}, r.Result)
			assert.Empty(t, r.Error)
			assert.False(t, r.Updated.Before(r.Created))
			ids = append([]int64{r.ID}, ids...)
		}
		lg, err := p.svc.Log(t.Context(), ids[0])
		require.NoError(t, err)
		lines := strings.Split(strings.TrimSuffix(lg, "\n"), "\n")
		require.Len(t, lines, 4)
		for i, want := range []string{fmt.Sprintf("run %d (manual), attempt 1", ids[0]), "counted 1", "counted 2", "counted 3"} {
			_, msg, _ := strings.Cut(lines[i], " ") // after the time stamp
			assert.Equal(t, want, msg)
		}

		hist, total, err := p.svc.History(t.Context(), core.Page{Limit: 1})
		require.NoError(t, err)
		assert.Equal(t, 2, total)
		require.Len(t, hist, 1)
		assert.Equal(t, ids[0], hist[0].ID, "newest first")
		hist, _, err = p.svc.History(t.Context(), core.Page{Offset: 1, Limit: 1})
		require.NoError(t, err)
		assert.Equal(t, ids[1], hist[0].ID)

		// Tasks share the tables, not their runs.
		hist, total, err = other.svc.History(t.Context(), core.Page{})
		require.NoError(t, err)
		assert.Zero(t, total)
		assert.Empty(t, hist)
		_, err = other.svc.Get(t.Context(), ids[0])
		assert.ErrorIs(t, err, core.ErrNotFound)
		_, err = other.svc.Log(t.Context(), ids[0])
		assert.ErrorIs(t, err, core.ErrNotFound)
		assert.ErrorIs(t, other.svc.Stop(t.Context(), ids[0]), core.ErrNotFound)
	})
}

func TestRunChecksItsParameters(t *testing.T) {
	engines(t, func(t *testing.T, st *store) {
		task := counting("checked")
		task.Check = func(p params) (params, error) {
			if p.N < 0 {
				return p, fmt.Errorf("n %d: %w", p.N, core.ErrInvalid)
			}
			p.N = min(p.N, 5)
			return p, nil
		}
		p := newProc(t, st, task, true)
		_, err := p.svc.Run(t.Context(), params{N: -1}, maintenance.Manual)
		assert.ErrorIs(t, err, core.ErrInvalid)
		_, err = p.svc.Run(t.Context(), params{}, "SOMETIMES")
		assert.ErrorIs(t, err, core.ErrInvalid)
		_, total, err := p.svc.History(t.Context(), core.Page{})
		require.NoError(t, err)
		assert.Zero(t, total, "nothing refused is recorded")

		r, err := p.svc.Run(t.Context(), params{N: 50}, maintenance.Manual)
		require.NoError(t, err)
		assert.Equal(t, params{N: 5}, r.Params, "normalised")
		assert.Equal(t, result{Done: 5}, wait(t, p.svc, r.ID).Result)

		_, err = p.svc.SetSchedule(t.Context(), schedule.Schedule{Type: schedule.Daily}, params{N: -1})
		assert.ErrorIs(t, err, core.ErrInvalid, "a schedule's parameters are checked")
		_, err = p.svc.SetSchedule(t.Context(), schedule.Schedule{Type: schedule.None}, params{N: -1})
		assert.NoError(t, err, "but not those of no schedule")
	})
}

func TestFailedRunKeepsWhatItDid(t *testing.T) {
	engines(t, func(t *testing.T, st *store) {
		task := counting("failing")
		task.Run = func(_ context.Context, p params, log func(string, ...any)) (result, error) {
			return result{Done: 1}, errors.New("disk full")
		}
		var mu sync.Mutex
		var ended []run
		task.Ended = func(r run) {
			mu.Lock()
			ended = append(ended, r)
			mu.Unlock()
		}
		p := newProc(t, st, task, true)
		r, err := p.svc.Run(t.Context(), params{N: 2}, maintenance.Manual)
		require.NoError(t, err)
		r = wait(t, p.svc, r.ID)
		assert.Equal(t, maintenance.StatusError, r.Status)
		assert.Equal(t, "disk full", r.Error)
		assert.Equal(t, result{Done: 1}, r.Result)
		lg, err := p.svc.Log(t.Context(), r.ID)
		require.NoError(t, err)
		assert.Contains(t, lg, "failed: disk full")
		require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(ended) == 1 }, 5*time.Second, 5*time.Millisecond)
		assert.Equal(t, r, ended[0], "Ended is told of the run as recorded")
		time.Sleep(100 * time.Millisecond)
		r, err = p.svc.Get(t.Context(), r.ID)
		require.NoError(t, err)
		assert.Equal(t, maintenance.StatusError, r.Status, "a failed run is not retried")
	})
}

func TestLogIsBounded(t *testing.T) {
	engines(t, func(t *testing.T, st *store) {
		const lines = 20000
		line := strings.Repeat("x", 80)
		task := counting("chatty")
		task.Run = func(_ context.Context, p params, log func(string, ...any)) (result, error) {
			for i := range lines {
				log("%05d %s", i, line)
			}
			return result{Done: lines}, nil
		}
		p := newProc(t, st, task, true)
		r, err := p.svc.Run(t.Context(), params{}, maintenance.Manual)
		require.NoError(t, err)
		assert.Equal(t, maintenance.StatusSuccess, wait(t, p.svc, r.ID).Status)
		lg, err := p.svc.Log(t.Context(), r.ID)
		require.NoError(t, err)
		assert.LessOrEqual(t, len(lg), maintenance.MaxLog)
		assert.Greater(t, len(lg), maintenance.MaxLog-200, "filled up to the bound")
		kept := strings.Count(lg, line)
		assert.Contains(t, lg, fmt.Sprintf("... %d more lines not kept\n", lines-kept))
		assert.Contains(t, lg, "00000 "+line, "the first lines are kept")
	})
}

func TestStopARunningRun(t *testing.T) {
	engines(t, func(t *testing.T, st *store) {
		h := newHolding()
		p := newProc(t, st, h.task("held"), true)
		first := startHeld(t, p, h, 1)
		_, err := p.svc.Run(t.Context(), params{N: 2}, maintenance.Manual)
		assert.ErrorIs(t, err, core.ErrConflict, "one run at a time")

		require.NoError(t, p.svc.Stop(t.Context(), first.ID))
		r := wait(t, p.svc, first.ID)
		assert.Equal(t, maintenance.StatusStopped, r.Status)
		assert.Equal(t, result{Done: 1}, r.Result, "what it did is kept")
		assert.ErrorIs(t, p.svc.Stop(t.Context(), first.ID), core.ErrPrecondition, "an ended run cannot be stopped")
		assert.ErrorIs(t, p.svc.Stop(t.Context(), 999), core.ErrNotFound)
		lg, err := p.svc.Log(t.Context(), first.ID)
		require.NoError(t, err)
		assert.True(t, strings.HasSuffix(lg, " stopped\n"), lg)

		close(h.release)
		second, err := p.svc.Run(t.Context(), params{N: 2}, maintenance.Manual)
		require.NoError(t, err, "after a stop, runs start again")
		assert.Equal(t, maintenance.StatusSuccess, wait(t, p.svc, second.ID).Status)
	})
}

// Two processes on one database: while one has a run pending, the other
// cannot start one, and a stop from the other ends it.
func TestOneRunAtATimeAcrossProcesses(t *testing.T) {
	engines(t, func(t *testing.T, st *store) {
		a := newProc(t, st, counting("shared"), false) // its runs stay pending
		b := newProc(t, st, counting("shared"), false)
		r, err := a.svc.Run(t.Context(), params{N: 1}, maintenance.Manual)
		require.NoError(t, err)
		_, err = b.svc.Run(t.Context(), params{N: 1}, maintenance.Manual)
		assert.ErrorIs(t, err, core.ErrConflict)
		_, err = newProc(t, st, counting("unrelated"), false).svc.Run(t.Context(), params{}, maintenance.Manual)
		assert.NoError(t, err, "one run at a time per task")

		// The database itself refuses a second active run.
		err = st.db.Write(t.Context(), func(tx *sqldb.Tx) error {
			_, err := tx.Exec(t.Context(), `INSERT INTO maintenance_runs (task, kind, status, params, created_at, updated_at)
				VALUES ('shared', 'MANUAL', 'Running', '{}', 0, 0)`)
			return err
		})
		assert.Error(t, err)

		require.NoError(t, b.svc.Stop(t.Context(), r.ID))
		got, err := a.svc.Get(t.Context(), r.ID)
		require.NoError(t, err)
		assert.Equal(t, maintenance.StatusStopped, got.Status)
		_, err = b.svc.Run(t.Context(), params{N: 1}, maintenance.Manual)
		assert.NoError(t, err)
	})
}

func TestScheduledRuns(t *testing.T) {
	engines(t, func(t *testing.T, st *store) {
		p := newProc(t, st, counting("timed"), true)
		sc, ps, err := p.svc.Schedule(t.Context())
		require.NoError(t, err)
		assert.Equal(t, schedule.None, sc.Type)
		assert.Zero(t, ps)
		_, err = p.svc.SetSchedule(t.Context(), schedule.Schedule{Type: "Often"}, params{})
		assert.ErrorIs(t, err, core.ErrInvalid)

		sc, err = p.svc.SetSchedule(t.Context(), schedule.Schedule{Type: schedule.Custom, Cron: "* * * * * *"}, params{N: 4})
		require.NoError(t, err)
		assert.Equal(t, "* * * * * *", sc.Cron)
		var runs []run
		require.Eventually(t, func() bool {
			runs, _, err = p.svc.History(t.Context(), core.Page{})
			require.NoError(t, err)
			return len(runs) > 0
		}, 10*time.Second, 20*time.Millisecond)
		_, err = p.svc.SetSchedule(t.Context(), schedule.Schedule{Type: schedule.None}, params{})
		require.NoError(t, err)
		first := wait(t, p.svc, runs[len(runs)-1].ID)
		assert.Equal(t, maintenance.Scheduled, first.Kind)
		assert.Equal(t, params{N: 4}, first.Params)
		assert.Equal(t, result{Done: 4}, first.Result)
		lg, err := p.svc.Log(t.Context(), first.ID)
		require.NoError(t, err)
		assert.Contains(t, lg, "(schedule), attempt 1")

		sc, ps, err = p.svc.Schedule(t.Context())
		require.NoError(t, err)
		assert.Equal(t, schedule.None, sc.Type)
		assert.Zero(t, ps)
	})
}

// Each process runs the schedule; a tick starts one run, by the first
// process to claim it.
func TestScheduleTickClaimedOnce(t *testing.T) {
	engines(t, func(t *testing.T, st *store) {
		a := newProc(t, st, counting("ticked"), true)
		b := newProc(t, st, counting("ticked"), true)
		_, err := a.svc.SetSchedule(t.Context(), schedule.Schedule{Type: schedule.Daily}, params{N: 1})
		require.NoError(t, err)
		tick := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
		count := func() int {
			_, total, err := a.svc.History(t.Context(), core.Page{})
			require.NoError(t, err)
			return total
		}

		a.svc.Fire(tick)
		require.Equal(t, 1, count())
		hist, _, err := b.svc.History(t.Context(), core.Page{})
		require.NoError(t, err)
		wait(t, a.svc, hist[0].ID)
		b.svc.Fire(tick)
		a.svc.Fire(tick)
		assert.Equal(t, 1, count(), "the tick was claimed")
		b.svc.Fire(tick.Add(24 * time.Hour))
		assert.Equal(t, 2, count(), "the next tick runs")
	})
}

// A run cut off by a shutdown is not stopped: it stays Running, and the
// next process's job runner runs it again to the end.
func TestRestartResumesARun(t *testing.T) {
	engines(t, func(t *testing.T, st *store) {
		h := newHolding()
		first := newProc(t, st, h.task("resumed"), true)
		r := startHeld(t, first, h, 3)

		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		require.ErrorIs(t, first.runner.Stop(ctx), context.DeadlineExceeded, "a shutdown that cuts the run off")
		first.svc.Close()
		got, err := first.svc.Get(t.Context(), r.ID)
		require.NoError(t, err)
		assert.Equal(t, maintenance.StatusRunning, got.Status, "not stopped: it resumes")

		resumed := newHolding()
		close(resumed.release)
		second := newProc(t, st, resumed.task("resumed"), true)
		assert.EqualValues(t, 3, <-resumed.started, "with its parameters")
		got = wait(t, second.svc, r.ID)
		assert.Equal(t, maintenance.StatusSuccess, got.Status)
		assert.Equal(t, result{Done: 3}, got.Result)
		lg, err := second.svc.Log(t.Context(), r.ID)
		require.NoError(t, err)
		assert.Equal(t, 2, strings.Count(lg, "holding"), "one log across both attempts")
		assert.Contains(t, lg, "interrupted; the run starts again with its job")
	})
}

// A run whose job is gone (cancelled in the queue, discarded after its
// attempts) without the run recording its end does not hold the task:
// the next run ends it as an error, saying why, and starts.
func TestARunThatLostItsJobDoesNotHoldTheTask(t *testing.T) {
	engines(t, func(t *testing.T, st *store) {
		p := newProc(t, st, counting("lost"), false) // its runs stay pending
		r, err := p.svc.Run(t.Context(), params{N: 1}, maintenance.Manual)
		require.NoError(t, err)
		var jobID int64
		require.NoError(t, st.db.QueryRow(t.Context(), `SELECT job_id FROM maintenance_runs WHERE id = ?`, r.ID).Scan(&jobID))
		require.NotZero(t, jobID)
		_, err = p.svc.Run(t.Context(), params{N: 1}, maintenance.Manual)
		assert.ErrorIs(t, err, core.ErrConflict, "its job is still queued")

		_, err = p.runner.Cancel(t.Context(), jobID) // the queue lets go of it behind the run's back
		require.NoError(t, err)
		next, err := p.svc.Run(t.Context(), params{N: 1}, maintenance.Manual)
		require.NoError(t, err)
		assert.NotEqual(t, r.ID, next.ID)
		old, err := p.svc.Get(t.Context(), r.ID)
		require.NoError(t, err)
		assert.Equal(t, maintenance.StatusError, old.Status)
		assert.Contains(t, old.Error, "its job ended")
	})
}

// Processes starting runs of one task at the same moment: exactly one
// starts, every other is told core.ErrConflict (on PostgreSQL, where the
// starters' transactions run side by side, a starter that read "nothing
// in progress" before another's insert committed used to fail on the
// unique index with a constraint error instead). Scheduled ticks fired by
// every process at once start one run each.
func TestConcurrentStartersStartOneRun(t *testing.T) {
	engines(t, func(t *testing.T, st *store) {
		const starters, rounds = 8, 5
		procs := make([]*proc, starters)
		for i := range procs {
			procs[i] = newProc(t, st, counting("raced"), false) // runs stay pending
		}
		race := func(start func(p *proc) error) (won int, errs []error) {
			var wg sync.WaitGroup
			var mu sync.Mutex
			gate := make(chan struct{})
			for _, p := range procs {
				wg.Go(func() {
					<-gate
					err := start(p)
					mu.Lock()
					defer mu.Unlock()
					if err == nil {
						won++
					} else {
						errs = append(errs, err)
					}
				})
			}
			close(gate)
			wg.Wait()
			return won, errs
		}
		total := func() int {
			_, n, err := procs[0].svc.History(t.Context(), core.Page{})
			require.NoError(t, err)
			return n
		}
		stopActive := func() {
			hist, _, err := procs[0].svc.History(t.Context(), core.Page{Limit: 1})
			require.NoError(t, err)
			require.NotEmpty(t, hist)
			require.NoError(t, procs[0].svc.Stop(t.Context(), hist[0].ID))
		}
		for round := range rounds {
			won, errs := race(func(p *proc) error {
				_, err := p.svc.Run(t.Context(), params{N: 1}, maintenance.Manual)
				return err
			})
			require.Equal(t, 1, won, "round %d: one run starts", round)
			for _, err := range errs {
				require.ErrorIs(t, err, core.ErrConflict, "round %d", round)
			}
			require.Equal(t, round+1, total())
			stopActive()
		}

		_, err := procs[0].svc.SetSchedule(t.Context(), schedule.Schedule{Type: schedule.Daily}, params{N: 1})
		require.NoError(t, err)
		tick := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
		for round := range rounds {
			race(func(p *proc) error { p.svc.Fire(tick.Add(time.Duration(round) * 24 * time.Hour)); return nil })
			require.Equal(t, rounds+round+1, total(), "round %d: a tick starts one run", round)
			stopActive()
		}
	})
}
