// Package audit records who did what to which resource, when, with what
// result, and queries it.
//
// The log lives in the shared SQL database (table audit_log, migrated by
// NewStore). Store.Record writes one entry durably; a Recorder batches
// frequent entries (pulls) into single transactions on a background
// goroutine without ever dropping one: Record blocks while its bounded
// queue is full, failed batches are retried with backoff and logged, and
// Close flushes everything or says how many entries it could not write.
//
//	store, err := audit.NewStore(ctx, db)
//	rec := audit.NewRecorder(store, audit.WithLogger(log))
//	defer rec.Close(shutdownCtx)
//
//	reg, err := registry.New(ctx, blobs, db, registry.WithEventSink(audit.RegistrySink(rec)))
//	err = rec.Record(ctx, audit.Entry{Actor: "alice", Action: audit.ActionLoginFailure,
//		ResourceType: audit.ResourceSession, Resource: "alice", Result: audit.ResultFailure,
//		Detail: "wrong password"})
//
//	f, err := audit.ParseQuery("operation=push,resource=~library/")  // Harbor's q syntax
//	entries, total, err := store.Query(ctx, f, audit.Page{Limit: 50}) // newest first
//	n, err := store.Purge(ctx, time.Now().AddDate(0, -6, 0))          // retention
//
// PurgeService runs purges by age and operation as a maintenance task
// (package maintenance): durable runs with a history, logs, stop and a
// schedule, each deleting in short transactions.
//
//	svc, err := audit.NewPurgeService(ctx, store, runner)
//	run, err := svc.Run(ctx, audit.PurgeParams{RetentionHours: 24 * 90}, maintenance.Manual)
package audit
