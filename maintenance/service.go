package maintenance

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/schedule"
	"github.com/berthlabs/berth/sqldb"
)

//go:embed migrations
var migrations embed.FS

// Queue runs durable jobs; *jobs.Runner implements it.
type Queue interface {
	Enqueue(ctx context.Context, args jobs.Args, opts ...jobs.EnqueueOption) (int64, error)
	Cancel(ctx context.Context, id int64) (*jobs.Status, error)
	Status(ctx context.Context, id int64) (*jobs.Status, error)
}

// Kinds of runs, Harbor's job kinds.
const (
	Manual    = "MANUAL"
	Scheduled = "SCHEDULE"
)

// Run statuses, Harbor's job statuses.
const (
	StatusPending = "Pending"
	StatusRunning = "Running"
	StatusSuccess = "Success"
	StatusError   = "Error"
	StatusStopped = "Stopped"
)

// Task is the work of one kind of run.
type Task[P, R any] struct {
	// Name keys the task's runs and settings and names its jobs:
	// lowercase letters, digits and underscores ("gc").
	Name string
	// Title names the task in messages ("garbage collection"); default
	// Name.
	Title string
	// Check, when set, validates and normalises parameters before a run
	// is recorded and before the parameters of a schedule (other than
	// None) are stored; its errors should wrap core.ErrInvalid.
	Check func(P) (P, error)
	// Run does the work, writing progress to log. Its context is
	// cancelled when the run is stopped or the process shuts down. It runs
	// again, from the start, when a crash or a shutdown cut it off. Its
	// result is recorded even with an error: what it did before it ended.
	Run func(ctx context.Context, p P, log func(format string, args ...any)) (R, error)
	// Ended, when set, is told of each run this process worked that
	// ended (Success, Error or Stopped): metrics, notifications.
	Ended func(Run[P, R])
}

// Run is one run of a task.
type Run[P, R any] struct {
	ID               int64
	Kind             string // Manual or Scheduled
	Status           string
	Params           P
	Result           R // what the run did, once it has ended
	Error            string
	Created, Updated time.Time
}

// Done reports whether the run has ended: Success, Error or Stopped.
func (r Run[P, R]) Done() bool { return r.Status != StatusPending && r.Status != StatusRunning }

// Service runs, schedules and records the runs of one task.
type Service[P, R any] struct {
	db    *sqldb.DB
	queue Queue
	task  Task[P, R]
	log   *slog.Logger
	now   func() time.Time
	cron  *schedule.Cron

	schedMu    sync.Mutex
	scheduling bool // between Start and Close

	mu     sync.Mutex
	active map[int64]*active // runs working in this process
}

// active is a run working in this process.
type active struct {
	cancel  context.CancelFunc
	stopped bool // by Stop, not by a shutdown
}

type options struct {
	log *slog.Logger
	now func() time.Time
}

// Option configures a Service.
type Option func(*options)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithClock sets the time source of run records and log lines.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// New applies the package's migrations to db and returns the Service of
// task, whose runs are jobs on queue.
func New[P, R any](ctx context.Context, db *sqldb.DB, queue Queue, task Task[P, R], opts ...Option) (*Service[P, R], error) {
	if db == nil || queue == nil || task.Run == nil {
		return nil, errors.New("maintenance: a database, a job queue and a task's Run function are required")
	}
	if !validName(task.Name) {
		return nil, fmt.Errorf("maintenance: task name %q: want 1 to 63 lowercase letters, digits and underscores, "+
			"a letter first: %w", task.Name, core.ErrInvalid)
	}
	if task.Title == "" {
		task.Title = task.Name
	}
	o := options{log: slog.Default(), now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	if err := db.MigrateDialect(ctx, "maintenance", migrations); err != nil {
		return nil, err
	}
	s := &Service[P, R]{db: db, queue: queue, task: task, log: o.log, now: o.now, active: map[int64]*active{}}
	s.cron = schedule.NewCron(s.fire)
	return s, nil
}

func validName(name string) bool {
	if name == "" || len(name) > 63 || name[0] < 'a' || name[0] > 'z' {
		return false
	}
	for _, c := range name {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// Register adds the task's run worker to the job runner's workers.
func (s *Service[P, R]) Register(ws *jobs.Workers) error {
	return jobs.RegisterArgs(ws, runArgs{Task: s.task.Name}, jobs.Worker[runArgs](&worker[P, R]{s: s}))
}

// Start runs the stored schedule until Close.
func (s *Service[P, R]) Start(ctx context.Context) error {
	sc, _, err := s.Schedule(ctx)
	if err != nil {
		return err
	}
	s.schedMu.Lock()
	defer s.schedMu.Unlock()
	s.scheduling = true
	return s.cron.Set(sc)
}

// Close stops the schedule; runs in progress stop with the job runner.
func (s *Service[P, R]) Close() {
	s.schedMu.Lock()
	s.scheduling = false
	s.schedMu.Unlock()
	s.cron.Stop()
}

// Run starts a run now and returns it, Pending. Only one run of the task
// is pending or running at a time, across processes: while one is, Run
// fails with core.ErrConflict. Parameters Check refuses are refused here.
func (s *Service[P, R]) Run(ctx context.Context, p P, kind string) (Run[P, R], error) {
	id, err := s.start(ctx, p, kind, time.Time{})
	if err != nil {
		return Run[P, R]{}, err
	}
	return s.Get(ctx, id)
}

// abandoned ends run id as an error when its job is gone or finished
// without the run recording its end (discarded after its attempts, or
// removed from the queue), so a lost job cannot hold the task forever. It
// reports whether the run no longer holds the task: it ended it, or the
// run's worker ended it meanwhile (a job finishes after its run records
// its end, so a run read as in progress may have ended by now; its
// record stays as the worker wrote it).
func (s *Service[P, R]) abandoned(ctx context.Context, id int64) (bool, error) {
	var jobID int64
	if err := s.db.QueryRow(ctx, `SELECT job_id FROM maintenance_runs WHERE id = ?`, id).Scan(&jobID); err != nil {
		return false, err
	}
	if jobID == 0 {
		return false, nil // being enqueued
	}
	st, err := s.queue.Status(ctx, jobID)
	var why string
	switch {
	case errors.Is(err, jobs.ErrNotFound):
		why = "its job is no longer queued"
	case err != nil:
		return false, err
	case !st.FinalizedAt.IsZero():
		why = fmt.Sprintf("its job ended (%s) without recording the run's end", st.State)
	default:
		return false, nil
	}
	ended, err := s.fail(ctx, id, why)
	if err != nil {
		return false, err
	}
	if ended { // else its worker recorded its end since it was read
		s.log.Warn(s.task.Title+": a run lost its job; ended as an error", "run", id, "why", why)
	}
	return true, nil
}

const settingTick = "tick"

// start records and enqueues a run. A scheduled run names its tick: it
// starts only if no process claimed that tick before (id 0 otherwise).
func (s *Service[P, R]) start(ctx context.Context, p P, kind string, tick time.Time) (int64, error) {
	if kind != Manual && kind != Scheduled {
		return 0, fmt.Errorf("%s: run kind %q: want %s or %s: %w", s.task.Title, kind, Manual, Scheduled, core.ErrInvalid)
	}
	p, err := s.check(p)
	if err != nil {
		return 0, err
	}
	params, err := json.Marshal(p)
	if err != nil {
		return 0, fmt.Errorf("%s: parameters: %w", s.task.Title, err)
	}
	now := s.now().UnixNano()
	var id int64
	var busy int64
	for attempt := 0; ; attempt++ {
		busy, id, err = s.insertRun(ctx, kind, tick, string(params), now)
		if busy == 0 || attempt > 0 {
			break
		}
		if ok, aerr := s.abandoned(ctx, busy); aerr != nil || !ok {
			if aerr != nil {
				s.log.Warn(s.task.Title+": checking the run in progress", "run", busy, "err", aerr)
			}
			break
		}
	}
	if err != nil || id == 0 {
		return 0, err
	}
	jobID, err := s.queue.Enqueue(ctx, runArgs{Task: s.task.Name, RunID: id}, jobs.UniqueByArgs())
	if err != nil {
		_, _ = s.fail(context.WithoutCancel(ctx), id, "enqueueing: "+err.Error())
		return 0, err
	}
	return id, s.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE maintenance_runs SET job_id = ? WHERE id = ?`, jobID, id)
		return err
	})
}

// insertRun records a pending run unless one of the task is in progress
// (busy names it, with core.ErrConflict) or, for a tick, another process
// claimed the tick (id 0).
//
// The unique index maintenance_runs_active is the rule: the insert does
// nothing while a run of the task is pending or running. Reading first
// and inserting after would not do on PostgreSQL, where starters run
// side by side: both would read no run in progress, and the second
// insert would fail on the index with a constraint error instead of
// core.ErrConflict. Inserted with ON CONFLICT DO NOTHING, the second
// waits for the first to commit and then inserts nothing.
func (s *Service[P, R]) insertRun(ctx context.Context, kind string, tick time.Time, params string, now int64) (busy, id int64, err error) {
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		busy, id = 0, 0
		if !tick.IsZero() {
			res, err := tx.Exec(ctx, `INSERT INTO maintenance_settings (task, name, value) VALUES (?, ?, ?)
				ON CONFLICT (task, name) DO UPDATE SET value = excluded.value
				WHERE maintenance_settings.value < excluded.value`, s.task.Name, settingTick, fmt.Sprintf("%020d", tick.UnixNano()))
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				return err // another process started this tick's run
			}
		}
		for range 3 {
			err := tx.QueryRow(ctx, `INSERT INTO maintenance_runs (task, kind, status, params, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
				s.task.Name, kind, StatusPending, params, now, now).Scan(&id)
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			err = tx.QueryRow(ctx, `SELECT id FROM maintenance_runs WHERE task = ? AND status IN (?, ?) LIMIT 1`,
				s.task.Name, StatusPending, StatusRunning).Scan(&busy)
			if err == nil {
				return fmt.Errorf("%s %d is already in progress: %w", s.task.Title, busy, core.ErrConflict)
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			// PostgreSQL: the run in the way ended between the two
			// statements; try again.
		}
		return fmt.Errorf("%s: another run keeps starting: %w", s.task.Title, core.ErrConflict)
	})
	return busy, id, err
}

func (s *Service[P, R]) check(p P) (P, error) {
	if s.task.Check == nil {
		return p, nil
	}
	return s.task.Check(p)
}

// Stop stops a pending or running run; it ends Stopped, keeping what it
// did. Stopping a run that has ended is core.ErrPrecondition.
func (s *Service[P, R]) Stop(ctx context.Context, id int64) error {
	r, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if r.Done() {
		return fmt.Errorf("%s %d is %s: %w", s.task.Title, id, r.Status, core.ErrPrecondition)
	}
	s.mu.Lock()
	a := s.active[id]
	if a != nil {
		a.stopped = true
	}
	s.mu.Unlock()
	if a != nil {
		a.cancel() // its worker records the end
	} else if err := s.markStopped(ctx, id); err != nil {
		// Not working here: pending, or working in another process, whose
		// worker finds it Stopped when its job's context is cancelled.
		return err
	}
	var jobID int64
	if err := s.db.QueryRow(ctx, `SELECT job_id FROM maintenance_runs WHERE id = ?`, id).Scan(&jobID); err != nil {
		return err
	}
	if jobID != 0 {
		if _, err := s.queue.Cancel(ctx, jobID); err != nil && !errors.Is(err, jobs.ErrNotFound) {
			return err
		}
	}
	return nil
}
