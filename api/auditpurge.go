package api

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/berthlabs/berth/audit"
	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/schedule"
)

// AuditPurge is the audit log's purge as the API needs it;
// *audit.PurgeService implements it.
type AuditPurge interface {
	Run(ctx context.Context, p audit.PurgeParams, kind string) (audit.PurgeRun, error)
	Stop(ctx context.Context, id int64) error
	Get(ctx context.Context, id int64) (audit.PurgeRun, error)
	History(ctx context.Context, page core.Page) ([]audit.PurgeRun, int, error)
	Log(ctx context.Context, id int64) (string, error)
	Schedule(ctx context.Context) (schedule.Schedule, audit.PurgeParams, error)
	SetSchedule(ctx context.Context, sc schedule.Schedule, p audit.PurgeParams) (schedule.Schedule, error)
}

// WithAuditPurge serves the audit log's purge under /system/purgeaudit
// (system admins).
func WithAuditPurge(p AuditPurge) Option { return func(c *config) { c.auditPurge = p } }

// ExecHistory is one audit log purge run, Harbor's shape.
type ExecHistory struct {
	ID            int64        `json:"id"`
	JobName       string       `json:"job_name" doc:"PURGE_AUDIT_LOG"`
	JobKind       string       `json:"job_kind" doc:"MANUAL or SCHEDULE"`
	JobParameters string       `json:"job_parameters" doc:"JSON: audit_retention_hour, include_operations, dry_run; and, when done, purged (entries deleted, or that a dry run would delete)"`
	Schedule      *ScheduleObj `json:"schedule,omitempty"`
	JobStatus     string       `json:"job_status" doc:"Pending, Running, Success, Error or Stopped"`
	Deleted       bool         `json:"deleted"`
	CreationTime  time.Time    `json:"creation_time"`
	UpdateTime    time.Time    `json:"update_time"`
}

// PurgeSchedule is when the audit log is purged and of what, Harbor's
// Schedule.
type PurgeSchedule struct {
	Schedule   *ScheduleObj   `json:"schedule"`
	Parameters map[string]any `json:"parameters,omitempty" doc:"audit_retention_hour (integer, 1 or more: older entries are purged; required), include_operations (comma-separated: create, delete, pull, update — each standing for the actions of that kind — or actions as recorded; empty: every operation; include_event_types is read alike), dry_run (bool)"`
}

const pPurge = "/system/purgeaudit"

func (a *API) auditPurgeRoutes() []route {
	if a.cfg.auditPurge == nil {
		return nil
	}
	get, post, put := http.MethodGet, http.MethodPost, http.MethodPut
	return []route{
		{method: get, path: pPurge, id: "getPurgeHistory", tag: "purge", summary: "Audit log purge runs, newest first (system admins)",
			query: paging, resp: []ExecHistory{}, paged: true, handle: a.purgeHistory},
		{method: get, path: pPurge + "/{purge_id}", id: "getPurgeJob", tag: "purge", summary: "One audit log purge run",
			resp: ExecHistory{}, handle: a.purgeGet},
		{method: put, path: pPurge + "/{purge_id}", id: "stopPurge", tag: "purge", summary: "Stop an audit log purge run in progress",
			handle: a.purgeStop},
		{method: get, path: pPurge + "/{purge_id}/log", id: "getPurgeJobLog", tag: "purge", summary: "The log of an audit log purge run",
			text: true, handle: a.purgeLog},
		{method: get, path: pPurge + "/schedule", id: "getPurgeSchedule", tag: "purge", summary: "When the audit log is purged, and of what",
			resp: ExecHistory{}, handle: a.purgeGetSchedule},
		{method: post, path: pPurge + "/schedule", id: "createPurgeSchedule", tag: "purge",
			summary: "Set when the audit log is purged, or purge it now with type Manual", body: PurgeSchedule{},
			status: http.StatusCreated, handle: a.purgeSetSchedule},
		{method: put, path: pPurge + "/schedule", id: "updatePurgeSchedule", tag: "purge", summary: "Set when the audit log is purged",
			body: PurgeSchedule{}, handle: a.purgeSetSchedule},
	}
}

// purgeParamsJSON is a run's parameters as job_parameters shows them.
func purgeParamsJSON(p audit.PurgeParams) map[string]any {
	return map[string]any{"audit_retention_hour": p.RetentionHours,
		"include_operations": strings.Join(p.Operations, ","), "dry_run": p.DryRun}
}

func purgeHistoryJSON(r audit.PurgeRun) ExecHistory {
	params := purgeParamsJSON(r.Params)
	if r.Status != audit.RunPending && r.Status != audit.RunRunning {
		params["purged"] = r.Purged
	}
	if r.Error != "" {
		params["error"] = r.Error
	}
	b, _ := json.Marshal(params)
	kind := "Manual"
	if r.Kind == audit.RunSchedule {
		kind = "Custom"
	}
	return ExecHistory{ID: r.ID, JobName: "PURGE_AUDIT_LOG", JobKind: r.Kind, JobParameters: string(b),
		Schedule: &ScheduleObj{Type: kind}, JobStatus: r.Status, CreationTime: r.Created, UpdateTime: r.Updated}
}

func (a *API) purgeHistory(c *call) error {
	if err := c.configAdmin(rbac.ActionRead); err != nil {
		return err
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	runs, total, err := a.cfg.auditPurge.History(c.ctx(), core.Page{Offset: pg.offset(), Limit: pg.size})
	if err != nil {
		return err
	}
	return c.paged(pg, total, convertAll(runs, func(r *audit.PurgeRun) ExecHistory { return purgeHistoryJSON(*r) }))
}

func (a *API) purgeRun(c *call) (audit.PurgeRun, error) {
	if err := c.configAdmin(rbac.ActionRead); err != nil {
		return audit.PurgeRun{}, err
	}
	id, err := c.pathID("purge_id")
	if err != nil {
		return audit.PurgeRun{}, err
	}
	return a.cfg.auditPurge.Get(c.ctx(), id)
}

func (a *API) purgeGet(c *call) error {
	r, err := a.purgeRun(c)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, purgeHistoryJSON(r))
}

func (a *API) purgeStop(c *call) error {
	if err := c.configAdmin(rbac.ActionUpdate); err != nil {
		return err
	}
	id, err := c.pathID("purge_id")
	if err != nil {
		return err
	}
	return a.okOr(c, a.cfg.auditPurge.Stop(c.ctx(), id))
}

func (a *API) purgeLog(c *call) error {
	r, err := a.purgeRun(c)
	if err != nil {
		return err
	}
	log, err := a.cfg.auditPurge.Log(c.ctx(), r.ID)
	if err != nil {
		return err
	}
	return c.raw("text/plain; charset=utf-8", []byte(log))
}

func (a *API) purgeGetSchedule(c *call) error {
	if err := c.configAdmin(rbac.ActionRead); err != nil {
		return err
	}
	sc, p, err := a.cfg.auditPurge.Schedule(c.ctx())
	if err != nil {
		return err
	}
	obj := &ScheduleObj{Type: sc.Type, Cron: sc.Cron}
	if next := sc.Next(time.Now()); !next.IsZero() {
		obj.NextScheduledTime = &next
	}
	b, _ := json.Marshal(purgeParamsJSON(p))
	return c.json(http.StatusOK, ExecHistory{JobName: "PURGE_AUDIT_LOG", JobKind: audit.RunSchedule,
		JobParameters: string(b), Schedule: obj})
}

// purgeParams reads a schedule's parameters.
func purgeParams(in map[string]any) (audit.PurgeParams, error) {
	var p audit.PurgeParams
	for k, v := range in {
		switch k {
		case "audit_retention_hour":
			h, ok := wholeNumber(v)
			if !ok || h < 1 || h > audit.MaxRetentionHours {
				return p, badRequest(fmt.Sprintf("audit_retention_hour %v: want a whole number of hours from 1 to %d",
					v, audit.MaxRetentionHours))
			}
			p.RetentionHours = int(h)
		case "include_operations", "include_event_types":
			switch ops := v.(type) {
			case nil:
			case string:
				p.Operations = append(p.Operations, strings.Split(ops, ",")...)
			case []any:
				for _, op := range ops {
					s, ok := op.(string)
					if !ok {
						return p, badRequest(k + ": want a comma-separated string of operations")
					}
					p.Operations = append(p.Operations, s)
				}
			default:
				return p, badRequest(k + ": want a comma-separated string of operations")
			}
		case "dry_run":
			switch b := v.(type) {
			case nil:
			case bool:
				p.DryRun = b
			case string:
				if b != "true" && b != "false" {
					return p, badRequest("dry_run: want true or false")
				}
				p.DryRun = b == "true"
			default:
				return p, badRequest("dry_run: want true or false")
			}
		case "additional_properties":
		default:
			return p, badRequest(fmt.Sprintf("parameter %q: want audit_retention_hour, include_operations or dry_run", k))
		}
	}
	return p, nil
}

// wholeNumber reads a JSON number (or a string of digits) that is a whole
// number.
func wholeNumber(v any) (int64, bool) {
	switch n := v.(type) {
	case float64:
		if n != math.Trunc(n) || n < math.MinInt32 || n > math.MaxInt32 {
			return 0, false
		}
		return int64(n), true
	case string:
		i, err := strconv.ParseInt(strings.TrimSpace(n), 10, 32)
		return i, err == nil
	}
	return 0, false
}

func (a *API) purgeSetSchedule(c *call) error {
	if err := c.configAdmin(rbac.ActionUpdate); err != nil {
		return err
	}
	req, err := decodeAs[PurgeSchedule](c)
	if err != nil {
		return err
	}
	if req.Schedule == nil {
		return badRequest(`schedule is required: {"schedule":{"type":"Daily"},"parameters":{"audit_retention_hour":168,"include_operations":"create,delete,pull"}}`)
	}
	p, err := purgeParams(req.Parameters)
	if err != nil {
		return err
	}
	if req.Schedule.Type == "Manual" {
		if c.r.Method != http.MethodPost {
			return badRequest("type Manual purges the audit log now: use POST")
		}
		if p.RetentionHours == 0 {
			return badRequest("parameters.audit_retention_hour is required")
		}
		r, err := a.cfg.auditPurge.Run(c.ctx(), p, audit.RunManual)
		if err != nil {
			return err
		}
		return c.created(fmt.Sprintf("%s%s/%d", BasePath, pPurge, r.ID), nil)
	}
	if _, err := a.cfg.auditPurge.SetSchedule(c.ctx(), schedule.Schedule{Type: req.Schedule.Type, Cron: req.Schedule.Cron}, p); err != nil {
		return err
	}
	if c.r.Method == http.MethodPost {
		return c.created(BasePath+pPurge+"/schedule", nil)
	}
	return c.ok()
}
