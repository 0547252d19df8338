// Package jobs runs durable background jobs in the database berth already
// uses, on River (github.com/riverqueue/river), behind types of its own
// (Args, Job, Worker, Workers), so that packages with jobs never name River.
//
// Long work — scans, replication, garbage collection, retention — is
// enqueued as a row in the same database as the rest of berth's state, so
// it survives restarts: a job enqueued before a crash or shutdown runs when
// a Runner next starts on that database. Retries with backoff, unique jobs,
// scheduled jobs and cancellation are River's.
//
// Usage:
//
//	type ScanArgs struct{ Digest string `json:"digest"` }
//
//	func (ScanArgs) Kind() string { return "scan" }
//
//	type ScanWorker struct{}
//
//	func (w *ScanWorker) Work(ctx context.Context, job *jobs.Job[ScanArgs]) error {
//		return scan(ctx, job.Args.Digest)
//	}
//
//	err := jobs.Migrate(ctx, db) // once, at startup
//	r, err := jobs.New(db,
//		jobs.WithWorker(&ScanWorker{}),
//		jobs.WithConcurrency(4),
//		jobs.WithMaxAttempts(5))
//	err = r.Start(ctx)
//	defer r.Stop(ctx)
//	id, err := r.Enqueue(ctx, ScanArgs{Digest: d}, jobs.UniqueByArgs())
//	st, err := r.Status(ctx, id)
//
// The *sql.DB handed to Migrate, New and RescueOrphans is a pool of its own
// (sqldb.DB.NewPool makes one), and its driver chooses the engine.
//
// A pool of pgx's database/sql driver (github.com/jackc/pgx/v5/stdlib, what
// NewPool returns on PostgreSQL) is PostgreSQL, worked with River's
// database/sql driver. Several processes share one queue: each job is
// claimed by one Runner at a time (SELECT … FOR UPDATE SKIP LOCKED), and a
// job left running by a process that died is rescued by the Runners that
// remain (WithRescueAfter). A few connections (NewPool(ctx, 4)) let River's
// fetches, completions and maintenance run side by side.
//
// Any other pool is SQLite, worked with River's SQLite driver. It must be
// limited to one connection: SQLite allows one writer and River runs many
// internal operations in parallel, so River's SQLite driver asks for
// db.SetMaxOpenConns(1). Use busy_timeout so that River's writes wait for,
// rather than fail on, the writer lock held by berth's own writer:
//
//	file:/var/lib/berth/berth.db?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(FULL)
//
// Neither listens for notifications (River runs "poll only"): a Runner
// notices jobs it enqueued itself at once and jobs enqueued by another
// process within its poll interval (WithPollInterval).
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/berthlabs/berth/core"
)

// ErrNotFound is returned by Status and Cancel for an unknown job id.
var ErrNotFound = core.New(core.ErrNotFound, "job not found")

// ErrShared is returned by RescueOrphans on a database other processes may
// be working (PostgreSQL).
var ErrShared = core.New(core.ErrPrecondition, "the database is shared: running jobs may be another process's")

// Migrate creates or upgrades River's tables (river_job, river_queue, …) in
// db. It is idempotent; run it once at startup before New. On PostgreSQL
// processes starting together may all run it: they take turns (an advisory
// lock), and each after the first finds nothing left to do.
func Migrate(ctx context.Context, db *sql.DB) error {
	if db == nil {
		return errors.New("jobs: migrate: nil *sql.DB")
	}
	if isPostgres(db) {
		unlock, err := lockMigrations(ctx, db)
		if err != nil {
			return fmt.Errorf("jobs: migrate: lock: %w", err)
		}
		defer unlock()
	}
	m, err := newMigrator(db)
	if err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	return nil
}

// Runner enqueues jobs and, once started, works them with the registered
// workers. A Runner that is never started can still enqueue, inspect and
// cancel jobs.
type Runner struct {
	client    *river.Client[*sql.Tx]
	stopGrace time.Duration
}

type config struct {
	workers      *Workers
	register     []func(*Workers) error
	concurrency  int
	queues       map[string]int
	maxAttempts  int
	poll         time.Duration
	jobTimeout   time.Duration
	rescueAfter  time.Duration
	backoff      func(attempt int) time.Duration
	logger       *slog.Logger
	stopCancelIn time.Duration
}

// Option configures a Runner.
type Option func(*config)

// WithWorker registers the worker for jobs of kind T.Kind().
func WithWorker[T Args](w Worker[T]) Option {
	return func(c *config) {
		c.register = append(c.register, func(ws *Workers) error { return Register(ws, w) })
	}
}

// WithWorkers runs every worker in ws, including those registered after
// New and before Start. Combine with WithWorker freely; a kind registered
// twice is an error.
func WithWorkers(ws *Workers) Option {
	return func(c *config) {
		if ws != nil {
			c.workers = ws
		}
	}
}

// WithConcurrency bounds how many jobs of the default queue run at once in
// this process (default 10).
func WithConcurrency(n int) Option { return func(c *config) { c.concurrency = n } }

// WithQueue adds a named queue worked with at most maxWorkers jobs at once.
// Jobs go to it with OnQueue.
func WithQueue(name string, maxWorkers int) Option {
	return func(c *config) { c.queues[name] = maxWorkers }
}

// WithMaxAttempts sets how many times a job runs before it is discarded
// (default 25, River's). EnqueueMaxAttempts overrides it per job.
func WithMaxAttempts(n int) Option { return func(c *config) { c.maxAttempts = n } }

// WithBackoff replaces River's retry backoff (attempt⁴ seconds with jitter)
// with f, given the number of the attempt that just failed (1-based).
func WithBackoff(f func(attempt int) time.Duration) Option {
	return func(c *config) { c.backoff = f }
}

// WithPollInterval sets how often the database is polled for new jobs
// (default 1s). Neither engine's driver listens for notifications: jobs
// enqueued through this Runner are noticed at once, jobs enqueued
// elsewhere (another process) within one interval.
func WithPollInterval(d time.Duration) Option { return func(c *config) { c.poll = d } }

// WithJobTimeout bounds one attempt of a job (default 1 minute; -1 for no
// timeout). A job exceeding it has its context cancelled.
func WithJobTimeout(d time.Duration) Option { return func(c *config) { c.jobTimeout = d } }

// WithRescueAfter sets how long a job may stay "running" before it is taken
// to be orphaned by a crashed process and made retryable (default 1 hour,
// River's). It must exceed the job timeout, and a job is not rescued before
// its timeout has passed either. River's rescuer runs every 30 seconds on
// one of the Runners sharing a database (the leader), and a rescued job is
// retried after its backoff once River's scheduler (every 5 seconds, on
// the leader) has made it available. So a dead process's job runs again
// within about WithRescueAfter + 35s of the attempt's start — or, when the
// dead process was the leader, 27s after its death if that is later (its
// leadership expires after 15s and another Runner claims it within 6s).
func WithRescueAfter(d time.Duration) Option { return func(c *config) { c.rescueAfter = d } }

// WithStopGrace sets how long Stop waits, once its context is done, for
// running jobs to return after their contexts are cancelled (default 10s).
func WithStopGrace(d time.Duration) Option { return func(c *config) { c.stopCancelIn = d } }

// WithLogger sets River's logger (default: warnings and errors to stderr).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

type backoffPolicy struct{ f func(int) time.Duration }

func (p backoffPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().UTC().Add(p.f(job.Attempt))
}

// New returns a Runner on db, a SQLite or PostgreSQL pool (see the package
// documentation) on which Migrate has run. The caller keeps ownership of db
// and closes it after Stop.
func New(db *sql.DB, opts ...Option) (*Runner, error) {
	if db == nil {
		return nil, errors.New("jobs: nil *sql.DB")
	}
	c := &config{
		workers:      NewWorkers(),
		concurrency:  10,
		queues:       map[string]int{},
		stopCancelIn: 10 * time.Second,
	}
	for _, o := range opts {
		o(c)
	}
	for _, reg := range c.register {
		if err := reg(c.workers); err != nil {
			return nil, fmt.Errorf("jobs: %w", err)
		}
	}
	if c.concurrency < 1 {
		return nil, fmt.Errorf("jobs: concurrency %d < 1", c.concurrency)
	}
	queues := map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: c.concurrency}}
	for name, n := range c.queues {
		queues[name] = river.QueueConfig{MaxWorkers: n}
	}
	logger := c.logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	rc := &river.Config{
		FetchPollInterval:    c.poll,
		JobTimeout:           c.jobTimeout,
		Logger:               logger,
		MaxAttempts:          c.maxAttempts,
		Queues:               queues,
		RescueStuckJobsAfter: c.rescueAfter,
		Workers:              c.workers.ws,
	}
	if c.poll > 0 && c.poll < river.FetchCooldownDefault {
		rc.FetchCooldown = c.poll
	}
	if c.backoff != nil {
		rc.RetryPolicy = backoffPolicy{c.backoff}
	}
	client, err := newClient(db, rc)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return &Runner{client: client, stopGrace: c.stopCancelIn}, nil
}

// RescueOrphans makes jobs left running by a process that died available
// again, at once, and returns how many. Call it before Start, and only
// when no other Runner can be working on db — as in a server that holds
// its data directory exclusively; otherwise it would hand out jobs that
// are really running. Without it such jobs wait for River's rescuer
// (WithRescueAfter, an hour by default).
//
// On PostgreSQL it refuses (ErrShared) and changes nothing: the database
// is shared by design, so a job marked running may be another process's.
// There River's rescuer takes a job for orphaned only once it has run
// longer than WithRescueAfter.
func RescueOrphans(ctx context.Context, db *sql.DB) (int, error) {
	if isPostgres(db) {
		return 0, fmt.Errorf("jobs: rescuing orphans: %w", ErrShared)
	}
	res, err := db.ExecContext(ctx, `UPDATE river_job SET state = 'available' WHERE state = 'running'`)
	if err != nil {
		return 0, fmt.Errorf("jobs: rescuing orphans: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
