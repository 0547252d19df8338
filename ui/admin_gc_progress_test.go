package ui

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A running collection's page shows how far its log says it has got,
// offers to stop it and reloads itself; runs end too fast in the page
// tests to catch one running, so the page is rendered here.
func TestRunningGCPageShowsProgress(t *testing.T) {
	log := "2026-12-08T01:00:00Z garbage collection started: dry_run=false delete_untagged=true grace=2h0m0s\n" +
		"2026-12-08T01:00:01Z untagged manifest p/app@sha256:aaaa\n" +
		"2026-12-08T01:00:02Z blob sha256:bbbb (1024 bytes)\n" +
		"2026-12-08T01:00:03Z blob sha256:cccc (2048 bytes)\n"
	p := progressOf(log)
	assert.Equal(t, gcProgress{Manifests: 1, Blobs: 2, Last: "2026-12-08T01:00:03Z blob sha256:cccc (2048 bytes)"}, p)
	assert.Equal(t, gcProgress{}, progressOf(""))

	u, err := New(http.NotFoundHandler())
	require.NoError(t, err)
	run := gcRun{ID: 7, JobStatus: "Running", JobParameters: `{"delete_untagged":true,"dry_run":false}`}
	v := &view{User: &currentUser{Username: "admin", Admin: true}, CSRF: "tok", Nav: "gc", Title: "gc.run",
		Data: gcRunView{Run: run, Params: run.Params(), Log: log, Progress: p}}
	w := httptest.NewRecorder()
	u.render(w, httptest.NewRequest(http.MethodGet, "/admin/gc/7", nil), 0, "admin_gc_run", v)
	body := w.Body.String()
	assert.Contains(t, body, `data-refresh="3"`)
	assert.Contains(t, body, `action="/admin/gc/7/stop"`)
	assert.Contains(t, body, "So far: 1 manifests and 2 blobs.")
	assert.Contains(t, body, "blob sha256:cccc (2048 bytes)")
	assert.NotContains(t, body, "What would be deleted")
}
