package harbor_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/artifact"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/jobservice"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/scan"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/scan_all"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
)

// Stopping scans that are in progress: the scan gate (scangate_test.go)
// holds the scans of a repository, so a stop meets a running scan, and,
// with every job worker held, a scan-all that waits for one.

// heldRepo is the repository of project p whose scans the gate holds.
const heldRepo = "held"

// startHeldScans pushes n images to a new project's held repository and
// scans each, then waits until all n wait at the gate. release lets
// them finish.
func (f *fixture) startHeldScans(ctx context.Context, n int) (p proj, digests []string, release func(), err error) {
	p, err = f.createProject(ctx, f.unique("sdk-scan-stop"))
	if err != nil {
		return p, nil, func() {}, err
	}
	repo := p.name + "/" + heldRepo
	release = scans.hold(repo)
	for i := range n {
		d, err := f.pushImage(ctx, p.name, heldRepo, fmt.Sprint("v", i))
		if err != nil {
			return p, digests, release, err
		}
		digests = append(digests, d)
		if _, err := f.c.Scan.ScanArtifact(ctx, scan.NewScanArtifactParams().WithProjectName(p.name).
			WithRepositoryName(heldRepo).WithReference(d)); err != nil {
			return p, digests, release, setup("scanArtifact", err)
		}
	}
	err = poll(ctx, fmt.Sprintf("%d scans running", n), func() (bool, error) { return scans.waitingScans(repo) >= n, nil })
	return p, digests, release, setup("scanArtifact", err)
}

// stopRunningScan stops a scan that is running and checks it ends
// Stopped.
func (f *fixture) stopRunningScan(ctx context.Context) error {
	p, ds, release, err := f.startHeldScans(ctx, 1)
	defer release()
	if err != nil {
		return err
	}
	if _, err := f.c.Scan.StopScanArtifact(ctx, scan.NewStopScanArtifactParams().WithProjectName(p.name).
		WithRepositoryName(heldRepo).WithReference(ds[0]).WithScanType(&models.ScanType{ScanType: "vulnerability"})); err != nil {
		return err
	}
	got, err := f.c.Artifact.GetArtifact(ctx, artifact.NewGetArtifactParams().WithProjectName(p.name).
		WithRepositoryName(heldRepo).WithReference(ds[0]).WithWithScanOverview(ptr(true)))
	if err != nil {
		return setup("getArtifact", err)
	}
	for _, s := range got.Payload.ScanOverview {
		if s.ScanStatus != "Stopped" {
			return checkf("the stopped scan is %s", s.ScanStatus)
		}
		return nil
	}
	return checkf("the artifact shows no scan")
}

// stopRunningScanAll holds a scan on every job worker, so that a
// scan-all started then waits; stops it and checks it ended Stopped.
func (f *fixture) stopRunningScanAll(ctx context.Context) error {
	pools, err := f.c.Jobservice.GetWorkerPools(ctx, jobservice.NewGetWorkerPoolsParams())
	if err != nil {
		return setup("getWorkerPools", err)
	}
	if len(pools.Payload) == 0 || pools.Payload[0].Concurrency < 1 {
		return setup("getWorkerPools", fmt.Errorf("no worker pool with workers"))
	}
	_, _, release, err := f.startHeldScans(ctx, int(pools.Payload[0].Concurrency))
	defer release()
	if err != nil {
		return err
	}
	if _, err := f.c.ScanAll.CreateScanAllSchedule(ctx, scan_all.NewCreateScanAllScheduleParams().
		WithSchedule(&models.Schedule{Schedule: &models.ScheduleObj{Type: "Manual"}})); err != nil {
		return setup("createScanAllSchedule", err)
	}
	if status, err := latestScanAll(ctx); err != nil || status != "Pending" {
		return setup("createScanAllSchedule", fmt.Errorf("the scan-all is %q (%v), want it Pending behind the held scans",
			status, err))
	}
	if _, err := f.c.ScanAll.StopScanAll(ctx, scan_all.NewStopScanAllParams()); err != nil {
		return err
	}
	status, err := latestScanAll(ctx)
	if err != nil {
		return err
	}
	if status != "Stopped" {
		return checkf("the stopped scan-all is %s", status)
	}
	return nil
}

// latestScanAll is the status of the latest scan-all task, which berth
// shows in the metrics' task (an addition to Harbor's Stats).
func latestScanAll(ctx context.Context) (string, error) {
	body, err := rawGet(ctx, "/scans/all/metrics", nil)
	if err != nil {
		return "", err
	}
	var m struct {
		Task *struct {
			ScanStatus string `json:"scan_status"`
		} `json:"task"`
	}
	if err := json.Unmarshal(body, &m); err != nil {
		return "", err
	}
	if m.Task == nil {
		return "", nil
	}
	return m.Task.ScanStatus, nil
}
