package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// Args are a job's arguments, stored as JSON; Kind names the job's type
// and so the worker that runs it.
type Args interface {
	Kind() string
}

// Job is one attempt at a job.
type Job[T Args] struct {
	ID          int64
	Attempt     int // 1 for the first
	MaxAttempts int
	Args        T
}

// Worker runs the jobs of one kind. An error fails the attempt, which is
// retried with backoff up to the job's attempts, unless it is Cancel(err).
// A worker may bound its attempts itself with a method
// Timeout(*Job[T]) time.Duration (0 for the Runner's WithJobTimeout, -1
// for none).
type Worker[T Args] interface {
	Work(ctx context.Context, job *Job[T]) error
}

type timeouter[T Args] interface {
	Timeout(job *Job[T]) time.Duration
}

// Workers is the set of workers a Runner runs. Register workers before
// the Runner starts (it sees later registrations until then).
type Workers struct{ ws *river.Workers }

// NewWorkers returns an empty set.
func NewWorkers() *Workers { return &Workers{ws: river.NewWorkers()} }

// Register adds w as the worker of jobs of kind T.Kind(); a kind
// registered twice is an error.
func Register[T Args](ws *Workers, w Worker[T]) error {
	return river.AddWorkerSafely[T](ws.ws, &adapter[T]{w: w})
}

// RegisterArgs adds w as the worker of jobs of kind args.Kind(), for an
// Args type whose kind depends on its value: one type serving several
// kinds (maintenance's runs carry their task's name). Every job enqueued
// for w must have that kind; a kind registered twice is an error.
func RegisterArgs[T Args](ws *Workers, args T, w Worker[T]) (err error) {
	defer func() { // River reports a kind registered twice by panicking here
		if r := recover(); r != nil {
			err = fmt.Errorf("jobs: registering kind %q: %v", args.Kind(), r)
		}
	}()
	river.AddWorkerArgs[T](ws.ws, args, &adapter[T]{w: w})
	return nil
}

// Cancel marks err as final: the job fails now and is not retried.
func Cancel(err error) error { return river.JobCancel(err) }

// adapter runs a Worker as River's.
type adapter[T Args] struct {
	river.WorkerDefaults[T]
	w Worker[T]
}

func jobOf[T Args](j *river.Job[T]) *Job[T] {
	return &Job[T]{ID: j.ID, Attempt: j.Attempt, MaxAttempts: j.MaxAttempts, Args: j.Args}
}

func (a *adapter[T]) Work(ctx context.Context, j *river.Job[T]) error { return a.w.Work(ctx, jobOf(j)) }

func (a *adapter[T]) Timeout(j *river.Job[T]) time.Duration {
	if t, ok := a.w.(timeouter[T]); ok {
		return t.Timeout(jobOf(j))
	}
	return 0
}
