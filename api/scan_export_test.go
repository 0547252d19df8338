package api_test

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/scan/export"
	"github.com/berthlabs/berth/sqldb"
)

const scanDataType = "application/vnd.security.vulnerability.report; version=1.1"

func newExportEnv(t *testing.T) *env {
	t.Helper()
	db, err := sqldb.OpenSQLiteMemory(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	st, err := export.New(t.Context(), db)
	require.NoError(t, err)
	e, _ := newScanEnv(t, api.WithScanExports(st))
	return e
}

func TestScanDataExportAPI(t *testing.T) {
	e := newExportEnv(t)
	e.user("alice", "mallory")
	e.project("p", false, "alice="+project.RoleGuest)
	d := scanned(t, e, "p", "app", "1")
	scanned(t, e, "p", "web", "v2")
	p, err := e.projects.Get(t.Context(), "p")
	require.NoError(t, err)

	exportAs := func(who cred, req api.ScanDataExportRequest) *response {
		return e.do(who, http.MethodPost, "/export/cve", req, "X-Scan-Data-Type", scanDataType)
	}
	var job api.ScanDataExportJob
	exportAs(as("alice"), api.ScanDataExportRequest{JobName: "weekly", Projects: []int64{p.ID}, Repositories: "app",
		CVEIDs: "{CVE-2024-0001,cve-2024-0003}"}).ok(t, http.StatusOK, &job)
	require.Positive(t, job.ID)
	exec := "/export/cve/execution/" + strconv.FormatInt(job.ID, 10)
	download := "/export/cve/download/" + strconv.FormatInt(job.ID, 10)

	var x api.ScanDataExportExecution
	e.do(as("alice"), http.MethodGet, exec, nil).ok(t, http.StatusOK, &x)
	assert.Equal(t, "Success", x.Status)
	assert.True(t, x.FilePresent)
	assert.Equal(t, "alice", x.UserName)
	var alice api.UserResp
	e.do(admin(), http.MethodGet, "/users/alice", nil).ok(t, http.StatusOK, &alice)
	assert.Equal(t, alice.UserID, x.UserID)
	assert.Equal(t, "MANUAL", x.Trigger)
	assert.Equal(t, 2, x.Records)
	assert.Equal(t, "weekly", x.JobName)

	// The file: the two chosen findings of p/app, not p/web's.
	r := e.do(as("alice"), http.MethodGet, download+"?format=CSV", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "text/csv; charset=utf-8", r.Header.Get("Content-Type"))
	assert.Contains(t, r.Header.Get("Content-Disposition"), "attachment")
	rows, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 3, "%s", r.Body)
	assert.Equal(t, export.Header(), rows[0])
	assert.Equal(t, []string{"p", "p/app", d, "1", "CVE-2024-0001", "openssl", "3.0.1", "3.0.2", "Critical", "9.8", "", "", ""}, rows[1])
	assert.Equal(t, []string{"p", "p/app", d, "1", "CVE-2024-0003", "bash", "5.1", "", "Low", "", "", "", ""}, rows[2])

	// Listed for its owner only; read by its owner or a system admin.
	var list api.ScanDataExportExecutionList
	e.do(as("alice"), http.MethodGet, "/export/cve/executions", nil).ok(t, http.StatusOK, &list)
	require.Len(t, list.Items, 1)
	assert.Equal(t, job.ID, list.Items[0].ID)
	e.do(as("mallory"), http.MethodGet, "/export/cve/executions", nil).ok(t, http.StatusOK, &list)
	assert.Empty(t, list.Items)
	e.do(as("mallory"), http.MethodGet, exec, nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(as("mallory"), http.MethodGet, download, nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(anonymous, http.MethodGet, download, nil).fails(t, http.StatusUnauthorized, "UNAUTHORIZED")
	e.do(admin(), http.MethodGet, download, nil).ok(t, http.StatusOK, nil)
	e.do(as("alice"), http.MethodGet, download+"?format=pdf", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(as("alice"), http.MethodGet, "/export/cve/execution/99999", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
	e.do(as("alice"), http.MethodGet, "/export/cve/download/abc", nil).fails(t, http.StatusNotFound, "NOT_FOUND")

	// Tags select artifacts; none match: a file with the header only.
	exportAs(as("alice"), api.ScanDataExportRequest{Projects: []int64{p.ID}, Tags: "{v9,nightly*}"}).ok(t, http.StatusOK, &job)
	e.do(as("alice"), http.MethodGet, "/export/cve/execution/"+strconv.FormatInt(job.ID, 10), nil).ok(t, http.StatusOK, &x)
	assert.Equal(t, 0, x.Records)
	r = e.do(as("alice"), http.MethodGet, "/export/cve/download/"+strconv.FormatInt(job.ID, 10), nil)
	assert.Equal(t, strings.Join(export.Header(), ",")+"\n", string(r.Body))
	exportAs(as("alice"), api.ScanDataExportRequest{Projects: []int64{p.ID}, Tags: "v*"}).ok(t, http.StatusOK, &job)
	e.do(as("alice"), http.MethodGet, "/export/cve/execution/"+strconv.FormatInt(job.ID, 10), nil).ok(t, http.StatusOK, &x)
	assert.Equal(t, 3, x.Records, "p/web:v2's three findings")

	// Refusals.
	e.do(as("mallory"), http.MethodPost, "/export/cve", api.ScanDataExportRequest{Projects: []int64{p.ID}},
		"X-Scan-Data-Type", scanDataType).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(anonymous, http.MethodPost, "/export/cve", api.ScanDataExportRequest{Projects: []int64{p.ID}},
		"X-Scan-Data-Type", scanDataType).fails(t, http.StatusUnauthorized, "UNAUTHORIZED")
	e.do(as("alice"), http.MethodPost, "/export/cve", api.ScanDataExportRequest{Projects: []int64{p.ID}}).
		fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(as("alice"), http.MethodPost, "/export/cve", api.ScanDataExportRequest{Projects: []int64{p.ID}},
		"X-Scan-Data-Type", "application/spdx+json").fails(t, http.StatusBadRequest, "BAD_REQUEST")
	for _, bad := range []api.ScanDataExportRequest{{}, {Projects: []int64{p.ID}, Repositories: "{app"},
		{Projects: []int64{p.ID}, Labels: []int64{1}}, {Projects: make([]int64, 11)}} {
		exportAs(as("alice"), bad).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	}
	exportAs(as("alice"), api.ScanDataExportRequest{Projects: []int64{99999}}).fails(t, http.StatusNotFound, "NOT_FOUND")
	e.do(as("alice"), http.MethodPost, "/export/cve", `{"projects": "p"}`, "X-Scan-Data-Type", scanDataType).
		fails(t, http.StatusBadRequest, "BAD_REQUEST")
}

func TestScanReplOpenAPI(t *testing.T) {
	e := newExportEnv(t)
	r := e.do(anonymous, http.MethodGet, "/openapi.json", nil)
	require.Equal(t, http.StatusOK, r.Status)
	for _, id := range []string{"exportScanData", "getScanDataExportExecutionList", "getScanDataExportExecution", "downloadScanData",
		"getSecuritySummary", "ListVulnerabilities", "getLatestScheduledScanAllMetrics", "listScannerCandidatesOfProject"} {
		assert.True(t, strings.Contains(string(r.Body), `"operationId": "`+id+`"`), "operation %s is documented", id)
	}
	for _, schema := range []string{`"ScanDataExportRequest"`, `"ScanDataExportExecutionList"`, `"SecuritySummary"`, `"SecurityVulnerability"`} {
		assert.True(t, strings.Contains(string(r.Body), schema), "schema %s is documented", schema)
	}
	validateOpenAPI(t, r.Body)
}
