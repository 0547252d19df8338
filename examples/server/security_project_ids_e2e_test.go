package main

// End-to-end check of the name-reuse finding against the real server with
// auth on: a project deleted and created again under its name, by someone
// else, sees nothing of the old one.

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
)

// apiAs sends a management API request as auth (a basicAuth pair), with
// body as JSON when not nil.
func (s *serverProc) apiAs(t *testing.T, auth []string, method, path string, body any) response {
	t.Helper()
	var b []byte
	if body != nil {
		var err error
		b, err = json.Marshal(body)
		require.NoError(t, err)
		auth = append([]string{"Content-Type", "application/json"}, auth...)
	}
	return s.do(method, api.BasePath+path, b, auth...)
}

func TestSecurityDeletedProjectNameStartsClean(t *testing.T) {
	s := startSecureServer(t)
	const alicePass, malloryPass, bobPass = "alice-password-1", "mallory-password-1", "bob-password-1"
	for _, u := range [][2]string{{"alice", alicePass}, {"mallory", malloryPass}, {"bob", bobPass}} {
		s.mustAdminAPI(t, http.MethodPost, "/users", api.UserCreationReq{Username: u[0], Password: u[1],
			Email: u[0] + "@berth.test", Realname: u[0]}, http.StatusCreated)
	}
	alice, mallory := basicAuth("alice", alicePass), basicAuth("mallory", malloryPass)
	must := func(r response, want int, what string) response {
		t.Helper()
		require.Equal(t, want, r.status, "%s: %s", what, r.body)
		return r
	}

	// alice's project, filled: an image, a chart, a robot, a member, a
	// trust policy and scan settings.
	private := false
	must(s.apiAs(t, alice, http.MethodPost, "/projects", api.ProjectReq{ProjectName: "shared", Public: &private}), http.StatusCreated, "create")
	layer, config := randomBytes(512), imageConfig("amd64")
	s.pushBlobAs(t, alice, "shared/app", layer)
	s.pushBlobAs(t, alice, "shared/app", config)
	must(s.do(http.MethodPut, "/v2/shared/app/manifests/1", imageManifest(t, config, layer),
		append([]string{"Content-Type", manifestType}, alice...)...), http.StatusCreated, "push manifest")
	must(s.do(http.MethodPost, "/api/chartrepo/shared/charts", chartArchive(t, "secret-chart", "0.1.0"), alice...),
		http.StatusCreated, "upload chart")
	robot := must(s.apiAs(t, alice, http.MethodPost, "/robots", api.RobotCreate{Name: "ci", Level: "project",
		Permissions: []api.RobotPermission{{Kind: "project", Namespace: "shared",
			Access: []api.RobotAccess{{Resource: "repository", Action: "pull"}}}}}), http.StatusCreated, "robot")
	var created api.RobotCreated
	require.NoError(t, json.Unmarshal(robot.body, &created))
	must(s.apiAs(t, alice, http.MethodPost, "/projects/shared/members", api.ProjectMember{RoleID: 3,
		MemberUser: &api.UserEntity{Username: "bob"}}), http.StatusCreated, "member")
	must(s.apiAs(t, alice, http.MethodPut, "/projects/shared/trust/policy", api.TrustPolicy{Mode: "any"}), http.StatusOK, "trust policy")
	must(s.apiAs(t, alice, http.MethodPut, "/projects/shared/cve-allowlist",
		api.CVEAllowlist{Items: []api.CVEAllowlistItem{{CVEID: "CVE-2024-1111"}}}), http.StatusOK, "allowlist")

	// Not deletable while it holds a repository, then while it holds a
	// chart (which once counted as empty).
	r := must(s.apiAs(t, alice, http.MethodDelete, "/projects/shared", nil), http.StatusPreconditionFailed, "delete with a repository")
	assert.Contains(t, string(r.body), "repositories")
	must(s.apiAs(t, alice, http.MethodDelete, "/projects/shared/repositories/app", nil), http.StatusOK, "delete repository")
	r = must(s.apiAs(t, alice, http.MethodDelete, "/projects/shared", nil), http.StatusPreconditionFailed, "delete with a chart")
	assert.Contains(t, string(r.body), "Helm chart")
	must(s.do(http.MethodDelete, "/api/chartrepo/shared/charts/secret-chart/0.1.0", nil, alice...), http.StatusOK, "delete chart")
	must(s.apiAs(t, alice, http.MethodDelete, "/projects/shared", nil), http.StatusOK, "delete")

	// mallory takes the name.
	must(s.apiAs(t, mallory, http.MethodPost, "/projects", api.ProjectReq{ProjectName: "shared", Public: &private}), http.StatusCreated, "re-create")
	r = must(s.do(http.MethodGet, "/api/chartrepo/shared/charts", nil, mallory...), http.StatusOK, "charts")
	assert.Equal(t, "{}", strings.TrimSpace(string(r.body)), "no charts")
	r = must(s.do(http.MethodGet, "/chartrepo/shared/index.yaml", nil, mallory...), http.StatusOK, "index")
	assert.NotContains(t, string(r.body), "secret-chart")
	must(s.do(http.MethodGet, "/chartrepo/shared/charts/secret-chart-0.1.0.tgz", nil, mallory...), http.StatusNotFound, "old archive")

	var logs []api.AuditLog
	waitFor(t, 10*time.Second, "the new project's creation in its log", func() bool { // the audit log is written in batches
		require.NoError(t, json.Unmarshal(must(s.apiAs(t, mallory, http.MethodGet, "/projects/shared/logs?page_size=100", nil),
			http.StatusOK, "logs").body, &logs))
		return len(logs) > 0
	})
	for _, l := range logs {
		assert.Equal(t, "mallory", l.Username, "only the new project's history: %+v", l)
	}

	var robots []api.Robot
	require.NoError(t, json.Unmarshal(must(s.apiAs(t, mallory, http.MethodGet, "/robots?q=level=project,project=shared", nil),
		http.StatusOK, "robots").body, &robots))
	assert.Empty(t, robots)
	must(s.do(http.MethodGet, "/v2/", nil, basicAuth(created.Name, created.Secret)...), http.StatusUnauthorized, "old robot")

	var members []api.ProjectMemberEntity
	require.NoError(t, json.Unmarshal(must(s.apiAs(t, mallory, http.MethodGet, "/projects/shared/members", nil),
		http.StatusOK, "members").body, &members))
	for _, m := range members {
		assert.NotEqual(t, "bob", m.EntityName, "the old project's member")
	}
	must(s.apiAs(t, basicAuth("bob", bobPass), http.MethodGet, "/projects/shared", nil), http.StatusForbidden, "bob sees nothing")

	var pol api.TrustPolicyResp
	require.NoError(t, json.Unmarshal(must(s.apiAs(t, mallory, http.MethodGet, "/projects/shared/trust/policy", nil),
		http.StatusOK, "trust policy").body, &pol))
	assert.True(t, pol.Inherited, "no policy of its own")
	var al api.CVEAllowlist
	require.NoError(t, json.Unmarshal(must(s.apiAs(t, mallory, http.MethodGet, "/projects/shared/cve-allowlist", nil),
		http.StatusOK, "allowlist").body, &al))
	assert.Empty(t, al.Items)
}
