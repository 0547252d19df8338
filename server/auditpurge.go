package server

import (
	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/audit"
)

// wireAuditPurge adds the audit log's purge: runs as durable jobs on the
// server's queue (one at a time; a run cut off by a restart runs again),
// on demand and on the schedule set through /system/purgeaudit, each
// deleting in short transactions so the database's writer is never held
// long. The audit log exists only with auth on.
func wireAuditPurge(a *Assembly) error {
	if !a.Auth() {
		return nil
	}
	svc, err := audit.NewPurgeService(a.Context(), a.id.audit, a.Jobs(),
		audit.WithPurgeLogger(a.Logger().With("component", "audit-purge")))
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
	a.AddAPIOptions(api.WithAuditPurge(followSchedule(a, "audit_purge", svc)))
	return nil
}
