package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/scan"
)

// Stopping scans as Harbor does: a stop of a task in progress stops it
// (202); a stop when the latest task has already ended is done, nothing
// changes (202, as Harbor's execution manager treats stopping an
// execution in a final status); a stop when there has never been such a
// task is a bad request (400, Harbor's "no scan job for artifact" and "no
// scan all job is found currently").

func (a *API) stopScanArtifact(c *call) error {
	kind, art, _, err := a.scanRequest(c, rbac.ActionStop)
	if err != nil {
		return err
	}
	dg := art.Digest.String()
	stop := a.cfg.scan.svc.StopScan
	what := "scan of " + art.Repository + "@" + dg
	if kind == scan.KindSBOM {
		stop, what = a.cfg.scan.svc.StopSBOM, "SBOM generation of "+art.Repository+"@"+dg
	}
	t, err := a.stopTask(c, dg, kind, what, stop)
	if err != nil {
		return err
	}
	return c.json(http.StatusAccepted, scanTaskJSON(t))
}

func (a *API) stopScanAll(c *call) error {
	if err := c.configAdmin(rbac.ActionUpdate); err != nil {
		return err
	}
	stop := func(ctx context.Context, _ string) (scan.Task, error) { return a.cfg.scan.svc.StopScanAll(ctx) }
	if _, err := a.stopTask(c, "", scan.KindScanAll, "scan-all", stop); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusAccepted)
	return nil
}

// stopTask stops the latest task of kind for digest ("" for scan-all)
// and returns it; when none is in progress, the latest task if it has
// ended, and a bad request when there has never been one.
func (a *API) stopTask(c *call, digest string, kind scan.TaskKind, what string,
	stop func(ctx context.Context, digest string) (scan.Task, error)) (scan.Task, error) {
	t, err := stop(c.ctx(), digest)
	if !errors.Is(err, scan.ErrNotFound) {
		return t, err
	}
	latest, ok, err := a.cfg.scan.svc.LatestTask(c.ctx(), digest, kind)
	switch {
	case err != nil:
		return latest, err
	case !ok:
		return latest, badRequest("there has been no " + what + ": nothing to stop")
	case latest.Status.Finished():
		return latest, nil
	}
	// One started since the stop found none in progress.
	return stop(c.ctx(), digest)
}
