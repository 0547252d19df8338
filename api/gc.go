package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/gc"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/schedule"
)

// GC is garbage collection as the API needs it; *gc.Service implements it.
type GC interface {
	Run(ctx context.Context, p gc.Params, kind string) (gc.Run, error)
	Stop(ctx context.Context, id int64) error
	Get(ctx context.Context, id int64) (gc.Run, error)
	History(ctx context.Context, page core.Page) ([]gc.Run, int, error)
	Log(ctx context.Context, id int64) (string, error)
	Schedule(ctx context.Context) (schedule.Schedule, gc.Params, error)
	SetSchedule(ctx context.Context, sc schedule.Schedule, p gc.Params) (schedule.Schedule, error)
}

// WithGC serves garbage collection under /system/gc (system admins).
func WithGC(g GC) Option { return func(c *config) { c.gc = g } }

// GCHistory is one garbage collection run, in Harbor's shape.
type GCHistory struct {
	ID            int64        `json:"id"`
	JobName       string       `json:"job_name" doc:"GARBAGE_COLLECTION"`
	JobKind       string       `json:"job_kind" doc:"MANUAL or SCHEDULE"`
	JobParameters string       `json:"job_parameters" doc:"JSON: delete_untagged, dry_run; and, when done, what the run freed"`
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

// GCSchedule is a garbage collection schedule and its runs' parameters,
// Harbor's Schedule.
type GCSchedule struct {
	Schedule   *ScheduleObj   `json:"schedule"`
	Parameters map[string]any `json:"parameters,omitempty" doc:"delete_untagged, dry_run (bool); workers is accepted and ignored"`
}

func (a *API) gcRoutes() []route {
	if a.cfg.gc == nil {
		return nil
	}
	get, post, put := http.MethodGet, http.MethodPost, http.MethodPut
	return []route{
		{method: get, path: "/system/gc", id: "getGCHistory", tag: "gc", summary: "Garbage collection runs, newest first (system admins)",
			query: paging, resp: []GCHistory{}, paged: true, handle: a.gcHistory},
		{method: get, path: "/system/gc/{gc_id}", id: "getGC", tag: "gc", summary: "One garbage collection run", resp: GCHistory{},
			handle: a.gcGet},
		{method: put, path: "/system/gc/{gc_id}", id: "stopGC", tag: "gc", summary: "Stop a garbage collection run in progress",
			handle: a.gcStop},
		{method: get, path: "/system/gc/{gc_id}/log", id: "getGCLog", tag: "gc", summary: "The log of a garbage collection run",
			text: true, handle: a.gcLog},
		{method: get, path: "/system/gc/schedule", id: "getGCSchedule", tag: "gc", summary: "When garbage collection runs",
			resp: GCHistory{}, handle: a.gcGetSchedule},
		{method: post, path: "/system/gc/schedule", id: "createGCSchedule", tag: "gc",
			summary: "Set when garbage collection runs, or run it now with type Manual", body: GCSchedule{},
			status: http.StatusCreated, handle: a.gcSetSchedule},
		{method: put, path: "/system/gc/schedule", id: "updateGCSchedule", tag: "gc", summary: "Set when garbage collection runs",
			body: GCSchedule{}, handle: a.gcSetSchedule},
	}
}

func gcHistoryJSON(r gc.Run) GCHistory {
	params := map[string]any{"delete_untagged": r.Params.DeleteUntagged, "dry_run": r.Params.DryRun}
	if r.Status != gc.StatusPending && r.Status != gc.StatusRunning {
		params["blobs_deleted"], params["bytes_freed"], params["manifests_deleted"] = r.BlobsDeleted, r.BytesFreed, r.ManifestsDeleted
	}
	if r.Error != "" {
		params["error"] = r.Error
	}
	b, _ := json.Marshal(params)
	kind := "Manual"
	if r.Kind == gc.Schedule {
		kind = "Custom"
	}
	return GCHistory{ID: r.ID, JobName: "GARBAGE_COLLECTION", JobKind: r.Kind, JobParameters: string(b),
		Schedule: &ScheduleObj{Type: kind}, JobStatus: r.Status, CreationTime: r.Created, UpdateTime: r.Updated}
}

func (a *API) gcHistory(c *call) error {
	if err := c.configAdmin(rbac.ActionRead); err != nil {
		return err
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	runs, total, err := a.cfg.gc.History(c.ctx(), core.Page{Offset: pg.offset(), Limit: pg.size})
	if err != nil {
		return err
	}
	out := make([]GCHistory, 0, len(runs))
	for _, r := range runs {
		out = append(out, gcHistoryJSON(r))
	}
	return c.paged(pg, total, out)
}

func (a *API) gcRun(c *call) (gc.Run, error) {
	if err := c.configAdmin(rbac.ActionRead); err != nil {
		return gc.Run{}, err
	}
	id, err := c.pathID("gc_id")
	if err != nil {
		return gc.Run{}, err
	}
	return a.cfg.gc.Get(c.ctx(), id)
}

func (a *API) gcGet(c *call) error {
	r, err := a.gcRun(c)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, gcHistoryJSON(r))
}

func (a *API) gcStop(c *call) error {
	if err := c.configAdmin(rbac.ActionUpdate); err != nil {
		return err
	}
	id, err := c.pathID("gc_id")
	if err != nil {
		return err
	}
	if err := a.cfg.gc.Stop(c.ctx(), id); err != nil {
		return err
	}
	return c.ok()
}

func (a *API) gcLog(c *call) error {
	r, err := a.gcRun(c)
	if err != nil {
		return err
	}
	log, err := a.cfg.gc.Log(c.ctx(), r.ID)
	if err != nil {
		return err
	}
	c.w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write([]byte(log))
	return nil
}

func (a *API) gcGetSchedule(c *call) error {
	if err := c.configAdmin(rbac.ActionRead); err != nil {
		return err
	}
	sc, p, err := a.cfg.gc.Schedule(c.ctx())
	if err != nil {
		return err
	}
	obj := &ScheduleObj{Type: sc.Type, Cron: sc.Cron}
	if next := sc.Next(time.Now()); !next.IsZero() {
		obj.NextScheduledTime = &next
	}
	b, _ := json.Marshal(p)
	return c.json(http.StatusOK, GCHistory{JobName: "GARBAGE_COLLECTION", JobKind: gc.Schedule, JobParameters: string(b),
		Schedule: obj})
}

func (a *API) gcSetSchedule(c *call) error {
	if err := c.configAdmin(rbac.ActionUpdate); err != nil {
		return err
	}
	req, err := decodeAs[GCSchedule](c)
	if err != nil {
		return err
	}
	if req.Schedule == nil {
		return badRequest(`schedule is required: {"schedule":{"type":"Daily"},"parameters":{"delete_untagged":true}}`)
	}
	var p gc.Params
	for k, v := range req.Parameters {
		b, ok := v.(bool)
		switch k {
		case "delete_untagged":
			p.DeleteUntagged = ok && b
		case "dry_run":
			p.DryRun = ok && b
		case "workers", "additional_properties":
		default:
			return badRequest(fmt.Sprintf("parameter %q: want delete_untagged or dry_run", k))
		}
	}
	if req.Schedule.Type == "Manual" {
		if c.r.Method != http.MethodPost {
			return badRequest("type Manual runs garbage collection now: use POST")
		}
		r, err := a.cfg.gc.Run(c.ctx(), p, gc.Manual)
		if err != nil {
			return err
		}
		return c.created(fmt.Sprintf("%s/system/gc/%d", BasePath, r.ID), nil)
	}
	if _, err := a.cfg.gc.SetSchedule(c.ctx(), schedule.Schedule{Type: req.Schedule.Type, Cron: req.Schedule.Cron}, p); err != nil {
		return err
	}
	if c.r.Method == http.MethodPost {
		return c.created(BasePath+"/system/gc/schedule", nil)
	}
	return c.ok()
}
