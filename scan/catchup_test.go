package scan_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/scan"
)

// CatchUp queues what scan-on-push missed — an artifact recently pushed
// into an auto-scan project that has no scan task — once, and leaves older
// artifacts and those already handled alone.
//
// On SQLite only: it queues through ScanArtifact, tested on both engines.
func TestCatchUpMissedPushes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createProject(t, "late", project.Metadata{})
	// The push's hand-off is lost, as in a crash right after the push. (A
	// live sink would race the settings change below: it reads the
	// project when it gets to the event, and may already see auto-scan.)
	e.sink.set(nil)
	d := e.push(t, "late/app:1")
	e.sink.set(e.svc.Sink())
	_, ok, err := e.svc.LatestTask(ctx, d.String(), scan.KindVulnerability)
	require.NoError(t, err)
	require.False(t, ok)

	_, err = e.projects.Update(ctx, "late", func(p *project.Project) error {
		p.Metadata.AutoScan = true
		return nil
	})
	require.NoError(t, err)

	n, err := e.svc.CatchUp(ctx, time.Now().Add(time.Hour))
	require.NoError(t, err)
	assert.Zero(t, n, "pushed before the window: left to scan-all")

	n, err = e.svc.CatchUp(ctx, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	task := waitTask(t, e.svc, d.String(), scan.KindVulnerability, scan.StatusSuccess)
	assert.Equal(t, scan.TriggerPush, task.Trigger)

	n, err = e.svc.CatchUp(ctx, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	assert.Zero(t, n, "already scanned")
}
