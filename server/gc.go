package server

import (
	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/gc"
)

// wireGC adds garbage collection: runs as durable jobs on the server's
// queue, the schedule, the /system/gc API and its metrics.
func wireGC(a *Assembly) error {
	svc, err := gc.New(a.Context(), a.DB(), a.Registry(), a.Jobs(),
		gc.WithGraceWindow(a.Config().GC.GraceWindow), gc.WithLogger(a.Logger().With("component", "gc")))
	if err != nil {
		return err
	}
	if err := svc.Register(a.Workers()); err != nil {
		return err
	}
	if err := svc.Start(a.Context()); err != nil {
		return err
	}
	a.AddCloser(svc.Close)
	a.AddAPIOptions(api.WithGC(followSchedule(a, "gc", svc)))
	a.AddMetrics(svc.Collector())
	return nil
}
