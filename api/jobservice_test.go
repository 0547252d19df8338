package api_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/core"
)

// fakeJobs is a job service with one pool, one running job (7) and a log.
type fakeJobs struct {
	mu      sync.Mutex
	stopped []string
}

func (f *fakeJobs) Pools(context.Context) ([]api.WorkerPool, error) {
	return []api.WorkerPool{{WorkerPoolID: "node-1", Pid: 42, Concurrency: 10, Host: "berth-0",
		StartAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), HeartbeatAt: time.Date(2026, 1, 2, 3, 5, 0, 0, time.UTC)}}, nil
}

func (f *fakeJobs) Workers(_ context.Context, pool string) ([]api.Worker, error) {
	if pool != "all" && pool != "node-1" {
		return nil, core.New(core.ErrNotFound, "worker pool "+pool+" not found")
	}
	return []api.Worker{{ID: "7", PoolID: "node-1", JobName: "gc", JobID: "7"}}, nil
}

func (f *fakeJobs) Queues(context.Context) ([]api.JobQueue, error) {
	return []api.JobQueue{{JobType: "scan", Count: 3, Latency: 12}}, nil
}

func (f *fakeJobs) StopPending(_ context.Context, jobType string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = append(f.stopped, "type:"+jobType)
	return nil
}

func (f *fakeJobs) StopJob(_ context.Context, id int64) error {
	if id != 7 {
		return fmt.Errorf("job %d: %w", id, core.ErrNotFound)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = append(f.stopped, "job:7")
	return nil
}

func (f *fakeJobs) JobLog(_ context.Context, id int64) (string, error) {
	if id != 7 {
		return "", fmt.Errorf("job %d: %w", id, core.ErrNotFound)
	}
	return "attempt 1: running\n", nil
}

func TestJobService(t *testing.T) {
	jobs := &fakeJobs{}
	e := newEnv(t, api.WithJobService(jobs, jobs))
	e.user("alice")

	var pools []map[string]any
	e.do(admin(), http.MethodGet, "/jobservice/pools", nil).ok(t, http.StatusOK, &pools)
	assert.Equal(t, []map[string]any{{"worker_pool_id": "node-1", "pid": float64(42), "concurrency": float64(10),
		"host": "berth-0", "start_at": "2026-01-02T03:04:05Z", "heartbeat_at": "2026-01-02T03:05:00Z"}}, pools)
	var workers []api.Worker
	e.do(admin(), http.MethodGet, "/jobservice/pools/all/workers", nil).ok(t, http.StatusOK, &workers)
	assert.Equal(t, []api.Worker{{ID: "7", PoolID: "node-1", JobName: "gc", JobID: "7"}}, workers)
	e.do(admin(), http.MethodGet, "/jobservice/pools/nope/workers", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
	var queues []api.JobQueue
	e.do(admin(), http.MethodGet, "/jobservice/queues", nil).ok(t, http.StatusOK, &queues)
	assert.Equal(t, []api.JobQueue{{JobType: "scan", Count: 3, Latency: 12}}, queues)

	e.do(admin(), http.MethodPut, "/jobservice/queues/scan", map[string]string{"action": "stop"}).ok(t, http.StatusOK, nil)
	e.do(admin(), http.MethodPut, "/jobservice/queues/all", map[string]string{"action": "pause"}).
		fails(t, http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY")
	e.do(admin(), http.MethodPut, "/jobservice/queues/all", map[string]string{"action": "explode"}).
		fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(admin(), http.MethodPut, "/jobservice/queues/all", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")

	e.do(admin(), http.MethodPut, "/jobservice/jobs/7", nil).ok(t, http.StatusOK, nil)
	e.do(admin(), http.MethodPut, "/jobservice/jobs/7", map[string]string{"action": "pause"}).
		fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(admin(), http.MethodPut, "/jobservice/jobs/abc", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(admin(), http.MethodPut, "/jobservice/jobs/8", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
	assert.Equal(t, []string{"type:scan", "job:7"}, jobs.stopped)

	r := e.do(admin(), http.MethodGet, "/jobservice/jobs/7/log", nil)
	assert.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, "attempt 1: running\n", string(r.Body))
	assert.Equal(t, "text/plain; charset=utf-8", r.Header.Get("Content-Type"))
	e.do(admin(), http.MethodGet, "/jobservice/jobs/8/log", nil).fails(t, http.StatusNotFound, "NOT_FOUND")

	for _, p := range []string{"/jobservice/pools", "/jobservice/pools/all/workers", "/jobservice/queues", "/jobservice/jobs/7/log"} {
		e.do(as("alice"), http.MethodGet, p, nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	}
	e.do(as("alice"), http.MethodPut, "/jobservice/jobs/7", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(anonymous, http.MethodPut, "/jobservice/queues/all", map[string]string{"action": "stop"}).
		fails(t, http.StatusUnauthorized, "UNAUTHORIZED")
	assert.Len(t, jobs.stopped, 2, "denied calls stopped nothing")
}
