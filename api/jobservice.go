package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/berthlabs/berth/rbac"
)

// JobPools tells who works the job queue; the server implements it over
// its job runner.
type JobPools interface {
	// Pools lists the worker pools.
	Pools(ctx context.Context) ([]WorkerPool, error)
	// Workers lists the busy workers of a pool ("all": of every pool); an
	// unknown pool is an error wrapping core.ErrNotFound.
	Workers(ctx context.Context, pool string) ([]Worker, error)
}

// JobQueues tells and changes what waits in the job queue.
type JobQueues interface {
	// Queues counts the pending jobs of each type.
	Queues(ctx context.Context) ([]JobQueue, error)
	// StopPending cancels every pending job of a type ("all": of every
	// type).
	StopPending(ctx context.Context, jobType string) error
	// StopJob cancels one job (core.ErrNotFound for an unknown id).
	StopJob(ctx context.Context, id int64) error
	// JobLog is a job's log as text (core.ErrNotFound for an unknown id).
	JobLog(ctx context.Context, id int64) (string, error)
}

// WithJobService serves Harbor's job service view (/jobservice, system
// admins) over the server's job queue.
func WithJobService(p JobPools, q JobQueues) Option {
	return func(c *config) { c.jobPools, c.jobQueues = p, q }
}

func (a *API) jobServiceRoutes() []route {
	if a.cfg.jobPools == nil || a.cfg.jobQueues == nil {
		return nil
	}
	get, put := http.MethodGet, http.MethodPut
	return []route{
		{method: get, path: "/jobservice/pools", id: "getWorkerPools", tag: "jobservice",
			summary: "The worker pools: each server node's job runner (system admins)", resp: []WorkerPool{}, handle: a.getWorkerPools},
		{method: get, path: "/jobservice/pools/{pool_id}/workers", id: "getWorkers", tag: "jobservice",
			summary: "The running jobs of a pool, or of every pool with pool_id 'all' (system admins)",
			resp:    []Worker{}, handle: a.getWorkers},
		{method: get, path: "/jobservice/queues", id: "listJobQueues", tag: "jobservice",
			summary: "Pending jobs by type (system admins)", resp: []JobQueue{}, handle: a.listJobQueues},
		{method: put, path: "/jobservice/queues/{job_type}", id: "actionPendingJobs", tag: "jobservice",
			summary: "Stop (cancel) the pending jobs of a type, or of every type with job_type 'all' (system admins)",
			body:    ActionRequest{}, handle: a.actionPendingJobs},
		{method: put, path: "/jobservice/jobs/{job_id}", id: "stopRunningJob", tag: "jobservice",
			summary: "Stop a job (system admins); an optional body must be {\"action\":\"stop\"}",
			body:    ActionRequest{}, handle: a.stopRunningJob},
		{method: get, path: "/jobservice/jobs/{job_id}/log", id: "actionGetJobLog", tag: "jobservice",
			summary: "A job's log: its attempts and their errors (system admins)", text: true, handle: a.getJobLog},
	}
}

func (a *API) getWorkerPools(c *call) error {
	if err := c.configAdmin(rbac.ActionRead); err != nil {
		return err
	}
	ps, err := a.cfg.jobPools.Pools(c.ctx())
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, append([]WorkerPool{}, ps...))
}

func (a *API) getWorkers(c *call) error {
	if err := c.configAdmin(rbac.ActionRead); err != nil {
		return err
	}
	ws, err := a.cfg.jobPools.Workers(c.ctx(), c.r.PathValue("pool_id"))
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, append([]Worker{}, ws...))
}

func (a *API) listJobQueues(c *call) error {
	if err := c.configAdmin(rbac.ActionRead); err != nil {
		return err
	}
	qs, err := a.cfg.jobQueues.Queues(c.ctx())
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, append([]JobQueue{}, qs...))
}

func (a *API) actionPendingJobs(c *call) error {
	if err := c.configAdmin(rbac.ActionUpdate); err != nil {
		return err
	}
	req, err := decodeAs[ActionRequest](c)
	if err != nil {
		return err
	}
	switch req.Action {
	case "stop":
	case "pause", "resume":
		return &apiError{Status: http.StatusUnprocessableEntity, Code: "UNPROCESSABLE_ENTITY",
			Message: "berth does not pause job types: stop cancels a type's pending jobs"}
	default:
		return badRequest(`action ` + strconv.Quote(req.Action) + `: want stop, pause or resume`)
	}
	if err := a.cfg.jobQueues.StopPending(c.ctx(), c.r.PathValue("job_type")); err != nil {
		return err
	}
	return c.ok()
}

// jobID reads {job_id}.
func jobID(c *call) (int64, error) {
	s := c.r.PathValue("job_id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, badRequest("job id " + strconv.Quote(s) + ": want a positive number")
	}
	return id, nil
}

func (a *API) stopRunningJob(c *call) error {
	if err := c.configAdmin(rbac.ActionUpdate); err != nil {
		return err
	}
	id, err := jobID(c)
	if err != nil {
		return err
	}
	var req ActionRequest
	if err := decodeBody(c.w, c.r, &req); err != nil && !isEmptyBody(err) {
		return err
	}
	if req.Action != "" && req.Action != "stop" {
		return badRequest(`action ` + strconv.Quote(req.Action) + `: want stop`)
	}
	if err := a.cfg.jobQueues.StopJob(c.ctx(), id); err != nil {
		return err
	}
	return c.ok()
}

func (a *API) getJobLog(c *call) error {
	if err := c.configAdmin(rbac.ActionRead); err != nil {
		return err
	}
	id, err := jobID(c)
	if err != nil {
		return err
	}
	log, err := a.cfg.jobQueues.JobLog(c.ctx(), id)
	if err != nil {
		return err
	}
	return c.raw("text/plain; charset=utf-8", []byte(log))
}
