// Package maintenance runs a system task as durable jobs, one run at a
// time, with a history of runs, their logs, a way to stop one and a
// schedule: Harbor's ExecHistory. Garbage collection (package gc) and the
// audit log purge (package audit) are tasks; a task is its name and a
// function, generic over its parameters P and result R:
//
//	type Params struct{ OlderThanDays int `json:"older_than_days"` }
//	type Result struct{ Removed int `json:"removed"` }
//
//	svc, err := maintenance.New(ctx, db, runner, maintenance.Task[Params, Result]{
//		Name:  "tmp_cleanup",
//		Title: "temporary file cleanup",
//		Check: func(p Params) (Params, error) { ... }, // before a run or a schedule is stored
//		Run: func(ctx context.Context, p Params, log func(format string, args ...any)) (Result, error) {
//			log("removing files older than %d days", p.OlderThanDays)
//			...
//		},
//	})
//	err = svc.Register(workers) // before the job runner starts
//	err = svc.Start(ctx)        // the stored schedule, until Close
//	run, err := svc.Run(ctx, Params{OlderThanDays: 7}, maintenance.Manual)
//	_, err = svc.SetSchedule(ctx, schedule.Schedule{Type: schedule.Daily}, Params{OlderThanDays: 30})
//
// Runs of every task live in one table, maintenance_runs, keyed by the
// task's name, with their parameters and result as JSON; the schedule and
// the parameters of scheduled runs in maintenance_settings. The database
// holds the rules that span processes: one run of a task is pending or
// running at a time (a unique index), and each tick of the schedule
// starts one run however many processes run the schedule (the first to
// claim it).
//
// A run is a job (package jobs) with no timeout. Stop cancels it; a run
// cut off by a crash or a shutdown runs its function again, from the
// start, when the job runs again, so a task's function must be safe to
// repeat. A run's log keeps up to MaxLog bytes, written as the run goes.
package maintenance
