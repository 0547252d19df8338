package ui_test

import (
	"encoding/csv"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAuditLogFiltersAndExport(t *testing.T) {
	p := startPortal(t)
	p.login(t, "admin", adminPassword)
	p.createProject(t, "alpha", false)
	p.createProject(t, "beta", false)
	p.pushImage(t, "alpha/web", "v1", 512)

	// The audit log is written in batches, a moment after the push.
	var read string
	require.Eventually(t, func() bool {
		read = text(p.page(t, "/admin/audit"))
		return strings.Contains(read, "alpha/web")
	}, 10*time.Second, 50*time.Millisecond)
	assert.Contains(t, read, "beta")

	// The filters go to the API: one resource type, one resource prefix.
	read = text(p.page(t, "/admin/audit?resource_type=project"))
	assert.Contains(t, read, "beta")
	assert.NotContains(t, read, "alpha/web")
	read = text(p.page(t, "/admin/audit?resource=alpha%2Fweb"))
	assert.Contains(t, read, "alpha/web")
	assert.NotContains(t, read, " beta ")
	today := time.Now().UTC().Format(time.DateOnly)
	assert.Contains(t, text(p.page(t, "/admin/audit?from="+today+"&to="+today)), "alpha/web")
	assert.Contains(t, text(p.page(t, "/admin/audit?to=2001-01-01")), "No log entries.")
	// Sorted by time on the server: oldest first puts the first project before the push.
	assert.Regexp(t, `alpha .*alpha/web`, text(p.page(t, "/admin/audit?sort=op_time&resource=alpha")))
	// Paging.
	read = text(p.page(t, "/admin/audit?page_size=15"))
	assert.Regexp(t, `1 - \d+ of \d+ items`, read)

	// Export: CSV of the filtered entries.
	resp, err := p.client.Get(p.URL + "/admin/audit/export.csv?resource_type=project")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Content-Disposition"), "audit-log.csv")
	rows, err := csv.NewReader(resp.Body).ReadAll()
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(rows), 3)
	assert.Equal(t, []string{"id", "time", "username", "operation", "resource_type", "resource", "project", "result"}, rows[0])
	var resources []string
	for _, r := range rows[1:] {
		assert.Equal(t, "project", r[4])
		resources = append(resources, r[5])
	}
	assert.Contains(t, resources, "alpha")
	assert.Contains(t, resources, "beta")

	// A filter the API refuses shows its message.
	status, body := p.get(t, "/admin/audit?from=2030-01-01&to=2020-01-01")
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, text(body), "ends before it starts")
}

func TestLogsForAMember(t *testing.T) {
	p := startPortal(t)
	p.createProject(t, "mine", false)
	p.createProject(t, "theirs", false)
	p.api(t, http.MethodPost, "/users", map[string]any{"username": "dev", "email": "dev@example.com",
		"realname": "Dev", "password": "Dev-Pass-123"}, nil)
	p.createProject(t, "devonly", false)
	p.api(t, http.MethodPost, "/projects/mine/members", map[string]any{"role_id": 1,
		"member_user": map[string]string{"username": "dev"}}, nil)
	p.api(t, http.MethodPost, "/projects/devonly/members", map[string]any{"role_id": 2,
		"member_user": map[string]string{"username": "dev"}}, nil)
	p.pushImage(t, "mine/app", "v1", 512)
	p.pushImage(t, "theirs/app", "v1", 512)

	p.login(t, "dev", "Dev-Pass-123")
	// The first of the user's projects (by name) is shown: devonly, where
	// a developer may not read the log; the page says so and offers the
	// others.
	status, body := p.get(t, "/logs")
	assert.Equal(t, http.StatusForbidden, status)
	assert.Contains(t, text(body), "cannot list log")
	assert.Contains(t, body, `<option>mine</option>`)
	var read string
	require.Eventually(t, func() bool {
		read = text(p.page(t, "/logs?project=mine"))
		return strings.Contains(read, "mine/app")
	}, 10*time.Second, 50*time.Millisecond)
	assert.NotContains(t, read, "theirs/app")
	// The whole log is the API's to refuse.
	status, _ = p.get(t, "/admin/audit")
	assert.Equal(t, http.StatusForbidden, status)
	status, _ = p.get(t, "/logs?project=theirs")
	assert.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, status)

	resp, err := p.client.Get(p.URL + "/logs/export.csv?project=mine")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Contains(t, string(b), "mine/app")
	assert.False(t, strings.Contains(string(b), "theirs/app"))
}
