package ui_test

import (
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/server"
)

// noGrace lets garbage collection take blobs pushed a moment ago.
func noGrace(c *server.Config) { c.GC.GraceWindow = time.Nanosecond }

func TestGCDryRunShowsThePlanAndDeletesNothing(t *testing.T) {
	p := startPortal(t, noGrace)
	p.login(t, "admin", adminPassword)
	p.createProject(t, "gcp", false)
	// v1 loses its tag (its manifest is left untagged); v2 is deleted
	// outright (its blobs are left unreferenced).
	digest := p.pushImage(t, "gcp/app", "v1", 2048)
	p.api(t, http.MethodDelete, "/projects/gcp/repositories/app/artifacts/v1/tags/v1", nil, nil)
	p.pushImage(t, "gcp/app", "v2", 4096)
	p.api(t, http.MethodDelete, "/projects/gcp/repositories/app/artifacts/v2", nil, nil)

	status, loc, body := p.post(t, "/admin/gc/run", url.Values{"dry_run": {"true"}, "delete_untagged": {"true"}})
	require.Equal(t, http.StatusSeeOther, status, body)
	require.Regexp(t, `^/admin/gc/\d+$`, loc)

	// The run ends quickly; the page refreshes itself until it has.
	var page string
	require.Eventually(t, func() bool {
		page = p.page(t, loc)
		return !regexp.MustCompile(`data-refresh`).MatchString(page)
	}, 10*time.Second, 50*time.Millisecond)
	read := text(page)
	assert.Contains(t, read, "Success")
	assert.Contains(t, read, "What would be deleted")
	assert.Regexp(t, `Would delete 1 manifests and [1-9]\d* blobs, freeing [1-9][0-9.]* KiB`, read)
	assert.Contains(t, read, "Nothing was deleted: this was a dry run.")
	assert.Contains(t, page, `<pre class="log"`)
	assert.Contains(t, read, "garbage collection finished")

	// Nothing was deleted: the artifact is still there, and the history
	// says it was a dry run.
	p.api(t, http.MethodGet, "/projects/gcp/repositories/app/artifacts/"+digest, nil, nil)
	read = text(p.page(t, "/admin/gc"))
	assert.Contains(t, read, "Dry run")
	assert.Regexp(t, `Would delete 1 manifests`, read)
	assert.Contains(t, read, "1 - 1 of 1 items")

	// A real run frees it.
	status, loc, _ = p.post(t, "/admin/gc/run", url.Values{"dry_run": {"false"}, "delete_untagged": {"true"}})
	require.Equal(t, http.StatusSeeOther, status)
	require.Eventually(t, func() bool {
		page = p.page(t, loc)
		return !regexp.MustCompile(`data-refresh`).MatchString(page)
	}, 10*time.Second, 50*time.Millisecond)
	assert.Regexp(t, `Deleted 1 manifests and [1-9]\d* blobs, freed`, text(page))
	resp, err := http.Get(p.URL + "/api/v2.0/projects/gcp/repositories/app/artifacts/" + digest)
	require.NoError(t, err)
	resp.Body.Close()
	assert.NotEqual(t, http.StatusOK, resp.StatusCode)

	// Stopping a run that has ended is accepted by the API and changes nothing.
	assert.Contains(t, text(p.submit(t, loc+"/stop", nil)), "Stop requested.")
}

func TestGCSchedule(t *testing.T) {
	p := startPortal(t)
	p.login(t, "admin", adminPassword)
	read := text(p.submit(t, "/admin/gc/schedule", url.Values{"schedule_type": {"Custom"}, "cron": {"0 30 3 * * *"}, "delete_untagged": {"true"}}))
	assert.Contains(t, read, "Schedule saved.")
	assert.Contains(t, read, "Next run:")
	var sc struct {
		Schedule      struct{ Type, Cron string }
		JobParameters string `json:"job_parameters"`
	}
	p.api(t, http.MethodGet, "/system/gc/schedule", nil, &sc)
	assert.Equal(t, "Custom", sc.Schedule.Type)
	assert.Equal(t, "0 30 3 * * *", sc.Schedule.Cron)
	assert.Contains(t, sc.JobParameters, `"delete_untagged":true`)
	assert.Contains(t, p.page(t, "/admin/gc"), `value="0 30 3 * * *"`)

	// A cron the API refuses comes back as its message.
	status, loc, _ := p.post(t, "/admin/gc/schedule", url.Values{"schedule_type": {"Custom"}, "cron": {"not a cron"}})
	require.Equal(t, http.StatusSeeOther, status)
	assert.Contains(t, p.page(t, loc), `class="alert err"`)

	// Bad and unknown run ids.
	status, _ = p.get(t, "/admin/gc/abc")
	assert.Equal(t, http.StatusNotFound, status)
	status, _ = p.get(t, "/admin/gc/999")
	assert.Equal(t, http.StatusNotFound, status)
}

func TestAdminPagesRefuseNonAdmins(t *testing.T) {
	p := startPortal(t)
	p.api(t, http.MethodPost, "/users", map[string]any{"username": "dev", "email": "dev@example.com",
		"realname": "Dev", "password": "Dev-Pass-123"}, nil)
	p.login(t, "dev", "Dev-Pass-123")
	for _, path := range []string{"/admin/gc", "/admin/audit", "/admin/scanners", "/admin/quotas", "/admin/config"} {
		status, _ := p.get(t, path)
		assert.Equal(t, http.StatusForbidden, status, path)
	}
	status, _, _ := p.post(t, "/admin/gc/run", url.Values{"dry_run": {"true"}})
	require.Equal(t, http.StatusSeeOther, status)
	var runs []any
	p.api(t, http.MethodGet, "/system/gc", nil, &runs)
	assert.Empty(t, runs)
}
