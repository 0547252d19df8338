package gc

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/berthlabs/berth/maintenance"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
)

// Collector is the garbage collection a run performs; *registry.Registry
// implements it.
type Collector interface {
	CollectGarbage(ctx context.Context, opts registry.GCOptions) (registry.GCResult, error)
	GarbageQueue(ctx context.Context) (blobs, untagged int, err error)
}

// Params are a run's parameters, Harbor's job_parameters.
type Params struct {
	DeleteUntagged bool `json:"delete_untagged"`
	DryRun         bool `json:"dry_run"`
}

// Result is what a run freed or, dry, would free.
type Result struct {
	ManifestsDeleted int   `json:"manifests_deleted"`
	BlobsDeleted     int   `json:"blobs_deleted"`
	BytesFreed       int64 `json:"bytes_freed"`
}

// Run is one garbage collection run.
type Run = maintenance.Run[Params, Result]

// Service schedules, runs and records garbage collection: the
// maintenance task "gc", whose runs collect with a Collector. Its methods
// (Run, Stop, Get, History, Log, Schedule, SetSchedule, Register, Start,
// Close) are the maintenance.Service's.
type Service struct {
	*maintenance.Service[Params, Result]
	coll  Collector
	grace time.Duration
	stats *stats
}

type config struct {
	maint []maintenance.Option
	grace time.Duration
}

// Option configures a Service.
type Option func(*config)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.maint = append(c.maint, maintenance.WithLogger(l)) }
}

// WithGraceWindow sets the grace window of every run (default
// registry.DefaultGCGraceWindow; negative: none).
func WithGraceWindow(d time.Duration) Option { return func(c *config) { c.grace = d } }

// WithClock sets the time source of run records.
func WithClock(now func() time.Time) Option {
	return func(c *config) { c.maint = append(c.maint, maintenance.WithClock(now)) }
}

// New applies the maintenance migrations to db and returns a Service that
// collects with coll and runs on queue (a *jobs.Runner).
func New(ctx context.Context, db *sqldb.DB, coll Collector, queue maintenance.Queue, opts ...Option) (*Service, error) {
	if db == nil || coll == nil || queue == nil {
		return nil, errors.New("gc: a database, a collector and a job queue are required")
	}
	var c config
	for _, o := range opts {
		o(&c)
	}
	s := &Service{coll: coll, grace: c.grace, stats: newStats()}
	svc, err := maintenance.New(ctx, db, queue, maintenance.Task[Params, Result]{
		Name:  "gc",
		Title: "garbage collection",
		Run:   s.collect,
		Ended: func(r Run) { s.stats.record(r.Status, r.Params.DryRun, r.Result) },
	}, c.maint...)
	if err != nil {
		return nil, err
	}
	s.Service = svc
	return s, nil
}

// collect is one run's work. A run cut off by a crash runs again from the
// start: the collection is idempotent, and finishes what the cut-off run
// began.
func (s *Service) collect(ctx context.Context, p Params, log func(string, ...any)) (Result, error) {
	res, err := s.coll.CollectGarbage(ctx, registry.GCOptions{DryRun: p.DryRun, DeleteUntagged: p.DeleteUntagged,
		GraceWindow: s.grace, Log: func(line string) { log("%s", line) }})
	return Result{ManifestsDeleted: res.ManifestsDeleted, BlobsDeleted: res.BlobsDeleted, BytesFreed: res.BytesFreed}, err
}
