package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// State is a job's lifecycle state.
type State = rivertype.JobState

// Job states (River's).
const (
	StateAvailable = rivertype.JobStateAvailable // waiting to run
	StateScheduled = rivertype.JobStateScheduled // waiting for its time
	StateRunning   = rivertype.JobStateRunning
	StateRetryable = rivertype.JobStateRetryable // failed, will run again
	StateCompleted = rivertype.JobStateCompleted
	StateDiscarded = rivertype.JobStateDiscarded // failed MaxAttempts times
	StateCancelled = rivertype.JobStateCancelled
	StatePending   = rivertype.JobStatePending
)

// Start begins working jobs in the background until Stop, or until ctx is
// cancelled (which stops hard: running jobs' contexts are cancelled).
func (r *Runner) Start(ctx context.Context) error {
	if err := r.client.Start(ctx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	return nil
}

// Stop stops fetching jobs and waits for running jobs to finish. If ctx is
// done first, running jobs' contexts are cancelled and Stop waits up to the
// stop grace (WithStopGrace) for them to return. River hands such jobs back
// as available without counting the attempt, so the next Runner on the
// database runs them again. Stop returns ctx's error in that case.
func (r *Runner) Stop(ctx context.Context) error {
	err := r.client.Stop(ctx)
	if err == nil {
		return nil
	}
	if ctx.Err() == nil {
		return fmt.Errorf("jobs: stop: %w", err)
	}
	hard, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.stopGrace)
	defer cancel()
	if herr := r.client.StopAndCancel(hard); herr != nil {
		return fmt.Errorf("jobs: stop: %w", errors.Join(err, herr))
	}
	return fmt.Errorf("jobs: stop: running jobs cancelled: %w", err)
}

// EnqueueOption adjusts one enqueued job.
type EnqueueOption func(*river.InsertOpts)

// UniqueByArgs makes the job unique by kind and arguments: while a job of
// the same kind and arguments is pending, scheduled, available, running or
// retryable, Enqueue inserts nothing and returns that job's id. Once that job
// has finished (completed, discarded or cancelled) the same arguments may be
// enqueued again — unlike River's default, which also counts completed jobs
// until they are cleaned out. Fields of the args struct tagged
// `river:"unique"` narrow the comparison to them.
func UniqueByArgs() EnqueueOption {
	return func(o *river.InsertOpts) {
		o.UniqueOpts.ByArgs = true
		o.UniqueOpts.ByState = uniqueStates
	}
}

// uniqueStates are the states in which a job blocks its duplicates. River
// requires pending, scheduled, available and running among them.
var uniqueStates = []rivertype.JobState{
	rivertype.JobStatePending, rivertype.JobStateScheduled, rivertype.JobStateAvailable,
	rivertype.JobStateRunning, rivertype.JobStateRetryable,
}

// UniqueWithin makes the job unique by kind (and arguments, with
// UniqueByArgs) within time buckets of length d. Without UniqueByArgs it
// uses River's default states, in which completed jobs count too.
func UniqueWithin(d time.Duration) EnqueueOption {
	return func(o *river.InsertOpts) { o.UniqueOpts.ByPeriod = d }
}

// At schedules the job to run no earlier than t.
func At(t time.Time) EnqueueOption {
	return func(o *river.InsertOpts) { o.ScheduledAt = t }
}

// OnQueue puts the job on a queue added with WithQueue.
func OnQueue(name string) EnqueueOption {
	return func(o *river.InsertOpts) { o.Queue = name }
}

// EnqueueMaxAttempts overrides WithMaxAttempts for this job.
func EnqueueMaxAttempts(n int) EnqueueOption {
	return func(o *river.InsertOpts) { o.MaxAttempts = n }
}

// Enqueue durably inserts a job and returns its id. For a unique job that
// duplicates an existing one, nothing is inserted and the existing job's id
// is returned.
func (r *Runner) Enqueue(ctx context.Context, args Args, opts ...EnqueueOption) (int64, error) {
	var io river.InsertOpts
	for _, o := range opts {
		o(&io)
	}
	res, err := r.client.Insert(ctx, args, &io)
	if err != nil {
		return 0, fmt.Errorf("jobs: enqueue %s: %w", args.Kind(), err)
	}
	return res.Job.ID, nil
}

// AttemptError is one failed attempt of a job.
type AttemptError struct {
	Attempt int
	At      time.Time
	Error   string
}

// Status is a job as stored.
type Status struct {
	ID          int64
	Kind        string
	Queue       string
	State       State
	Attempt     int // attempts started so far
	MaxAttempts int
	Errors      []AttemptError // oldest first
	CreatedAt   time.Time
	ScheduledAt time.Time
	AttemptedAt time.Time // zero if never attempted
	FinalizedAt time.Time // zero unless completed, discarded or cancelled
	Args        []byte    // encoded arguments (JSON)
}

// Status returns the stored state of job id, or ErrNotFound.
func (r *Runner) Status(ctx context.Context, id int64) (*Status, error) {
	row, err := r.client.JobGet(ctx, id)
	if err != nil {
		return nil, wrapNotFound("status", id, err)
	}
	return statusOf(row), nil
}

// Cancel cancels job id and returns its status. A job not yet running will
// not run; a running job's context is cancelled (promptly in this process,
// within a poll interval in another) and it is not retried. Cancelling a
// finished job changes nothing.
func (r *Runner) Cancel(ctx context.Context, id int64) (*Status, error) {
	row, err := r.client.JobCancel(ctx, id)
	if err != nil {
		return nil, wrapNotFound("cancel", id, err)
	}
	return statusOf(row), nil
}

func wrapNotFound(op string, id int64, err error) error {
	if errors.Is(err, river.ErrNotFound) {
		return fmt.Errorf("jobs: %s %d: %w", op, id, ErrNotFound)
	}
	return fmt.Errorf("jobs: %s %d: %w", op, id, err)
}

func statusOf(row *rivertype.JobRow) *Status {
	s := &Status{
		ID:          row.ID,
		Kind:        row.Kind,
		Queue:       row.Queue,
		State:       row.State,
		Attempt:     row.Attempt,
		MaxAttempts: row.MaxAttempts,
		CreatedAt:   row.CreatedAt,
		ScheduledAt: row.ScheduledAt,
		Args:        row.EncodedArgs,
	}
	if row.AttemptedAt != nil {
		s.AttemptedAt = *row.AttemptedAt
	}
	if row.FinalizedAt != nil {
		s.FinalizedAt = *row.FinalizedAt
	}
	for _, e := range row.Errors {
		s.Errors = append(s.Errors, AttemptError{Attempt: e.Attempt, At: e.At, Error: e.Error})
	}
	return s
}
