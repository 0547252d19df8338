package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/maintenance"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/schedule"
)

// Maintenance is a system task's runs as the API needs them;
// *maintenance.Service[P, R] implements it (and so *gc.Service and
// *audit.PurgeService).
type Maintenance[P, R any] interface {
	Run(ctx context.Context, p P, kind string) (maintenance.Run[P, R], error)
	Stop(ctx context.Context, id int64) error
	Get(ctx context.Context, id int64) (maintenance.Run[P, R], error)
	History(ctx context.Context, page core.Page) ([]maintenance.Run[P, R], int, error)
	Log(ctx context.Context, id int64) (string, error)
	Schedule(ctx context.Context) (schedule.Schedule, P, error)
	SetSchedule(ctx context.Context, sc schedule.Schedule, p P) (schedule.Schedule, error)
}

// ExecHistory is one run of a system task (garbage collection, the audit
// log purge), or its schedule: Harbor's GCHistory and ExecHistory.
type ExecHistory struct {
	ID            int64        `json:"id"`
	JobName       string       `json:"job_name" doc:"GARBAGE_COLLECTION or PURGE_AUDIT_LOG"`
	JobKind       string       `json:"job_kind" doc:"MANUAL or SCHEDULE"`
	JobParameters string       `json:"job_parameters" doc:"JSON: the run's parameters (see ExecSchedule) and, once it has ended, what it did (garbage collection: blobs_deleted, bytes_freed, manifests_deleted; audit log purge: purged, the entries deleted or that a dry run would delete) and any error"`
	Schedule      *ScheduleObj `json:"schedule,omitempty"`
	JobStatus     string       `json:"job_status" doc:"Pending, Running, Success, Error or Stopped"`
	Deleted       bool         `json:"deleted"`
	CreationTime  time.Time    `json:"creation_time"`
	UpdateTime    time.Time    `json:"update_time"`
}

// ScheduleObj is when periodic work runs, in Harbor's shape.
type ScheduleObj struct {
	Type              string     `json:"type" doc:"None, Hourly, Daily, Weekly, Custom (with cron), or Manual (run now; POST only)"`
	Cron              string     `json:"cron,omitempty" doc:"cron expression in UTC, seconds field optional first: \"0 0 2 * * *\""`
	NextScheduledTime *time.Time `json:"next_scheduled_time,omitempty"`
}

// ExecSchedule is when a system task runs and with what parameters,
// Harbor's Schedule.
type ExecSchedule struct {
	Schedule   *ScheduleObj   `json:"schedule"`
	Parameters map[string]any `json:"parameters,omitempty" doc:"garbage collection: delete_untagged, dry_run (bool; workers is accepted and ignored). Audit log purge: audit_retention_hour (integer, 1 or more: older entries are purged; required), include_operations (comma-separated: create, delete, pull, update — each standing for the actions of that kind — or actions as recorded; empty: every operation; include_event_types is read alike), dry_run (bool)"`
}

// execTask serves one system task's runs under Harbor's routes: the
// history, a run, stopping it (PUT), its log, and the schedule (GET, and
// POST or PUT to set it; POST with type Manual runs the task now). System
// admins only.
type execTask[P, R any] struct {
	svc     Maintenance[P, R]
	jobName string // job_name: GARBAGE_COLLECTION
	path    string // /system/gc
	idParam string // the run's path wildcard: gc_id
	tag     string
	ops     execOps
	title   string                          // the task, in summaries and messages: garbage collection
	example string                          // a request body, for the answer to one without a schedule
	params  func(map[string]any) (P, error) // a request's parameters; errors are the API's (badRequest)
	show    func(P) map[string]any          // parameters as job_parameters shows them; nil: their JSON
}

// execOps are the OpenAPI operation ids of an execTask's routes.
type execOps struct{ list, get, stop, log, getSchedule, createSchedule, updateSchedule string }

func (t *execTask[P, R]) routes() []route {
	get, post, put := http.MethodGet, http.MethodPost, http.MethodPut
	run := t.path + "/{" + t.idParam + "}"
	a := "a "
	if strings.ContainsRune("aeiou", rune(t.title[0])) {
		a = "an "
	}
	return []route{
		{method: get, path: t.path, id: t.ops.list, tag: t.tag, summary: upperFirst(t.title) + " runs, newest first (system admins)",
			query: append([]param{sorting}, paging...), resp: []ExecHistory{}, paged: true, handle: t.history},
		{method: get, path: run, id: t.ops.get, tag: t.tag, summary: "One " + t.title + " run", resp: ExecHistory{}, handle: t.get},
		{method: put, path: run, id: t.ops.stop, tag: t.tag, summary: "Stop " + a + t.title + " run in progress (a run that has ended is left as it is: 200)", handle: t.stop},
		{method: get, path: run + "/log", id: t.ops.log, tag: t.tag, summary: "The log of " + a + t.title + " run",
			text: true, handle: t.log},
		{method: get, path: t.path + "/schedule", id: t.ops.getSchedule, tag: t.tag,
			summary: "When " + t.title + " runs, and with what parameters", resp: ExecHistory{}, handle: t.getSchedule},
		{method: post, path: t.path + "/schedule", id: t.ops.createSchedule, tag: t.tag,
			summary: "Set when " + t.title + " runs, or run it now with type Manual", body: ExecSchedule{},
			status: http.StatusCreated, handle: t.setSchedule},
		{method: put, path: t.path + "/schedule", id: t.ops.updateSchedule, tag: t.tag, summary: "Set when " + t.title + " runs",
			body: ExecSchedule{}, handle: t.setSchedule},
	}
}

func upperFirst(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// jsonFields is v's JSON object as a map, its numbers kept as written.
func jsonFields(v any) map[string]any {
	out := map[string]any{}
	b, err := json.Marshal(v)
	if err != nil {
		return out
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	_ = d.Decode(&out)
	return out
}

func (t *execTask[P, R]) shown(p P) map[string]any {
	if t.show != nil {
		return t.show(p)
	}
	return jsonFields(p)
}

func (t *execTask[P, R]) historyJSON(r maintenance.Run[P, R]) ExecHistory {
	params := t.shown(r.Params)
	if r.Done() {
		for k, v := range jsonFields(r.Result) {
			params[k] = v
		}
	}
	if r.Error != "" {
		params["error"] = r.Error
	}
	b, _ := json.Marshal(params)
	kind := "Manual"
	if r.Kind == maintenance.Scheduled {
		kind = "Custom"
	}
	return ExecHistory{ID: r.ID, JobName: t.jobName, JobKind: r.Kind, JobParameters: string(b),
		Schedule: &ScheduleObj{Type: kind}, JobStatus: r.Status, CreationTime: r.Created, UpdateTime: r.Updated}
}

func (t *execTask[P, R]) history(c *call) error {
	if err := c.configAdmin(rbac.ActionRead); err != nil {
		return err
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	runs, total, err := listPage(c, pg, "", map[string]sortField[maintenance.Run[P, R]]{
		"id":            func(r *maintenance.Run[P, R]) string { return sInt(r.ID) },
		"job_status":    func(r *maintenance.Run[P, R]) string { return r.Status },
		"creation_time": func(r *maintenance.Run[P, R]) string { return sTime(r.Created) },
		"update_time":   func(r *maintenance.Run[P, R]) string { return sTime(r.Updated) },
	}, func(p core.Page) ([]maintenance.Run[P, R], int, error) { return t.svc.History(c.ctx(), p) })
	if err != nil {
		return err
	}
	return c.paged(pg, total, convertAll(runs, func(r *maintenance.Run[P, R]) ExecHistory { return t.historyJSON(*r) }))
}

func (t *execTask[P, R]) run(c *call) (maintenance.Run[P, R], error) {
	if err := c.configAdmin(rbac.ActionRead); err != nil {
		return maintenance.Run[P, R]{}, err
	}
	id, err := c.pathID(t.idParam)
	if err != nil {
		return maintenance.Run[P, R]{}, err
	}
	return t.svc.Get(c.ctx(), id)
}

func (t *execTask[P, R]) get(c *call) error {
	r, err := t.run(c)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, t.historyJSON(r))
}

func (t *execTask[P, R]) stop(c *call) error {
	if err := c.configAdmin(rbac.ActionUpdate); err != nil {
		return err
	}
	id, err := c.pathID(t.idParam)
	if err != nil {
		return err
	}
	if err := t.svc.Stop(c.ctx(), id); err != nil && !t.ended(c, id, err) {
		return err
	}
	return c.ok()
}

// ended says whether a stop failed only because the run has already ended
// (core.ErrPrecondition, and the run is in a final status): stopping is
// then done, as Harbor's execution manager treats stopping an execution
// in a final status, so the stop answers 200 rather than a status
// Harbor's swagger does not declare. An unknown run stays 404.
func (t *execTask[P, R]) ended(c *call, id int64, err error) bool {
	if !errors.Is(err, core.ErrPrecondition) {
		return false
	}
	r, gerr := t.svc.Get(c.ctx(), id)
	return gerr == nil && r.Done()
}

func (t *execTask[P, R]) log(c *call) error {
	r, err := t.run(c)
	if err != nil {
		return err
	}
	log, err := t.svc.Log(c.ctx(), r.ID)
	if err != nil {
		return err
	}
	return c.raw("text/plain; charset=utf-8", []byte(log))
}

func (t *execTask[P, R]) getSchedule(c *call) error {
	if err := c.configAdmin(rbac.ActionRead); err != nil {
		return err
	}
	sc, p, err := t.svc.Schedule(c.ctx())
	if err != nil {
		return err
	}
	obj := &ScheduleObj{Type: sc.Type, Cron: sc.Cron}
	if next := sc.Next(time.Now()); !next.IsZero() {
		obj.NextScheduledTime = &next
	}
	b, _ := json.Marshal(t.shown(p))
	return c.json(http.StatusOK, ExecHistory{JobName: t.jobName, JobKind: maintenance.Scheduled, JobParameters: string(b),
		Schedule: obj})
}

func (t *execTask[P, R]) setSchedule(c *call) error {
	if err := c.configAdmin(rbac.ActionUpdate); err != nil {
		return err
	}
	req, err := decodeAs[ExecSchedule](c)
	if err != nil {
		return err
	}
	if req.Schedule == nil {
		return badRequest("schedule is required: " + t.example)
	}
	p, err := t.params(req.Parameters)
	if err != nil {
		return err
	}
	if req.Schedule.Type == "Manual" {
		if c.r.Method != http.MethodPost {
			return badRequest("type Manual runs " + t.title + " now: use POST")
		}
		r, err := t.svc.Run(c.ctx(), p, maintenance.Manual)
		if err != nil {
			return err
		}
		return c.created(fmt.Sprintf("%s%s/%d", BasePath, t.path, r.ID), nil)
	}
	if _, err := t.svc.SetSchedule(c.ctx(), schedule.Schedule{Type: req.Schedule.Type, Cron: req.Schedule.Cron}, p); err != nil {
		return err
	}
	if c.r.Method == http.MethodPost {
		return c.created(BasePath+t.path+"/schedule", nil)
	}
	return c.ok()
}
