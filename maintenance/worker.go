package maintenance

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/jobs"
)

// runArgs is the durable job of one run; its kind names the task, so
// each task has a worker of its own.
type runArgs struct {
	Task  string `json:"task"`
	RunID int64  `json:"run_id"`
}

func (a runArgs) Kind() string { return "maintenance:" + a.Task }

type worker[P, R any] struct{ s *Service[P, R] }

// Timeout: a run takes as long as its work does; Stop ends it.
func (w *worker[P, R]) Timeout(*jobs.Job[runArgs]) time.Duration { return -1 }

func (w *worker[P, R]) Work(ctx context.Context, job *jobs.Job[runArgs]) error {
	s := w.s
	r, err := s.Get(ctx, job.Args.RunID)
	switch {
	case errors.Is(err, core.ErrNotFound):
		return jobs.Cancel(err)
	case err != nil:
		return err
	case r.Done():
		return nil // stopped before it started, or ended
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a := &active{cancel: cancel}
	s.mu.Lock()
	s.active[r.ID] = a
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.active, r.ID)
		s.mu.Unlock()
	}()
	// A run cut off by a crash or a shutdown is Running: it runs again.
	bg := context.WithoutCancel(ctx)
	if started, err := s.markRunning(ctx, r.ID); err != nil || !started {
		if err != nil && ctx.Err() != nil && s.stopRequested(bg, a, r.ID) {
			var zero R // stopped while it was being marked running
			return s.end(bg, r.ID, StatusStopped, zero, "")
		}
		return err
	}
	// Not ctx: a Stop from now on is the task's to notice, and the log
	// must be there to say so.
	lg, err := s.openLog(bg, r.ID)
	if err != nil {
		return err
	}
	lg.add("run %d (%s), attempt %d", r.ID, strings.ToLower(r.Kind), job.Attempt)
	res, err := s.task.Run(ctx, r.Params, lg.add)
	status, errText := StatusSuccess, ""
	switch {
	case err != nil && ctx.Err() != nil && !s.stopRequested(bg, a, r.ID):
		// A shutdown, not a stop: the job, handed back, runs it again.
		lg.add("interrupted; the run starts again with its job")
		lg.flush(bg, true)
		return err
	case err != nil && ctx.Err() != nil:
		status = StatusStopped
		lg.add("stopped")
	case err != nil:
		status, errText = StatusError, err.Error()
		lg.add("failed: %s", errText)
	}
	lg.flush(bg, true)
	if err := s.end(bg, r.ID, status, res, errText); err != nil {
		return err
	}
	if s.task.Ended != nil {
		if ended, gerr := s.Get(bg, r.ID); gerr == nil {
			s.task.Ended(ended)
		}
	}
	if status == StatusError {
		return jobs.Cancel(err) // recorded; a new run is the retry
	}
	return nil
}

// stopRequested tells a stop from a shutdown: Stop here marked the run
// working, Stop elsewhere marked its record.
func (s *Service[P, R]) stopRequested(ctx context.Context, a *active, id int64) bool {
	s.mu.Lock()
	stopped := a.stopped
	s.mu.Unlock()
	if stopped {
		return true
	}
	var status string
	err := s.db.QueryRow(ctx, `SELECT status FROM maintenance_runs WHERE id = ?`, id).Scan(&status)
	return err == nil && status == StatusStopped
}
