package api

import (
	"fmt"

	"github.com/berthlabs/berth/gc"
)

// GC is garbage collection as the API needs it; *gc.Service implements it.
type GC = Maintenance[gc.Params, gc.Result]

// WithGC serves garbage collection under /system/gc (system admins).
func WithGC(g GC) Option { return func(c *config) { c.gc = g } }

func (a *API) gcRoutes() []route {
	if a.cfg.gc == nil {
		return nil
	}
	return (&execTask[gc.Params, gc.Result]{svc: a.cfg.gc, jobName: "GARBAGE_COLLECTION", path: "/system/gc", idParam: "gc_id",
		tag: "gc", title: "garbage collection", params: gcParams,
		ops: execOps{list: "getGCHistory", get: "getGC", stop: "stopGC", log: "getGCLog",
			getSchedule: "getGCSchedule", createSchedule: "createGCSchedule", updateSchedule: "updateGCSchedule"},
		example: `{"schedule":{"type":"Daily"},"parameters":{"delete_untagged":true}}`,
	}).routes()
}

// gcParams reads a schedule's parameters; what is not true is false.
func gcParams(in map[string]any) (gc.Params, error) {
	var p gc.Params
	for k, v := range in {
		b, ok := v.(bool)
		switch k {
		case "delete_untagged":
			p.DeleteUntagged = ok && b
		case "dry_run":
			p.DryRun = ok && b
		case "workers", "additional_properties":
		default:
			return p, badRequest(fmt.Sprintf("parameter %q: want delete_untagged or dry_run", k))
		}
	}
	return p, nil
}
