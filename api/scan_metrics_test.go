package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/scan"
)

func TestScheduledScanAllMetricsAPI(t *testing.T) {
	e, svc := newScanEnv(t)
	e.user("alice")
	e.project("p", false, "alice="+project.RoleProjectAdmin)
	e.push("p/app", "1")
	e.push("p/app", "2")

	// No scheduled run yet: an empty answer; project admins may not look.
	var m api.ScanAllMetrics
	e.do(admin(), http.MethodGet, "/scans/schedule/metrics", nil).ok(t, http.StatusOK, &m)
	assert.Equal(t, api.ScanAllMetrics{}, m)
	e.do(as("alice"), http.MethodGet, "/scans/schedule/metrics", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(anonymous, http.MethodGet, "/scans/schedule/metrics", nil).fails(t, http.StatusUnauthorized, "UNAUTHORIZED")
	e.do(admin(), http.MethodPost, "/scans/schedule/metrics", nil).fails(t, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED")

	// A scheduled run queues a scan of both images; its metrics count them.
	_, err := svc.ScanAll(t.Context(), scan.TriggerSchedule)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		m = api.ScanAllMetrics{} // decoding merges into a map already there
		e.do(admin(), http.MethodGet, "/scans/schedule/metrics", nil).ok(t, http.StatusOK, &m)
		return !m.Ongoing && m.Total == 2
	}, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, "SCHEDULE", m.Trigger)
	assert.Equal(t, int64(2), m.Completed)
	assert.Equal(t, map[string]int64{"Success": 2}, m.Metrics)

	// A manual run later is the latest run, not the latest scheduled one.
	var task api.ScanTaskInfo
	e.do(admin(), http.MethodPost, "/system/scanAll/now", nil).ok(t, http.StatusAccepted, &task)
	require.Eventually(t, func() bool {
		m = api.ScanAllMetrics{}
		e.do(admin(), http.MethodGet, "/scans/all/metrics", nil).ok(t, http.StatusOK, &m)
		return m.Trigger == "MANUAL" && !m.Ongoing
	}, 10*time.Second, 20*time.Millisecond)
	m = api.ScanAllMetrics{}
	e.do(admin(), http.MethodGet, "/scans/schedule/metrics", nil).ok(t, http.StatusOK, &m)
	assert.Equal(t, "SCHEDULE", m.Trigger)
	assert.Equal(t, int64(2), m.Total)
	assert.Equal(t, map[string]int64{"Success": 2}, m.Metrics)
}

func TestScannerCandidatesAPI(t *testing.T) {
	e, _ := newScanEnv(t)
	e.user("alice", "dave")
	e.project("p", false, "alice="+project.RoleProjectAdmin, "dave="+project.RoleDeveloper)

	// The built-in scanner is the one candidate.
	assert.Equal(t, []string{"static"}, names(t, e.do(as("alice"), http.MethodGet, "/projects/p/scanner/candidates", nil), "name"))
	r := e.do(as("alice"), http.MethodGet, "/projects/p/scanner/candidates?q=name%3D~stat&sort=-name&page=1&page_size=5", nil)
	assert.Equal(t, []string{"static"}, names(t, r, "name"))
	assert.Equal(t, "1", r.Header.Get("X-Total-Count"))
	assert.Empty(t, names(t, e.do(as("alice"), http.MethodGet, "/projects/p/scanner/candidates?q=name%3Dother", nil), "name"))

	e.do(as("dave"), http.MethodGet, "/projects/p/scanner/candidates", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(as("alice"), http.MethodGet, "/projects/nope/scanner/candidates", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
	e.do(as("alice"), http.MethodGet, "/projects/p/scanner/candidates?q=vendor%3Dx", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(as("alice"), http.MethodGet, "/projects/p/scanner/candidates?sort=color", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
}
