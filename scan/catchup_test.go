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
func TestCatchUpMissedPushes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.createProject(t, "late", project.Metadata{})
	d := e.push(t, "late/app:1") // no auto-scan yet: nothing queued
	_, ok, err := e.svc.LatestTask(ctx, d.String(), scan.KindVulnerability)
	require.NoError(t, err)
	require.False(t, ok)

	// As if the push had landed just before a crash swallowed its hand-off.
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
