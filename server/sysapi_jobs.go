package server

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/jobs"
)

// jobService is Harbor's job service view (api.JobPools, api.JobQueues)
// over the job queue: a pool is a node's job runner, a worker one of its
// running jobs, a job type a job kind.
type jobService struct {
	runner      *jobs.Runner
	started     time.Time
	host        string
	concurrency int64
}

func newJobService(r *jobs.Runner) *jobService {
	host, _ := os.Hostname()
	return &jobService{runner: r, started: time.Now().UTC(), host: host, concurrency: 10}
}

// pending are the states of jobs that wait to run.
var pending = []jobs.State{jobs.StateAvailable, jobs.StateScheduled, jobs.StateRetryable, jobs.StatePending}

// Pools lists this node's runner, and the other runners seen working a
// job now (their host and start are not known here).
func (j *jobService) Pools(ctx context.Context) ([]api.WorkerPool, error) {
	self := j.runner.ID()
	now := time.Now().UTC()
	out := []api.WorkerPool{{WorkerPoolID: self, Pid: int64(os.Getpid()), StartAt: j.started, HeartbeatAt: now,
		Concurrency: j.concurrency, Host: j.host}}
	running, err := j.runner.List(ctx, jobs.ListFilter{States: []jobs.State{jobs.StateRunning}, Limit: jobs.MaxListLimit})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{self: true}
	for _, r := range running {
		if r.Worker != "" && !seen[r.Worker] {
			seen[r.Worker] = true
			out = append(out, api.WorkerPool{WorkerPoolID: r.Worker, HeartbeatAt: r.AttemptedAt.UTC()})
		}
	}
	return out, nil
}

// Workers lists the running jobs of a pool ("all": of every pool).
func (j *jobService) Workers(ctx context.Context, pool string) ([]api.Worker, error) {
	running, err := j.runner.List(ctx, jobs.ListFilter{States: []jobs.State{jobs.StateRunning}, Limit: jobs.MaxListLimit})
	if err != nil {
		return nil, err
	}
	out := []api.Worker{}
	for _, r := range running {
		if pool != "all" && r.Worker != pool {
			continue
		}
		id := strconv.FormatInt(r.ID, 10)
		start := r.AttemptedAt.UTC()
		out = append(out, api.Worker{ID: id, PoolID: r.Worker, JobName: r.Kind, JobID: id, StartAt: &start, CheckinAt: &start})
	}
	if len(out) == 0 && pool != "all" && pool != j.runner.ID() {
		return nil, core.New(core.ErrNotFound, "worker pool "+pool+" not found: no runner of that id is working a job")
	}
	return out, nil
}

// Queues counts the pending jobs of each kind; latency is how long the
// oldest job ready to run has waited.
func (j *jobService) Queues(ctx context.Context) ([]api.JobQueue, error) {
	waiting, err := j.runner.List(ctx, jobs.ListFilter{States: pending, Limit: jobs.MaxListLimit})
	if err != nil {
		return nil, err
	}
	now := time.Now()
	byKind := map[string]*api.JobQueue{}
	var kinds []string
	for _, w := range waiting {
		q := byKind[w.Kind]
		if q == nil {
			q = &api.JobQueue{JobType: w.Kind}
			byKind[w.Kind] = q
			kinds = append(kinds, w.Kind)
		}
		q.Count++
		if w.State == jobs.StateAvailable && now.After(w.ScheduledAt) {
			q.Latency = max(q.Latency, int64(now.Sub(w.ScheduledAt)/time.Second))
		}
	}
	out := make([]api.JobQueue, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, *byKind[k])
	}
	return out, nil
}

// StopPending cancels the pending jobs of a kind ("all": of every kind).
func (j *jobService) StopPending(ctx context.Context, jobType string) error {
	f := jobs.ListFilter{States: pending, Limit: jobs.MaxListLimit}
	if jobType != "all" {
		f.Kinds = []string{jobType}
	}
	waiting, err := j.runner.List(ctx, f)
	if err != nil {
		return err
	}
	for _, w := range waiting {
		if _, err := j.runner.Cancel(ctx, w.ID); err != nil {
			return err
		}
	}
	return nil
}

// StopJob cancels one job.
func (j *jobService) StopJob(ctx context.Context, id int64) error {
	_, err := j.runner.Cancel(ctx, id)
	return err
}

// JobLog tells a job's state and each failed attempt: what the queue
// records (maintenance tasks keep fuller logs in their own history).
func (j *jobService) JobLog(ctx context.Context, id int64) (string, error) {
	st, err := j.runner.Status(ctx, id)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	stamp := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	fmt.Fprintf(&b, "%s job %d (%s): %s, attempt %d of %d\n", stamp(st.CreatedAt), st.ID, st.Kind, st.State,
		st.Attempt, st.MaxAttempts)
	for _, e := range st.Errors {
		fmt.Fprintf(&b, "%s attempt %d failed: %s\n", stamp(e.At), e.Attempt, e.Error)
	}
	if !st.AttemptedAt.IsZero() {
		fmt.Fprintf(&b, "%s last attempt started\n", stamp(st.AttemptedAt))
	}
	if !st.FinalizedAt.IsZero() {
		fmt.Fprintf(&b, "%s finished: %s\n", stamp(st.FinalizedAt), st.State)
	}
	return b.String(), nil
}
