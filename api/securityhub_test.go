package api_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/project"
)

// scanned pushes repo:tag, scans it and waits for its report; it returns
// the image's digest.
func scanned(t *testing.T, e *env, projectName, repo, tag string) string {
	t.Helper()
	d := e.push(projectName+"/"+repo, tag)
	art := "/projects/" + projectName + "/repositories/" + repo + "/artifacts/" + d
	e.do(admin(), http.MethodPost, art+"/scan", nil).ok(t, http.StatusAccepted, nil)
	scanReport(t, e, admin(), art+"/additions/vulnerabilities")
	return d
}

func TestSecuritySummaryAPI(t *testing.T) {
	e, _ := newScanEnv(t)
	e.user("alice")
	e.project("p", false, "alice="+project.RoleProjectAdmin)
	e.project("q", false)
	d1 := scanned(t, e, "p", "app", "1")
	scanned(t, e, "q", "web", "2")
	e.push("q/idle", "1") // never scanned

	var s api.SecuritySummary
	e.do(admin(), http.MethodGet, "/security/summary", nil).ok(t, http.StatusOK, &s)
	assert.Equal(t, api.SecuritySummary{TotalArtifact: 3, ScannedCnt: 2, TotalVuls: 6, CriticalCnt: 2, HighCnt: 2, LowCnt: 2,
		FixableCnt: 2}, s)

	e.do(admin(), http.MethodGet, "/security/summary?with_dangerous_cve=true&with_dangerous_artifact=true", nil).ok(t, http.StatusOK, &s)
	require.Len(t, s.DangerousCves, 1, "one CVE in one package version, found twice")
	assert.Equal(t, api.DangerousCVE{CVEID: "CVE-2024-0001", Severity: "Critical", CvssScoreV3: 9.8, Package: "openssl", Version: "3.0.1"},
		s.DangerousCves[0])
	require.Len(t, s.DangerousArtifacts, 2)
	p, err := e.projects.Get(t.Context(), "p")
	require.NoError(t, err)
	assert.Equal(t, api.DangerousArtifact{ProjectID: p.ID, RepositoryName: "p/app", Digest: d1, CriticalCnt: 1, HighCnt: 1},
		s.DangerousArtifacts[0])

	e.do(as("alice"), http.MethodGet, "/security/summary", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(anonymous, http.MethodGet, "/security/summary", nil).fails(t, http.StatusUnauthorized, "UNAUTHORIZED")
	e.do(admin(), http.MethodGet, "/security/summary?with_dangerous_cve=maybe", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
}

func TestListSecurityVulnerabilitiesAPI(t *testing.T) {
	e, _ := newScanEnv(t)
	e.user("alice")
	e.project("p", false, "alice="+project.RoleProjectAdmin)
	e.project("q", false)
	d1 := scanned(t, e, "p", "app", "1")
	scanned(t, e, "q", "web", "2")
	p, err := e.projects.Get(t.Context(), "p")
	require.NoError(t, err)
	pid := strconv.FormatInt(p.ID, 10)

	list := func(query string) ([]api.SecurityVulnerability, string) {
		t.Helper()
		var out []api.SecurityVulnerability
		r := e.do(admin(), http.MethodGet, "/security/vul"+query, nil)
		r.ok(t, http.StatusOK, &out)
		return out, r.Header.Get("X-Total-Count")
	}
	all, total := list("?page_size=0")
	assert.Equal(t, "6", total)
	assert.Len(t, all, 6)
	_, total = list("?tune_count=true")
	assert.Equal(t, "6", total, "tune_count counts up to 1000")

	vs, total := list("?q=" + urlq("project_id="+pid+",severity=Critical") + "&with_tag=true")
	assert.Equal(t, "1", total)
	require.Len(t, vs, 1)
	assert.Equal(t, api.SecurityVulnerability{ProjectID: p.ID, RepositoryName: "p/app", Digest: d1, Tags: []string{"1"},
		CVEID: "CVE-2024-0001", Severity: "Critical", CvssV3Score: 9.8, Package: "openssl", Version: "3.0.1", FixedVersion: "3.0.2",
		Links: []string{}}, vs[0])

	vs, _ = list("?q=" + urlq("cvss_score_v3=[9~10]"))
	assert.Len(t, vs, 2)
	vs, _ = list("?q=" + urlq("repository_name=q/web,package=zlib"))
	require.Len(t, vs, 1)
	assert.Equal(t, "CVE-2024-0002", vs[0].CVEID)
	assert.Empty(t, vs[0].Tags, "tags only with with_tag")
	vs, _ = list("?q=" + urlq("tag=2,cve_id=CVE-2024-0003"))
	require.Len(t, vs, 1)
	assert.Equal(t, "q/web", vs[0].RepositoryName)
	vs, total = list("?q=" + urlq("project_id=99999"))
	assert.Empty(t, vs)
	assert.Equal(t, "0", total)

	// Pages: 6 findings in pages of 4.
	vs, total = list("?page=2&page_size=4")
	assert.Len(t, vs, 2)
	assert.Equal(t, "6", total)

	e.do(as("alice"), http.MethodGet, "/security/vul", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	for _, bad := range []string{"?q=" + urlq("cvss_score_v3=[a~9]"), "?q=" + urlq("severity=awful"),
		"?q=" + urlq("project_id=abc"), "?q=" + urlq("color=red"), "?tune_count=perhaps", "?page_size=-1"} {
		e.do(admin(), http.MethodGet, "/security/vul"+bad, nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	}
}

// urlq encodes a q parameter.
func urlq(q string) string { return url.QueryEscape(q) }
