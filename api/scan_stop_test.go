package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/scan"
)

func TestStopRunningScan(t *testing.T) {
	started, release := make(chan struct{}, 1), make(chan struct{})
	defer close(release)
	e, _ := newScanEnvWith(t, &scan.Static{Check: func(ctx context.Context, _ scan.Request) error {
		started <- struct{}{}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}})
	e.user("alice", "dave")
	e.project("p", false, "alice="+project.RoleProjectAdmin, "dave="+project.RoleDeveloper)
	art := "/projects/p/repositories/app/artifacts/" + e.push("p/app", "1")

	e.do(as("alice"), http.MethodPost, art+"/scan/stop", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	var task api.ScanTaskInfo
	e.do(as("alice"), http.MethodPost, art+"/scan", nil).ok(t, http.StatusAccepted, &task)
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the scan did not start")
	}
	e.do(as("dave"), http.MethodPost, art+"/scan/stop", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(as("alice"), http.MethodPost, art+"/scan/stop", map[string]any{"scan_type": 1}).
		fails(t, http.StatusBadRequest, "BAD_REQUEST")
	var stopped api.ScanTaskInfo
	e.do(as("alice"), http.MethodPost, art+"/scan/stop", nil).ok(t, http.StatusAccepted, &stopped)
	assert.Equal(t, task.ReportID, stopped.ReportID)
	assert.Equal(t, "Stopped", stopped.ScanStatus)
	var st api.ScanTaskInfo
	e.do(as("alice"), http.MethodGet, art+"/scan/"+task.ReportID, nil).ok(t, http.StatusOK, &st)
	assert.Equal(t, "Stopped", st.ScanStatus)
	// Again: it has ended, so nothing changes.
	e.do(as("alice"), http.MethodPost, art+"/scan/stop", nil).ok(t, http.StatusAccepted, &stopped)
	assert.Equal(t, "Stopped", stopped.ScanStatus)
}

func TestStopScanAll(t *testing.T) {
	e, _ := newScanEnv(t)
	e.user("alice")
	e.do(admin(), http.MethodPost, "/system/scanAll/stop", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(as("alice"), http.MethodPost, "/system/scanAll/stop", nil).fails(t, http.StatusForbidden, "FORBIDDEN")

	var task api.ScanTaskInfo
	e.do(admin(), http.MethodPost, "/system/scanAll/now", nil).ok(t, http.StatusAccepted, &task)
	var m api.ScanAllMetrics
	require.Eventually(t, func() bool {
		m = api.ScanAllMetrics{}
		e.do(admin(), http.MethodGet, "/scans/all/metrics", nil).ok(t, http.StatusOK, &m)
		return m.Task != nil && m.Task.ScanStatus == "Success"
	}, 10*time.Second, 20*time.Millisecond)
	// It has ended: stopping it is done and changes nothing.
	r := e.do(admin(), http.MethodPost, "/system/scanAll/stop", nil)
	require.Equal(t, http.StatusAccepted, r.Status, "%s", r.Body)
	e.do(admin(), http.MethodGet, "/scans/all/metrics", nil).ok(t, http.StatusOK, &m)
	assert.Equal(t, "Success", m.Task.ScanStatus)
}
