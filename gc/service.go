package gc

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
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/schedule"
	"github.com/berthlabs/berth/sqldb"
)

//go:embed migrations
var migrations embed.FS

// Collector is the garbage collection a run performs; *registry.Registry
// implements it.
type Collector interface {
	CollectGarbage(ctx context.Context, opts registry.GCOptions) (registry.GCResult, error)
	GarbageQueue(ctx context.Context) (blobs, untagged int, err error)
}

// Queue runs durable jobs; *jobs.Runner implements it.
type Queue interface {
	Enqueue(ctx context.Context, args jobs.Args, opts ...jobs.EnqueueOption) (int64, error)
	Cancel(ctx context.Context, id int64) (*jobs.Status, error)
}

// Kinds of runs, Harbor's job kinds.
const (
	Manual   = "MANUAL"
	Schedule = "SCHEDULE"
)

// Run statuses, Harbor's job statuses.
const (
	StatusPending = "Pending"
	StatusRunning = "Running"
	StatusSuccess = "Success"
	StatusError   = "Error"
	StatusStopped = "Stopped"
)

// Params are a run's parameters, Harbor's job_parameters.
type Params struct {
	DeleteUntagged bool `json:"delete_untagged"`
	DryRun         bool `json:"dry_run"`
}

// Run is one garbage collection run.
type Run struct {
	ID               int64
	Kind             string // Manual or Schedule
	Status           string
	Params           Params
	Created, Updated time.Time
	ManifestsDeleted int
	BlobsDeleted     int
	BytesFreed       int64
	Error            string
}

// Service schedules, runs and records garbage collection.
type Service struct {
	db     *sqldb.DB
	coll   Collector
	queue  Queue
	log    *slog.Logger
	now    func() time.Time
	grace  time.Duration
	cron   *schedule.Cron
	stats  *stats
	mu     sync.Mutex
	cancel map[int64]context.CancelFunc // runs working in this process
}

// Option configures a Service.
type Option func(*Service)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// WithGraceWindow sets the grace window of every run (default
// registry.DefaultGCGraceWindow; negative: none).
func WithGraceWindow(d time.Duration) Option { return func(s *Service) { s.grace = d } }

// WithClock sets the time source of run records.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// New applies the package's migrations to db and returns a Service that
// collects with coll and runs on queue.
func New(ctx context.Context, db *sqldb.DB, coll Collector, queue Queue, opts ...Option) (*Service, error) {
	if db == nil || coll == nil || queue == nil {
		return nil, errors.New("gc: a database, a collector and a job queue are required")
	}
	s := &Service{db: db, coll: coll, queue: queue, log: slog.Default(), now: time.Now, stats: newStats(),
		cancel: map[int64]context.CancelFunc{}}
	for _, o := range opts {
		o(s)
	}
	if err := db.MigrateDialect(ctx, "gc", migrations); err != nil {
		return nil, err
	}
	s.cron = schedule.NewCron(s.fire)
	return s, nil
}

// Register adds the run worker to the job runner's workers.
func (s *Service) Register(ws *jobs.Workers) error { return jobs.Register[runArgs](ws, &worker{s: s}) }

// Start runs the stored schedule until Close.
func (s *Service) Start(ctx context.Context) error {
	sc, _, err := s.Schedule(ctx)
	if err != nil {
		return err
	}
	return s.cron.Set(sc)
}

// Close stops the schedule; runs in progress stop with the job runner.
func (s *Service) Close() { s.cron.Stop() }

// Run starts a run now and returns it, Pending. Only one runs at a time:
// while one is pending or running, Run fails with core.ErrConflict.
func (s *Service) Run(ctx context.Context, p Params, kind string) (Run, error) {
	if kind != Manual && kind != Schedule {
		return Run{}, fmt.Errorf("run kind %q: %w", kind, core.ErrInvalid)
	}
	now := s.now().UnixNano()
	var id int64
	err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		var busy int64
		err := tx.QueryRow(ctx, `SELECT id FROM gc_runs WHERE status IN (?, ?) ORDER BY id LIMIT 1`,
			StatusPending, StatusRunning).Scan(&busy)
		if err == nil {
			return fmt.Errorf("garbage collection %d is already %s: %w", busy, "in progress", core.ErrConflict)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		return tx.QueryRow(ctx, `INSERT INTO gc_runs (kind, status, dry_run, delete_untagged, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, kind, StatusPending, p.DryRun, p.DeleteUntagged, now, now).Scan(&id)
	})
	if err != nil {
		return Run{}, err
	}
	jobID, err := s.queue.Enqueue(ctx, runArgs{RunID: id}, jobs.UniqueByArgs())
	if err != nil {
		_ = s.finish(context.WithoutCancel(ctx), id, StatusError, registry.GCResult{}, "enqueueing: "+err.Error())
		return Run{}, err
	}
	if err := s.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE gc_runs SET job_id = ? WHERE id = ?`, jobID, id)
		return err
	}); err != nil {
		return Run{}, err
	}
	return s.Get(ctx, id)
}

// Stop stops a pending or running run; it ends Stopped, keeping what it
// freed. Stopping a finished run is core.ErrPrecondition.
func (s *Service) Stop(ctx context.Context, id int64) error {
	r, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if r.Status != StatusPending && r.Status != StatusRunning {
		return fmt.Errorf("garbage collection %d is %s: %w", id, r.Status, core.ErrPrecondition)
	}
	s.mu.Lock()
	cancel := s.cancel[id]
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	var jobID int64
	if err := s.db.QueryRow(ctx, `SELECT job_id FROM gc_runs WHERE id = ?`, id).Scan(&jobID); err != nil {
		return err
	}
	if jobID != 0 {
		if _, err := s.queue.Cancel(ctx, jobID); err != nil && !errors.Is(err, jobs.ErrNotFound) {
			return err
		}
	}
	if cancel == nil { // not working here: it will not start, or its worker sees the status
		return s.finish(ctx, id, StatusStopped, registry.GCResult{}, "")
	}
	return nil
}

const runCols = `id, kind, status, dry_run, delete_untagged, created_at, updated_at, manifests_deleted, blobs_deleted, bytes_freed, error`

func scanRun(row interface{ Scan(...any) error }) (Run, error) {
	var r Run
	var created, updated int64
	err := row.Scan(&r.ID, &r.Kind, &r.Status, &r.Params.DryRun, &r.Params.DeleteUntagged, &created, &updated,
		&r.ManifestsDeleted, &r.BlobsDeleted, &r.BytesFreed, &r.Error)
	r.Created, r.Updated = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	return r, err
}

// Get returns one run.
func (s *Service) Get(ctx context.Context, id int64) (Run, error) {
	r, err := scanRun(s.db.QueryRow(ctx, `SELECT `+runCols+` FROM gc_runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("garbage collection %d: %w", id, core.ErrNotFound)
	}
	return r, err
}

// History lists runs, newest first, with the total count.
func (s *Service) History(ctx context.Context, page core.Page) ([]Run, int, error) {
	page = page.Bounded(20, 100)
	var total int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM gc_runs`).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.db.Query(ctx, `SELECT `+runCols+` FROM gc_runs ORDER BY id DESC LIMIT ? OFFSET ?`, page.Limit, page.Offset)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, r)
	}
	return out, total, rows.Err()
}

// Log returns a run's log.
func (s *Service) Log(ctx context.Context, id int64) (string, error) {
	var l string
	err := s.db.QueryRow(ctx, `SELECT log FROM gc_runs WHERE id = ?`, id).Scan(&l)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("garbage collection %d: %w", id, core.ErrNotFound)
	}
	return l, err
}

const (
	settingSchedule = "schedule"
	settingParams   = "params"
)

// Schedule returns the schedule and the parameters of scheduled runs.
func (s *Service) Schedule(ctx context.Context) (schedule.Schedule, Params, error) {
	sc := schedule.Schedule{Type: schedule.None}
	var p Params
	rows, err := s.db.Query(ctx, `SELECT name, value FROM gc_settings`)
	if err != nil {
		return sc, p, err
	}
	defer rows.Close()
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return sc, p, err
		}
		switch name {
		case settingSchedule:
			err = json.Unmarshal([]byte(value), &sc)
		case settingParams:
			err = json.Unmarshal([]byte(value), &p)
		}
		if err != nil {
			return sc, p, fmt.Errorf("gc: stored %s: %w", name, err)
		}
	}
	return sc, p, rows.Err()
}

// SetSchedule stores the schedule and its runs' parameters, and applies it
// at once when Start runs the schedule here.
func (s *Service) SetSchedule(ctx context.Context, sc schedule.Schedule, p Params) (schedule.Schedule, error) {
	sc, err := sc.Normalized()
	if err != nil {
		return sc, err
	}
	scJSON, _ := json.Marshal(sc)
	pJSON, _ := json.Marshal(p)
	err = s.db.Write(ctx, func(tx *sqldb.Tx) error {
		for name, v := range map[string]string{settingSchedule: string(scJSON), settingParams: string(pJSON)} {
			if _, err := tx.Exec(ctx, `INSERT INTO gc_settings (name, value) VALUES (?, ?)
				ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return sc, err
	}
	return sc, s.cron.Set(sc)
}

// fire starts a scheduled run; a run already in progress (another
// process's tick, or a long manual run) wins.
func (s *Service) fire(time.Time) {
	ctx := context.Background()
	_, p, err := s.Schedule(ctx)
	if err == nil {
		_, err = s.Run(ctx, p, Schedule)
	}
	if err != nil && !errors.Is(err, core.ErrConflict) {
		s.log.Error("gc: scheduled run", "err", err)
	}
}

// finish records a run's end.
func (s *Service) finish(ctx context.Context, id int64, status string, res registry.GCResult, errText string) error {
	return s.db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE gc_runs SET status = ?, updated_at = ?, manifests_deleted = ?, blobs_deleted = ?,
			bytes_freed = ?, error = ? WHERE id = ?`, status, s.now().UnixNano(), res.ManifestsDeleted, res.BlobsDeleted,
			res.BytesFreed, errText, id)
		return err
	})
}
