package api

import (
	"context"
	"net/http"
	"time"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/replicate"
	"github.com/berthlabs/berth/schedule"
)

// ScheduleTask is one scheduled job: Harbor's ScheduleTask. Its id is
// stable: the vendor type's number (1 GARBAGE_COLLECTION, 2 SCAN_ALL,
// 3 PURGE_AUDIT_LOG, 4 REPLICATION) times 2^32, plus vendor_id.
type ScheduleTask struct {
	ID         int64      `json:"id"`
	VendorType string     `json:"vendor_type" doc:"GARBAGE_COLLECTION, SCAN_ALL, PURGE_AUDIT_LOG or REPLICATION"`
	VendorID   int64      `json:"vendor_id" doc:"the replication policy's id; 0 for system tasks"`
	Cron       string     `json:"cron"`
	UpdateTime *time.Time `json:"update_time,omitempty" doc:"when the schedule last changed, where berth records it (replication)"`
}

// SchedulerStatus tells whether schedules fire: Harbor's SchedulerStatus.
type SchedulerStatus struct {
	Paused bool `json:"paused" doc:"always false: berth's schedules cannot be paused"`
}

// Vendor types with schedules, and their numbers in ScheduleTask ids.
var scheduleVendors = map[string]int64{"GARBAGE_COLLECTION": 1, "SCAN_ALL": 2, "PURGE_AUDIT_LOG": 3, "REPLICATION": 4}

func (a *API) scheduleRoutes() []route {
	return []route{
		{method: http.MethodGet, path: "/schedules", id: "listSchedules", tag: "schedule",
			summary: "Every schedule set: garbage collection, scan-all, audit log purge, replication policies (system admins)",
			query:   paging, resp: []ScheduleTask{}, paged: true, handle: a.listSchedules},
		{method: http.MethodGet, path: "/schedules/{job_type}/paused", id: "getSchedulePaused", tag: "schedule",
			summary: "Whether schedules of a job type (or all) are paused: never, in berth (system admins)",
			resp:    SchedulerStatus{}, handle: a.getSchedulePaused},
	}
}

func (a *API) listSchedules(c *call) error {
	if err := c.configAdmin(rbac.ActionRead); err != nil {
		return err
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	all, err := a.schedules(c.ctx())
	if err != nil {
		return err
	}
	return c.paged(pg, len(all), pageOf(all, pg))
}

// schedules lists every schedule that is set (type other than None).
func (a *API) schedules(ctx context.Context) ([]ScheduleTask, error) {
	out := []ScheduleTask{}
	add := func(vendor string, id int64, cron string, updated time.Time) {
		t := ScheduleTask{ID: scheduleVendors[vendor]<<32 + id, VendorType: vendor, VendorID: id, Cron: cron}
		if !updated.IsZero() {
			u := updated.UTC()
			t.UpdateTime = &u
		}
		out = append(out, t)
	}
	for _, m := range []struct {
		vendor string
		get    func(context.Context) (schedule.Schedule, error)
	}{{"GARBAGE_COLLECTION", scheduleOf(a.cfg.gc)}, {"PURGE_AUDIT_LOG", scheduleOf(a.cfg.auditPurge)}} {
		if m.get == nil {
			continue
		}
		sc, err := m.get(ctx)
		if err != nil {
			return nil, err
		}
		if sc.Type != schedule.None && sc.Type != "" {
			add(m.vendor, 0, sc.Cron, time.Time{})
		}
	}
	if a.cfg.scan.svc != nil {
		sc, err := a.cfg.scan.svc.ScanAllSchedule(ctx)
		if err != nil {
			return nil, err
		}
		if sc.Type != schedule.None && sc.Type != "" {
			add("SCAN_ALL", 0, sc.Cron, time.Time{})
		}
	}
	if a.cfg.repl.r != nil {
		for off := 0; ; {
			ps, total, err := a.cfg.repl.r.Policies(ctx, "", core.Page{Offset: off, Limit: 100})
			if err != nil {
				return nil, err
			}
			for _, p := range ps {
				if p.Trigger == replicate.TriggerScheduled && p.Enabled {
					add("REPLICATION", p.ID, p.Cron, p.UpdatedAt)
				}
			}
			off += len(ps)
			if len(ps) == 0 || off >= total {
				break
			}
		}
	}
	return out, nil
}

// scheduleOf reads a maintenance task's schedule; nil when the task is
// not served.
func scheduleOf[P, R any](m Maintenance[P, R]) func(context.Context) (schedule.Schedule, error) {
	if m == nil {
		return nil
	}
	return func(ctx context.Context) (schedule.Schedule, error) {
		sc, _, err := m.Schedule(ctx)
		return sc, err
	}
}

func (a *API) getSchedulePaused(c *call) error {
	if err := c.configAdmin(rbac.ActionRead); err != nil {
		return err
	}
	jt := c.r.PathValue("job_type")
	if _, known := scheduleVendors[jt]; !known && jt != "all" && jt != "RETENTION" {
		return notFound("job type " + jt + ": want all, GARBAGE_COLLECTION, SCAN_ALL, PURGE_AUDIT_LOG, REPLICATION or RETENTION")
	}
	return c.json(http.StatusOK, SchedulerStatus{})
}
