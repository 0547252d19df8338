package server

import (
	"context"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/scan"
	"github.com/berthlabs/berth/schedule"
)

// scheduledTask is a maintenance task whose schedule every node runs (a
// unique run per tick makes it fire once across them).
type scheduledTask[P, R any] interface {
	api.Maintenance[P, R]
	// Start re-reads the stored schedule and follows it.
	Start(ctx context.Context) error
}

// followSchedule returns task for the API, announcing each schedule it
// sets under name, and makes this node's cron follow the schedules other
// nodes set: nodes learn a new schedule within PostgreSQL's delivery time.
func followSchedule[P, R any](a *Assembly, name string, task scheduledTask[P, R]) api.Maintenance[P, R] {
	a.st.changes.on(changeSchedule+name, func(ctx context.Context, _ string) {
		if ctx.Err() != nil {
			return // shutting down: Close stopped the cron for good
		}
		if err := task.Start(ctx); err != nil {
			a.log.Error("following a schedule set on another node", "task", name, "err", err)
		}
	})
	return announcingSchedule[P, R]{Maintenance: task, announce: func(ctx context.Context) {
		a.st.changes.announce(ctx, changeSchedule+name)
	}}
}

// announcingSchedule tells the other nodes of each schedule set.
type announcingSchedule[P, R any] struct {
	api.Maintenance[P, R]
	announce func(ctx context.Context)
}

func (s announcingSchedule[P, R]) SetSchedule(ctx context.Context, sc schedule.Schedule, p P) (schedule.Schedule, error) {
	out, err := s.Maintenance.SetSchedule(ctx, sc, p)
	if err == nil {
		s.announce(ctx)
	}
	return out, err
}

// followScanAllSchedule returns svc for the API, announcing each scan-all
// schedule set, and makes this node's scheduler follow other nodes'.
func followScanAllSchedule(a *Assembly, svc *scan.Service) api.Scanning {
	const name = "scan_all"
	a.st.changes.on(changeSchedule+name, func(ctx context.Context, _ string) {
		if ctx.Err() != nil {
			return
		}
		if err := svc.StartSchedule(ctx); err != nil {
			a.log.Error("following a schedule set on another node", "task", name, "err", err)
		}
	})
	return announcingScanAll{Scanning: svc, announce: func(ctx context.Context) {
		a.st.changes.announce(ctx, changeSchedule+name)
	}}
}

// announcingScanAll tells the other nodes of each scan-all schedule set.
type announcingScanAll struct {
	api.Scanning
	announce func(ctx context.Context)
}

func (s announcingScanAll) SetScanAllSchedule(ctx context.Context, sc scan.Schedule) (scan.Schedule, error) {
	out, err := s.Scanning.SetScanAllSchedule(ctx, sc)
	if err == nil {
		s.announce(ctx)
	}
	return out, err
}
