package api

import (
	"context"
	"fmt"
	"github.com/berthlabs/berth/core"
	"strconv"
	"time"

	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/replicate"
)

// Runs of replication policies and their tasks: /replication/executions.

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func executionJSON(e *replicate.Execution) ReplicationExecution {
	return ReplicationExecution{ID: e.ID, PolicyID: e.PolicyID, Status: string(e.Status), StatusText: e.StatusText,
		Trigger: string(e.Trigger), StartTime: e.StartTime, EndTime: optTime(e.EndTime), Total: e.Total, Failed: e.Failed,
		Succeed: e.Succeed, InProgress: e.InProgress, Stopped: e.Stopped, Bytes: e.Bytes}
}

func taskJSON(t *replicate.Task) ReplicationTask {
	return ReplicationTask{ID: t.ID, ExecutionID: t.ExecutionID, ResourceType: t.ResourceType,
		SrcResource: t.SrcResource, DstResource: t.DstResource, Operation: string(t.Operation), Status: string(t.Status),
		StartTime: optTime(t.StartTime), EndTime: optTime(t.EndTime), Bytes: t.Bytes, Attempts: t.Attempts}
}

func (a *API) listExecutions(c *call) error {
	if err := c.configAdmin(rbac.ActionList); err != nil {
		return err
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	var policyID int64
	if v := c.r.URL.Query().Get("policy_id"); v != "" {
		if policyID, err = strconv.ParseInt(v, 10, 64); err != nil || policyID < 0 {
			return badRequest(fmt.Sprintf("policy_id %q: want a number", v))
		}
	}
	status := replicate.Status(c.r.URL.Query().Get("status"))
	es, total, err := listPage(c, pg, "", executionSort(), func(p core.Page) ([]replicate.Execution, int, error) {
		return a.cfg.repl.r.Executions(c.ctx(), policyID, status, p)
	})
	if err != nil {
		return err
	}
	return c.paged(pg, total, convertAll(es, executionJSON))
}

// startedPolicy is the policy a start request names.
func startedPolicy(req StartReplicationExecution) (int64, error) {
	if req.PolicyID <= 0 {
		return 0, badRequest("policy_id is required")
	}
	return req.PolicyID, nil
}

func (a *API) startExecution(c *call) error {
	return replCreate(c, "/replication/executions", startedPolicy, func(ctx context.Context, policyID int64) (int64, error) {
		return a.cfg.repl.r.StartExecution(ctx, policyID, replicate.TriggerManual)
	})
}

func (a *API) getExecution(c *call) error { return replGet(c, a.cfg.repl.r.Execution, executionJSON) }

func (a *API) stopExecution(c *call) error {
	return replDo(c, rbac.ActionStop, a.cfg.repl.r.StopExecution)
}

func (a *API) listTasks(c *call) error {
	id, err := c.adminID(rbac.ActionList)
	if err != nil {
		return err
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	ts, total, err := listPage(c, pg, "", taskSort(), func(p core.Page) ([]replicate.Task, int, error) {
		return a.cfg.repl.r.Tasks(c.ctx(), id, p)
	})
	if err != nil {
		return err
	}
	return c.paged(pg, total, convertAll(ts, taskJSON))
}

func (a *API) taskLog(c *call) error {
	id, err := c.adminID(rbac.ActionRead)
	if err != nil {
		return err
	}
	tid, err := c.pathID("task_id")
	if err != nil {
		return err
	}
	log, err := a.cfg.repl.r.TaskLog(c.ctx(), id, tid)
	if err != nil {
		return err
	}
	return c.raw("text/plain; charset=utf-8", []byte(log))
}
