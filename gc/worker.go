package gc

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
)

// runArgs is the durable job of one run.
type runArgs struct {
	RunID int64 `json:"run_id"`
}

func (runArgs) Kind() string { return "gc_run" }

type worker struct{ s *Service }

// Timeout: a run takes as long as the garbage does; Stop ends it.
func (w *worker) Timeout(*jobs.Job[runArgs]) time.Duration { return -1 }

// maxLog bounds a run's stored log; the lines past it are counted.
const maxLog = 1 << 20

func (w *worker) Work(ctx context.Context, job *jobs.Job[runArgs]) error {
	s := w.s
	r, err := s.Get(ctx, job.Args.RunID)
	if err != nil {
		return jobs.Cancel(err)
	}
	if r.Status != StatusPending && r.Status != StatusRunning {
		return nil // stopped before it started, or already done
	}
	// A run cut off by a crash runs again from the start: the collection
	// is idempotent, and finishes what the cut-off run began.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.mu.Lock()
	s.cancel[r.ID] = cancel
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.cancel, r.ID)
		s.mu.Unlock()
	}()
	if err := s.setStatus(ctx, r.ID, StatusRunning); err != nil {
		return err
	}
	lg := &runLog{s: s, id: r.ID}
	lg.add("run " + itoa(r.ID) + " (" + strings.ToLower(r.Kind) + "), attempt " + itoa(int64(job.Attempt)))
	res, err := s.coll.CollectGarbage(ctx, registry.GCOptions{DryRun: r.Params.DryRun,
		DeleteUntagged: r.Params.DeleteUntagged, GraceWindow: s.grace, Log: lg.add})
	bg := context.WithoutCancel(ctx)
	status, errText := StatusSuccess, ""
	switch {
	case err != nil && ctx.Err() != nil:
		status = StatusStopped
		lg.add("stopped")
	case err != nil:
		status, errText = StatusError, err.Error()
		lg.add("failed: " + errText)
	}
	lg.flush(bg)
	s.stats.record(status, r.Params.DryRun, res)
	if ferr := s.finish(bg, r.ID, status, res, errText); ferr != nil {
		return ferr
	}
	if status == StatusError {
		return jobs.Cancel(err) // recorded; a new run is the retry
	}
	return nil
}

func (s *Service) setStatus(ctx context.Context, id int64, status string) error {
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE gc_runs SET status = ?, updated_at = ? WHERE id = ?`, status, s.now().UnixNano(), id)
		return err
	})
}

// runLog collects a run's lines and appends them to its record every
// second or so, so a run in progress shows how far it got.
type runLog struct {
	s       *Service
	id      int64
	mu      sync.Mutex
	pending []string
	size    int
	dropped int
	flushed time.Time
}

func (l *runLog) add(line string) {
	l.mu.Lock()
	stamped := time.Now().UTC().Format(time.RFC3339) + " " + line
	if l.size+len(stamped)+1 > maxLog {
		l.dropped++
	} else {
		l.pending = append(l.pending, stamped)
		l.size += len(stamped) + 1
	}
	due := time.Since(l.flushed) > time.Second
	l.mu.Unlock()
	if due {
		l.flush(context.Background())
	}
}

func (l *runLog) flush(ctx context.Context) {
	l.mu.Lock()
	lines := l.pending
	l.pending, l.flushed = nil, time.Now()
	if l.dropped > 0 {
		lines = append(lines, "... "+itoa(int64(l.dropped))+" more lines not kept")
		l.dropped = 0
	}
	l.mu.Unlock()
	if len(lines) == 0 {
		return
	}
	err := l.s.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE gc_runs SET log = log || ? WHERE id = ?`, strings.Join(lines, "\n")+"\n", l.id)
		return err
	})
	if err != nil && !errors.Is(err, context.Canceled) {
		l.s.log.Warn("gc: writing a run's log", "run", l.id, "err", err)
	}
}
