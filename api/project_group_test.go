package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/project"
)

func TestProjectSummary(t *testing.T) {
	charts := map[string]int{"team": 3}
	e := newEnv(t, api.WithChartCounter(func(_ context.Context, p string) (int, error) { return charts[p], nil }))
	e.user("owner", "m", "d1", "d2", "g", "lg", "outsider")
	e.project("team", false, "owner=project-admin", "m=maintainer", "d1=developer", "d2=developer", "g=guest",
		"lg=limited-guest")
	_, err := e.projects.AddMember(t.Context(), project.Member{Project: "team", Subject: "group:ops", Role: project.RoleDeveloper})
	require.NoError(t, err)
	e.push("team/app", "v1")
	_, err = e.projects.Update(t.Context(), "team", func(p *project.Project) error {
		p.Metadata.StorageQuota = 1 << 30
		return nil
	})
	require.NoError(t, err)

	var s api.ProjectSummary
	e.do(as("lg"), http.MethodGet, "/projects/team/summary", nil).ok(t, http.StatusOK, &s)
	assert.Equal(t, int64(1), s.RepoCount)
	assert.Equal(t, int64(3), s.ChartCount)
	assert.Equal(t, []int64{1, 1, 3, 1, 1}, []int64{s.ProjectAdminCount, s.MaintainerCount, s.DeveloperCount, s.GuestCount,
		s.LimitedGuestCount})
	require.NotNil(t, s.Quota)
	assert.Equal(t, int64(1<<30), s.Quota.Hard["storage"])
	assert.Positive(t, s.Quota.Used["storage"])
	assert.Nil(t, s.Registry, "not a proxy cache")

	// chart_count in the project itself, from the same counter.
	var p api.Project
	e.do(as("lg"), http.MethodGet, "/projects/team", nil).ok(t, http.StatusOK, &p)
	assert.Equal(t, 3, p.ChartCount)

	e.do(as("outsider"), http.MethodGet, "/projects/team/summary", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(anonymous, http.MethodGet, "/projects/team/summary", nil).fails(t, http.StatusUnauthorized, "UNAUTHORIZED")
	e.do(as("owner"), http.MethodGet, "/projects/nope/summary", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
	e.do(as("owner"), http.MethodGet, "/projects/999/summary", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
}

// _deletable answers what deleteProject would, and deletes nothing.
func TestProjectDeletable(t *testing.T) {
	e := newEnv(t)
	e.user("owner", "dev")
	e.project("full", false, "owner=project-admin", "dev=developer")
	e.project("empty", false, "owner=project-admin")
	e.push("full/app", "v1")

	var d api.ProjectDeletable
	e.do(as("owner"), http.MethodGet, "/projects/full/_deletable", nil).ok(t, http.StatusOK, &d)
	assert.False(t, d.Deletable)
	assert.Contains(t, d.Message, "still holds 1 repositories")
	msg := e.do(as("owner"), http.MethodDelete, "/projects/full", nil).fails(t, http.StatusPreconditionFailed, "PRECONDITION")
	assert.Contains(t, msg, d.Message)

	var ok api.ProjectDeletable
	e.do(as("owner"), http.MethodGet, "/projects/empty/_deletable", nil).ok(t, http.StatusOK, &ok)
	assert.Equal(t, api.ProjectDeletable{Deletable: true}, ok)
	e.do(as("owner"), http.MethodGet, "/projects/empty", nil).ok(t, http.StatusOK, nil)

	e.do(as("dev"), http.MethodGet, "/projects/full/_deletable", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(anonymous, http.MethodGet, "/projects/full/_deletable", nil).fails(t, http.StatusUnauthorized, "UNAUTHORIZED")
	e.do(as("owner"), http.MethodGet, "/projects/missing/_deletable", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
	e.do(as("owner"), http.MethodDelete, "/projects/empty", nil).ok(t, http.StatusOK, nil)
}

func TestProjectMetadatas(t *testing.T) {
	e := newEnv(t)
	e.user("owner", "maint", "dev")
	e.project("team", false, "owner=project-admin", "maint=maintainer", "dev=developer")

	var md map[string]string
	e.do(as("maint"), http.MethodGet, "/projects/team/metadatas/", nil).ok(t, http.StatusOK, &md)
	assert.Equal(t, map[string]string{"public": "false", "enable_content_trust": "false", "enable_content_trust_cosign": "false",
		"content_trust": "", "prevent_vul": "false", "severity": "", "auto_scan": "false", "reuse_sys_cve_allowlist": "false",
		"auto_sbom_generation": "false"}, md)
	// Without the trailing slash, the router sends the client to it.
	var again map[string]string
	e.do(as("maint"), http.MethodGet, "/projects/team/metadatas", nil).ok(t, http.StatusOK, &again)
	assert.Equal(t, md, again)
	e.do(as("maint"), http.MethodGet, "/projects/team/metadatas/a/b", nil).fails(t, http.StatusNotFound, "NOT_FOUND")

	e.do(as("owner"), http.MethodPost, "/projects/team/metadatas/",
		map[string]string{"auto_scan": "true", "severity": "High", "public": "true", "auto_sbom_generation": "true"}).
		ok(t, http.StatusOK, nil)
	var one map[string]string
	e.do(as("maint"), http.MethodGet, "/projects/team/metadatas/severity", nil).ok(t, http.StatusOK, &one)
	assert.Equal(t, map[string]string{"severity": "high"}, one)
	p, err := e.projects.Get(t.Context(), "team")
	require.NoError(t, err)
	assert.True(t, p.Public)
	assert.True(t, p.Metadata.AutoScan)
	assert.Equal(t, "true", p.Metadata.Extra["auto_sbom_generation"], "where the scanner reads it")

	e.do(as("owner"), http.MethodPut, "/projects/team/metadatas/prevent_vul", map[string]string{"prevent_vul": "true"}).
		ok(t, http.StatusOK, nil)
	one = nil
	e.do(as("maint"), http.MethodGet, "/projects/team/metadatas/prevent_vul", nil).ok(t, http.StatusOK, &one)
	assert.Equal(t, map[string]string{"prevent_vul": "true"}, one)
	e.do(as("owner"), http.MethodDelete, "/projects/team/metadatas/auto_scan", nil).ok(t, http.StatusOK, nil)
	e.do(as("owner"), http.MethodDelete, "/projects/team/metadatas/public", nil).ok(t, http.StatusOK, nil)
	e.do(as("owner"), http.MethodDelete, "/projects/team/metadatas/auto_sbom_generation", nil).ok(t, http.StatusOK, nil)
	p, err = e.projects.Get(t.Context(), "team")
	require.NoError(t, err)
	assert.False(t, p.Public)
	assert.False(t, p.Metadata.AutoScan)
	assert.True(t, p.Metadata.PreventVulnerable)
	assert.Empty(t, p.Metadata.Extra)

	// Permissions: maintainers read, project admins write.
	e.do(as("dev"), http.MethodGet, "/projects/team/metadatas/", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(as("maint"), http.MethodPut, "/projects/team/metadatas/auto_scan", map[string]string{"auto_scan": "true"}).
		fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(anonymous, http.MethodPost, "/projects/team/metadatas/", map[string]string{"auto_scan": "true"}).
		fails(t, http.StatusUnauthorized, "UNAUTHORIZED")

	bad := []struct {
		name, method, path string
		body               any
		status             int
	}{
		{"not a boolean", http.MethodPut, "/auto_scan", map[string]string{"auto_scan": "yes please"}, 400},
		{"body names another", http.MethodPut, "/auto_scan", map[string]string{"prevent_vul": "true"}, 400},
		{"two in a PUT", http.MethodPut, "/auto_scan", map[string]string{"auto_scan": "true", "prevent_vul": "true"}, 400},
		{"unknown name", http.MethodPost, "/", map[string]string{"colour": "blue"}, 400},
		{"read-only", http.MethodPost, "/", map[string]string{"retention_id": "7"}, 400},
		{"bad severity", http.MethodPost, "/", map[string]string{"severity": "apocalyptic"}, 400},
		{"not strings", http.MethodPost, "/", `{"auto_scan": true}`, 400},
		{"empty", http.MethodPost, "/", map[string]string{}, 400},
		{"proxy speed outside a proxy", http.MethodPost, "/", map[string]string{"proxy_speed_kb": "100"}, 400},
		{"signers by name", http.MethodPost, "/", map[string]string{"content_trust": "signers"}, 400},
		{"delete read-only", http.MethodDelete, "/retention_id", nil, 400},
		{"delete unknown", http.MethodDelete, "/colour", nil, 404},
		{"get unknown", http.MethodGet, "/colour", nil, 404},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(as("owner"), tt.method, "/projects/team/metadatas"+tt.path, tt.body)
			assert.Equal(t, tt.status, r.Status, "%s", r.Body)
		})
	}
	// A refused request changed nothing.
	after, err := e.projects.Get(t.Context(), "team")
	require.NoError(t, err)
	assert.Equal(t, p.Metadata, after.Metadata)
}

// A proxy cache project's summary names the registry it caches, and its
// metadata includes proxy_speed_kb, set with the same rules.
func TestProjectSummaryOfProxyCache(t *testing.T) {
	e := replEnv(t)
	r := e.do(admin(), http.MethodPost, "/registries", api.Registry{Name: "hub", URL: "https://registry-1.docker.io", Type: "docker-hub"})
	r.ok(t, http.StatusCreated, nil)
	var regs []api.Registry
	e.do(admin(), http.MethodGet, "/registries", nil).ok(t, http.StatusOK, &regs)
	require.Len(t, regs, 1)
	e.do(admin(), http.MethodPost, "/projects", map[string]any{"project_name": "hub", "registry_id": regs[0].ID}).
		ok(t, http.StatusCreated, nil)

	var s api.ProjectSummary
	e.do(admin(), http.MethodGet, "/projects/hub/summary", nil).ok(t, http.StatusOK, &s)
	require.NotNil(t, s.Registry)
	assert.Equal(t, regs[0].ID, s.Registry.ID)
	assert.Equal(t, "hub", s.Registry.Name)

	var md map[string]string
	e.do(admin(), http.MethodGet, "/projects/hub/metadatas/", nil).ok(t, http.StatusOK, &md)
	assert.Equal(t, "-1", md["proxy_speed_kb"])
	e.do(admin(), http.MethodPut, "/projects/hub/metadatas/proxy_speed_kb", map[string]string{"proxy_speed_kb": "512"}).
		ok(t, http.StatusOK, nil)
	e.do(admin(), http.MethodPut, "/projects/hub/metadatas/proxy_speed_kb", map[string]string{"proxy_speed_kb": "-7"}).
		fails(t, http.StatusBadRequest, "BAD_REQUEST")
	var one map[string]string
	e.do(admin(), http.MethodGet, "/projects/hub/metadatas/proxy_speed_kb", nil).ok(t, http.StatusOK, &one)
	assert.Equal(t, map[string]string{"proxy_speed_kb": "512"}, one)
}
