// Package gc runs the registry's garbage collection as a maintenance task
// (package maintenance): on demand or on a schedule, one run at a time,
// with a history of runs and their logs, a way to stop one, and
// Prometheus metrics. The collection itself is the registry's
// (registry.Registry.CollectGarbage: online, its cost following the
// garbage); this package is its parameters, result and metrics, in
// Harbor's terms (GC history, schedule, dry run, delete untagged).
//
//	svc, err := gc.New(ctx, db, reg, runner)
//	err = svc.Register(workers) // before the job runner starts
//	err = svc.Start(ctx)        // the schedule
//	run, err := svc.Run(ctx, gc.Params{DeleteUntagged: true}, maintenance.Manual)
//	registerer.MustRegister(svc.Collector())
package gc
