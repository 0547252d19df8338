package api

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/berthlabs/berth/audit"
)

// AuditPurge is the audit log's purge as the API needs it;
// *audit.PurgeService implements it.
type AuditPurge = Maintenance[audit.PurgeParams, audit.PurgeResult]

// WithAuditPurge serves the audit log's purge under /system/purgeaudit
// (system admins).
func WithAuditPurge(p AuditPurge) Option { return func(c *config) { c.auditPurge = p } }

func (a *API) auditPurgeRoutes() []route {
	if a.cfg.auditPurge == nil {
		return nil
	}
	return (&execTask[audit.PurgeParams, audit.PurgeResult]{svc: a.cfg.auditPurge, jobName: "PURGE_AUDIT_LOG",
		path: "/system/purgeaudit", idParam: "purge_id", tag: "purge", title: "audit log purge",
		params: purgeParams, show: purgeParamsJSON,
		ops: execOps{list: "getPurgeHistory", get: "getPurgeJob", stop: "stopPurge", log: "getPurgeJobLog",
			getSchedule: "getPurgeSchedule", createSchedule: "createPurgeSchedule", updateSchedule: "updatePurgeSchedule"},
		example: `{"schedule":{"type":"Daily"},"parameters":{"audit_retention_hour":168,"include_operations":"create,delete,pull"}}`,
	}).routes()
}

// purgeParamsJSON is a run's parameters as job_parameters shows them.
func purgeParamsJSON(p audit.PurgeParams) map[string]any {
	return map[string]any{"audit_retention_hour": p.RetentionHours,
		"include_operations": strings.Join(p.Operations, ","), "dry_run": p.DryRun}
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
