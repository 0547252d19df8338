package api_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/scan"
	"github.com/berthlabs/berth/sqldb"
)

// lateScan lets the API be built before the scan Service, which needs the
// env's registry and projects.
type lateScan struct{ *scan.Service }

func newScanEnv(t *testing.T, opts ...api.Option) (*env, *scan.Service) {
	t.Helper()
	return newScanEnvWith(t, &scan.Static{DBVersion: "2025-01-01T00:00:00Z", Vulnerabilities: []scan.Vulnerability{
		{ID: "CVE-2024-0001", Package: "openssl", Version: "3.0.1", FixVersion: "3.0.2", Severity: scan.Critical,
			CVSS: &scan.CVSS{ScoreV3: 9.8}},
		{ID: "CVE-2024-0002", Package: "zlib", Version: "1.2", Severity: scan.High},
		{ID: "CVE-2024-0003", Package: "bash", Version: "5.1", Severity: scan.Low},
	}}, opts...)
}

// newScanEnvWith is newScanEnv scanning with static.
func newScanEnvWith(t *testing.T, static *scan.Static, opts ...api.Option) (*env, *scan.Service) {
	t.Helper()
	ls := &lateScan{}
	e := newEnv(t, append([]api.Option{api.WithScanning(ls)}, opts...)...)
	ctx := context.Background()
	db, err := sqldb.OpenSQLiteMemory(ctx)
	require.NoError(t, err)
	pool, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "jobs.db")+
		"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)")
	require.NoError(t, err)
	pool.SetMaxOpenConns(1)
	require.NoError(t, jobs.Migrate(ctx, pool))
	ws := jobs.NewWorkers()
	runner, err := jobs.New(pool, jobs.WithWorkers(ws), jobs.WithPollInterval(20*time.Millisecond),
		jobs.WithStopGrace(2*time.Second))
	require.NoError(t, err)
	svc, err := scan.NewService(ctx, db, scan.WithQueue(runner), scan.WithProjects(e.projects),
		scan.WithRegistry(e.reg, "scanner"), scan.WithScanner("static", static), scan.WithSBOMGenerator(scan.StaticSBOM{}))
	require.NoError(t, err)
	require.NoError(t, svc.Register(ws))
	require.NoError(t, runner.Start(ctx))
	ls.Service = svc
	t.Cleanup(func() {
		_ = svc.Close()
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_ = runner.Stop(sctx)
		_ = pool.Close()
		_ = db.Close()
	})
	return e, svc
}

// report polls the vulnerabilities addition until it holds a report.
func scanReport(t *testing.T, e *env, who cred, path string) api.VulnerabilityReport {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var m map[string]api.VulnerabilityReport
		e.do(who, http.MethodGet, path, nil).ok(t, http.StatusOK, &m)
		if r, ok := m["application/vnd.security.vulnerability.report; version=1.1"]; ok {
			return r
		}
		require.Empty(t, m)
		require.True(t, time.Now().Before(deadline), "no report at %s", path)
		time.Sleep(20 * time.Millisecond)
	}
}

func TestScanArtifactAPI(t *testing.T) {
	e, _ := newScanEnv(t)
	e.user("alice", "dave", "gina")
	e.project("p", false, "alice="+project.RoleProjectAdmin, "dave="+project.RoleDeveloper, "gina="+project.RoleGuest)
	d := e.push("p/app", "1")
	art := "/projects/p/repositories/app/artifacts/" + d

	// Never scanned: an empty addition.
	var empty map[string]any
	e.do(as("gina"), http.MethodGet, art+"/additions/vulnerabilities", nil).ok(t, http.StatusOK, &empty)
	assert.Empty(t, empty)

	// Developers may not scan (Harbor: maintainers and up); admins may.
	e.do(as("dave"), http.MethodPost, art+"/scan", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	var task api.ScanTaskInfo
	e.do(as("alice"), http.MethodPost, art+"/scan", nil).ok(t, http.StatusAccepted, &task)
	assert.Equal(t, "vulnerability", task.ScanType)
	assert.NotEmpty(t, task.ReportID)

	r := scanReport(t, e, as("gina"), art+"/additions/vulnerabilities")
	assert.Equal(t, "Critical", r.Severity)
	assert.Equal(t, 3, r.Summary.Total)
	assert.Equal(t, 1, r.Summary.Fixable)
	assert.Equal(t, map[string]int{"Critical": 1, "High": 1, "Low": 1}, r.Summary.Summary)
	assert.Equal(t, "2025-01-01T00:00:00Z", r.DBVersion)
	require.Len(t, r.Vulnerabilities, 3)
	require.NotNil(t, r.Overview)
	assert.Equal(t, "Success", r.Overview.ScanStatus)
	assert.Equal(t, task.ReportID, r.Overview.ReportID)
	assert.Equal(t, 100, r.Overview.CompletePercent)

	// The summary rides with the artifact when asked for.
	var a api.Artifact
	e.do(as("gina"), http.MethodGet, art, nil).ok(t, http.StatusOK, &a)
	assert.Nil(t, a.ScanOverview)
	e.do(as("gina"), http.MethodGet, art+"?with_scan_overview=true", nil).ok(t, http.StatusOK, &a)
	require.Len(t, a.ScanOverview, 1)
	for _, o := range a.ScanOverview {
		assert.Equal(t, "Critical", o.Severity)
		assert.Equal(t, "Success", o.ScanStatus)
	}
	var list []api.Artifact
	e.do(as("gina"), http.MethodGet, "/projects/p/repositories/app/artifacts?with_scan_overview=true", nil).ok(t, http.StatusOK, &list)
	require.Len(t, list, 1)
	assert.Len(t, list[0].ScanOverview, 1)

	for q, want := range map[string][]string{
		"?severity=high":              {"CVE-2024-0001", "CVE-2024-0002"},
		"?fixable=true":               {"CVE-2024-0001"},
		"?fixable=false&severity=Low": {"CVE-2024-0002", "CVE-2024-0003"},
		"?cve=0003":                   {"CVE-2024-0003"},
		"?package=ZLIB":               {"CVE-2024-0002"},
	} {
		r := scanReport(t, e, as("gina"), art+"/additions/vulnerabilities"+q)
		var ids []string
		for _, v := range r.Vulnerabilities {
			ids = append(ids, v.ID)
		}
		assert.ElementsMatch(t, want, ids, q)
		assert.Equal(t, len(want), r.Total)
	}
	e.do(as("gina"), http.MethodGet, art+"/additions/vulnerabilities?severity=awful", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")

	// The task's log.
	lr := e.do(as("gina"), http.MethodGet, art+"/scan/"+task.ReportID+"/log", nil)
	require.Equal(t, http.StatusOK, lr.Status)
	assert.Contains(t, lr.Header.Get("Content-Type"), "text/plain")
	assert.Contains(t, string(lr.Body), "done: 3 vulnerabilities")
	e.do(as("gina"), http.MethodGet, art+"/scan/999/log", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
	var st api.ScanTaskInfo
	e.do(as("gina"), http.MethodGet, art+"/scan/"+task.ReportID, nil).ok(t, http.StatusOK, &st)
	assert.Equal(t, "Success", st.ScanStatus)
	assert.Equal(t, "manual", st.Trigger)
	assert.False(t, st.EndTime.IsZero())
	e.do(as("gina"), http.MethodGet, art+"/scan/x/log", nil).fails(t, http.StatusNotFound, "NOT_FOUND")

	// Stopping a scan that has ended is done, as in Harbor: 202 with the
	// task, unchanged; with none ever (no SBOM yet), 400.
	var stopped api.ScanTaskInfo
	e.do(as("alice"), http.MethodPost, art+"/scan/stop", nil).ok(t, http.StatusAccepted, &stopped)
	assert.Equal(t, task.ReportID, stopped.ReportID)
	assert.Equal(t, "Success", stopped.ScanStatus)
	e.do(as("alice"), http.MethodPost, art+"/scan/stop", api.ScanType{ScanType: "sbom"}).
		fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(as("gina"), http.MethodPost, art+"/scan/stop", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(as("alice"), http.MethodPost, art+"/scan", api.ScanType{ScanType: "magic"}).fails(t, http.StatusBadRequest, "BAD_REQUEST")

	// SBOMs, stored as referrers and downloaded in both formats.
	e.do(as("alice"), http.MethodPost, art+"/scan", api.ScanType{ScanType: "sbom"}).ok(t, http.StatusAccepted, &task)
	assert.Equal(t, "sbom", task.ScanType)
	var sb *response
	require.Eventually(t, func() bool {
		sb = e.do(as("gina"), http.MethodGet, art+"/additions/sbom?format=cyclonedx", nil)
		return sb.Status == http.StatusOK
	}, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, scan.CycloneDXJSON, sb.Header.Get("Content-Type"))
	assert.Contains(t, string(sb.Body), `"bomFormat":"CycloneDX"`)
	sb = e.do(as("gina"), http.MethodGet, art+"/additions/sbom", nil)
	require.Equal(t, http.StatusOK, sb.Status)
	assert.Contains(t, string(sb.Body), `"spdxVersion":"SPDX-2.3"`)
	e.do(as("gina"), http.MethodGet, art+"/additions/sbom?format=xml", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")

	// Both overviews, as the artifact listing shows them.
	var state api.ArtifactScanState
	require.Eventually(t, func() bool {
		e.do(as("gina"), http.MethodGet, art+"/scan", nil).ok(t, http.StatusOK, &state)
		return state.SBOMOverview != nil && state.SBOMOverview.ScanStatus == "Success"
	}, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, task.ReportID, state.SBOMOverview.ReportID)
	o := state.ScanOverview["application/vnd.security.vulnerability.report; version=1.1"]
	require.NotNil(t, o)
	assert.Equal(t, "Critical", o.Severity)
	assert.Equal(t, 3, o.Summary.Total)
	assert.Equal(t, "static", o.Scanner.Name)

	// An SBOM is not itself scannable.
	var refs struct{ Manifests []struct{ Digest string } }
	resp, err := http.Get(e.srv.URL + "/v2/p/app/referrers/" + d)
	require.NoError(t, err)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&refs))
	resp.Body.Close()
	require.Len(t, refs.Manifests, 2)
	e.do(as("alice"), http.MethodPost, "/projects/p/repositories/app/artifacts/"+refs.Manifests[0].Digest+"/scan", nil).
		fails(t, http.StatusPreconditionFailed, "PRECONDITION")
}

func TestCVEAllowlistAPI(t *testing.T) {
	e, svc := newScanEnv(t)
	e.user("alice", "dave")
	e.project("p", false, "alice="+project.RoleProjectAdmin, "dave="+project.RoleDeveloper)

	var al api.CVEAllowlist
	e.do(as("dave"), http.MethodGet, "/system/CVEAllowlist", nil).ok(t, http.StatusOK, &al)
	assert.Empty(t, al.Items)
	assert.Nil(t, al.ExpiresAt)
	e.do(anonymous, http.MethodGet, "/system/CVEAllowlist", nil).fails(t, http.StatusUnauthorized, "UNAUTHORIZED")
	exp := time.Now().Add(24 * time.Hour).Unix()
	body := api.CVEAllowlist{ExpiresAt: &exp, Items: []api.CVEAllowlistItem{{CVEID: "cve-2024-0001"}, {CVEID: "CVE-2024-0002"}}}
	e.do(as("alice"), http.MethodPut, "/system/CVEAllowlist", body).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(admin(), http.MethodPut, "/system/CVEAllowlist", body).ok(t, http.StatusOK, nil)
	e.do(as("dave"), http.MethodGet, "/system/CVEAllowlist", nil).ok(t, http.StatusOK, &al)
	assert.Equal(t, []api.CVEAllowlistItem{{CVEID: "CVE-2024-0001"}, {CVEID: "CVE-2024-0002"}}, al.Items)
	require.NotNil(t, al.ExpiresAt)
	assert.Equal(t, exp, *al.ExpiresAt)
	e.do(admin(), http.MethodPut, "/system/CVEAllowlist", api.CVEAllowlist{Items: []api.CVEAllowlistItem{{CVEID: "bad id"}}}).
		fails(t, http.StatusBadRequest, "BAD_REQUEST")

	// The project's own list: its admins write it, members read it.
	pl := api.CVEAllowlist{Items: []api.CVEAllowlistItem{{CVEID: "CVE-2024-0002"}}}
	e.do(as("dave"), http.MethodPut, "/projects/p/cve-allowlist", pl).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(as("alice"), http.MethodPut, "/projects/p/cve-allowlist", pl).ok(t, http.StatusOK, nil)
	e.do(as("dave"), http.MethodGet, "/projects/p/cve-allowlist", nil).ok(t, http.StatusOK, &al)
	assert.Equal(t, pl.Items, al.Items)
	assert.NotZero(t, al.ProjectID)
	got, err := svc.Allowlist(t.Context(), "p")
	require.NoError(t, err)
	assert.Equal(t, []string{"CVE-2024-0002"}, got.Items)

	// Findings on the list the gate applies are marked.
	d := e.push("p/app", "1")
	art := "/projects/p/repositories/app/artifacts/" + d
	e.do(as("alice"), http.MethodPost, art+"/scan", nil).ok(t, http.StatusAccepted, nil)
	r := scanReport(t, e, as("dave"), art+"/additions/vulnerabilities?cve=2024-0002")
	require.Len(t, r.Vulnerabilities, 1)
	assert.True(t, r.Vulnerabilities[0].Allowlisted)
}

func TestScannersAndScheduleAPI(t *testing.T) {
	e, _ := newScanEnv(t)
	e.user("alice", "dave")
	e.project("p", false, "alice="+project.RoleProjectAdmin, "dave="+project.RoleDeveloper)

	var regs []api.ScannerRegistration
	e.do(admin(), http.MethodGet, "/scanners", nil).ok(t, http.StatusOK, &regs)
	require.Len(t, regs, 1)
	assert.True(t, regs[0].Builtin)
	assert.True(t, regs[0].IsDefault)
	e.do(as("alice"), http.MethodGet, "/scanners", nil).fails(t, http.StatusForbidden, "FORBIDDEN")

	req := api.ScannerRegistrationReq{Name: "ext", URL: "http://127.0.0.1:1", Auth: "Bearer", AccessCredential: "tok"}
	var reg api.ScannerRegistration
	r := e.do(admin(), http.MethodPost, "/scanners", req)
	r.ok(t, http.StatusCreated, &reg)
	assert.Equal(t, api.BasePath+"/scanners/"+reg.UUID, r.Header.Get("Location"))
	assert.False(t, reg.IsDefault)
	assert.NotContains(t, string(r.Body), "tok", "credentials are never shown")
	e.do(admin(), http.MethodPost, "/scanners", req).fails(t, http.StatusConflict, "CONFLICT")
	e.do(admin(), http.MethodPost, "/scanners", api.ScannerRegistrationReq{Name: "x", URL: "nope"}).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(admin(), http.MethodGet, "/scanners/"+reg.UUID, nil).ok(t, http.StatusOK, &reg)
	e.do(admin(), http.MethodGet, "/scanners/nope", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
	// Harbor's list conventions: pages with X-Total-Count, sort, q.
	e.do(admin(), http.MethodPost, "/scanners", api.ScannerRegistrationReq{Name: "alpha", URL: "http://127.0.0.1:2"}).ok(t, http.StatusCreated, nil)
	assert.Equal(t, []string{"static", "ext", "alpha"}, walk(t, e, admin(), "/scanners?sort=-name", "name", 1))
	assert.Equal(t, []string{"alpha", "ext"}, walk(t, e, admin(), "/scanners?sort=name&"+q("name={ext alpha}"), "name", 1))
	assert.Equal(t, []string{"alpha"}, walk(t, e, admin(), "/scanners?"+q("url=~:2"), "name", 1))
	e.do(admin(), http.MethodGet, "/scanners?"+q("description={a b}"), nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(admin(), http.MethodGet, "/scanners?sort=vendor", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(admin(), http.MethodDelete, "/scanners/"+walk(t, e, admin(), "/scanners?"+q("name=alpha"), "uuid", 1)[0], nil).ok(t, http.StatusOK, nil)
	req.Description = "changed"
	req.AccessCredential = ""
	e.do(admin(), http.MethodPut, "/scanners/"+reg.UUID, req).ok(t, http.StatusOK, &reg)
	assert.Equal(t, "changed", reg.Description)
	// Adapters are not enabled in this env: the metadata call says so.
	e.do(admin(), http.MethodGet, "/scanners/"+reg.UUID+"/metadata", nil).fails(t, http.StatusPreconditionFailed, "PRECONDITION")
	var md api.ScannerAdapterMetadata
	e.do(admin(), http.MethodGet, "/scanners/builtin/metadata", nil).ok(t, http.StatusOK, &md)
	assert.Equal(t, "static", md.Scanner.Name)

	// The project's scanner.
	e.do(as("dave"), http.MethodGet, "/projects/p/scanner", nil).ok(t, http.StatusOK, &reg)
	assert.Equal(t, "builtin", reg.UUID)
	e.do(as("dave"), http.MethodPut, "/projects/p/scanner", api.ProjectScanner{UUID: regs[0].UUID}).fails(t, http.StatusForbidden, "FORBIDDEN")
	var ext api.ScannerRegistration
	e.do(admin(), http.MethodGet, "/scanners/"+strings.TrimPrefix(r.Header.Get("Location"), api.BasePath+"/scanners/"), nil).ok(t, http.StatusOK, &ext)
	e.do(as("alice"), http.MethodPut, "/projects/p/scanner", api.ProjectScanner{UUID: ext.UUID}).ok(t, http.StatusOK, nil)
	e.do(as("alice"), http.MethodPut, "/projects/p/scanner", api.ProjectScanner{UUID: "nope"}).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(as("dave"), http.MethodGet, "/projects/p/scanner", nil).ok(t, http.StatusOK, &reg)
	assert.Equal(t, "ext", reg.Name)

	e.do(admin(), http.MethodPatch, "/scanners/"+ext.UUID, api.IsDefault{IsDefault: true}).ok(t, http.StatusOK, nil)
	e.do(admin(), http.MethodGet, "/scanners", nil).ok(t, http.StatusOK, &regs)
	assert.True(t, regs[1].IsDefault)
	assert.False(t, regs[0].IsDefault)
	e.do(admin(), http.MethodDelete, "/scanners/"+ext.UUID, nil).ok(t, http.StatusOK, &reg)
	assert.Equal(t, "ext", reg.Name)
	e.do(admin(), http.MethodDelete, "/scanners/builtin", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")

	// The scan-all schedule.
	var sched api.ScanAllSchedule
	e.do(admin(), http.MethodGet, "/system/scanAll/schedule", nil).ok(t, http.StatusOK, &sched)
	assert.Equal(t, "None", sched.Schedule.Type)
	e.do(as("alice"), http.MethodPut, "/system/scanAll/schedule", api.ScanAllSchedule{Schedule: &api.ScanScheduleObj{Type: "Daily"}}).
		fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(admin(), http.MethodPut, "/system/scanAll/schedule", api.ScanAllSchedule{Schedule: &api.ScanScheduleObj{Type: "Custom", Cron: "61 * * * *"}}).
		fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(admin(), http.MethodPut, "/system/scanAll/schedule", api.ScanAllSchedule{Schedule: &api.ScanScheduleObj{Type: "Custom", Cron: "0 30 2 * * *"}}).
		ok(t, http.StatusOK, &sched)
	e.do(admin(), http.MethodGet, "/system/scanAll/schedule", nil).ok(t, http.StatusOK, &sched)
	assert.Equal(t, api.ScanScheduleObj{Type: "Custom", Cron: "0 30 2 * * *"}, *sched.Schedule)

	d := e.push("p/app", "1")
	var task api.ScanTaskInfo
	e.do(admin(), http.MethodPost, "/system/scanAll/now", nil).ok(t, http.StatusAccepted, &task)
	assert.Equal(t, "scan-all", task.ScanType)
	var m api.ScanAllMetrics
	require.Eventually(t, func() bool {
		e.do(admin(), http.MethodGet, "/scans/all/metrics", nil).ok(t, http.StatusOK, &m)
		return m.Task != nil && m.Task.ScanStatus == "Success"
	}, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, "MANUAL", m.Trigger)
	scanReport(t, e, admin(), "/projects/p/repositories/app/artifacts/"+d+"/additions/vulnerabilities")
	e.do(admin(), http.MethodPost, "/system/scanAll/schedule", api.ScanAllSchedule{Schedule: &api.ScanScheduleObj{Type: "Manual"}}).
		ok(t, http.StatusCreated, &task)
}

func TestScanOpenAPIValidates(t *testing.T) {
	e, _ := newScanEnv(t)
	r := e.do(anonymous, http.MethodGet, "/openapi.json", nil)
	require.Equal(t, http.StatusOK, r.Status)
	for _, p := range []string{`"/projects/{project_name}/repositories/{repository_name}/artifacts/{reference}/scan"`,
		`"/system/CVEAllowlist"`, `"/scanners/{registration_id}"`, `"VulnerabilityReport"`, `"NativeReportSummary"`} {
		assert.Contains(t, string(r.Body), p)
	}
	validateOpenAPI(t, r.Body)
}

// Scanning an index scans its image manifests.
func TestScanIndexAPI(t *testing.T) {
	e, _ := newScanEnv(t)
	e.project("m", false)
	idx, err := random.Index(128, 1, 2)
	require.NoError(t, err)
	ref, err := name.NewTag(e.host()+"/m/app:1", name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.WriteIndex(ref, idx, remote.WithContext(t.Context())))
	var task api.ScanTaskInfo
	e.do(admin(), http.MethodPost, "/projects/m/repositories/app/artifacts/1/scan", nil).ok(t, http.StatusAccepted, &task)
	require.Len(t, task.Children, 2)
	im, err := idx.IndexManifest()
	require.NoError(t, err)
	for _, m := range im.Manifests {
		scanReport(t, e, admin(), "/projects/m/repositories/app/artifacts/"+m.Digest.String()+"/additions/vulnerabilities")
	}
	// The index's overview is its images' together: counts summed.
	var art api.Artifact
	e.do(admin(), http.MethodGet, "/projects/m/repositories/app/artifacts/1?with_scan_overview=true", nil).ok(t, http.StatusOK, &art)
	require.Len(t, art.ScanOverview, 1)
	for _, o := range art.ScanOverview {
		assert.Equal(t, "Success", o.ScanStatus)
		assert.Equal(t, 100, o.CompletePercent)
		assert.Equal(t, "Critical", o.Severity)
		require.NotNil(t, o.Summary)
		assert.Equal(t, 6, o.Summary.Total, "3 findings in each of 2 images")
		assert.Equal(t, map[string]int{"Critical": 2, "High": 2, "Low": 2}, o.Summary.Summary)
	}
	e.do(admin(), http.MethodPost, "/projects/m/repositories/app/artifacts/1/scan", api.ScanType{ScanType: "sbom"}).
		fails(t, http.StatusPreconditionFailed, "PRECONDITION")
}
