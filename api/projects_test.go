package api_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/auth"
)

func TestProjectCreate(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	// Only system administrators set quotas; sending the default is fine.
	e.do(as("alice"), http.MethodPost, "/projects", map[string]any{"project_name": "team", "storage_limit": 1 << 30}).
		fails(t, 403, "FORBIDDEN")
	r := e.do(as("alice"), http.MethodPost, "/projects", map[string]any{
		"project_name": "team", "metadata": map[string]string{"public": "false", "auto_scan": "true", "severity": "High"},
		"storage_limit": -1})
	r.ok(t, http.StatusCreated, nil)
	e.do(admin(), http.MethodPut, "/projects/team", map[string]any{"storage_limit": 1 << 30}).ok(t, http.StatusOK, nil)
	var p api.Project
	e.do(as("alice"), http.MethodGet, "/projects/team", nil).ok(t, http.StatusOK, &p)
	assert.Equal(t, r.Header.Get("Location"), api.BasePath+"/projects/"+strconv.FormatInt(p.ProjectID, 10))
	assert.Equal(t, "team", p.Name)
	assert.Equal(t, "alice", p.OwnerName)
	assert.Equal(t, []int{1}, p.CurrentUserRoleIDs, "the creator is project admin")
	assert.Equal(t, int64(1<<30), p.StorageLimit)
	assert.Equal(t, "false", *p.Metadata.Public)
	assert.Equal(t, "true", *p.Metadata.AutoScan)
	assert.Equal(t, "high", *p.Metadata.Severity)
	assert.Equal(t, "false", *p.Metadata.PreventVul)

	r = e.do(as("alice"), http.MethodPost, "/projects", map[string]any{"project_name": "named", "public": true},
		"X-Resource-Name-In-Location", "true")
	r.ok(t, http.StatusCreated, nil)
	assert.Equal(t, api.BasePath+"/projects/named", r.Header.Get("Location"))

	tests := []struct {
		name   string
		who    cred
		body   any
		status int
		code   string
	}{
		{"anonymous", anonymous, map[string]any{"project_name": "x"}, 401, "UNAUTHORIZED"},
		{"taken", as("alice"), map[string]any{"project_name": "team"}, 409, "CONFLICT"},
		{"bad name", as("alice"), map[string]any{"project_name": "-x"}, 400, "BAD_REQUEST"},
		{"no name", as("alice"), map[string]any{}, 400, "BAD_REQUEST"},
		{"bad boolean", as("alice"), map[string]any{"project_name": "x", "metadata": map[string]string{"public": "maybe"}}, 400, "BAD_REQUEST"},
		{"bad severity", as("alice"), map[string]any{"project_name": "x", "metadata": map[string]string{"severity": "dire"}}, 400, "BAD_REQUEST"},
		{"proxy cache by a user", as("alice"), map[string]any{"project_name": "x", "registry_id": 1}, 403, "FORBIDDEN"},
		{"proxy cache without registries", admin(), map[string]any{"project_name": "x", "registry_id": 1}, 400, "BAD_REQUEST"},
		{"proxy speed of a plain project", admin(), map[string]any{"project_name": "x", "metadata": map[string]string{"proxy_speed_kb": "100"}}, 400, "BAD_REQUEST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.do(tt.who, http.MethodPost, "/projects", tt.body).fails(t, tt.status, tt.code)
		})
	}
}

func TestProjectCreationAdminOnly(t *testing.T) {
	e := newEnv(t, api.WithProjectCreationRestriction(api.CreationAdminOnly))
	e.user("alice")
	msg := e.do(as("alice"), http.MethodPost, "/projects", map[string]any{"project_name": "x"}).fails(t, 403, "FORBIDDEN")
	assert.Contains(t, msg, "only system administrators")
	e.do(admin(), http.MethodPost, "/projects", map[string]any{"project_name": "x"}).ok(t, http.StatusCreated, nil)
}

func TestProjectVisibility(t *testing.T) {
	e := newEnv(t)
	e.user("alice", "bob")
	e.project("library", true)
	e.project("secret", false, "alice=developer")
	e.project("other", false)

	tests := []struct {
		name  string
		who   cred
		query string
		want  []string
	}{
		{"anonymous sees public projects", anonymous, "", []string{"library"}},
		{"anonymous asking for private ones", anonymous, "?public=false", []string{}},
		{"a member sees public projects and its own", as("alice"), "", []string{"library", "secret"}},
		{"a non-member sees public projects", as("bob"), "", []string{"library"}},
		{"a system admin sees everything", admin(), "", []string{"library", "other", "secret"}},
		{"public filter", admin(), "?public=false", []string{"other", "secret"}},
		{"q public", admin(), "?q=public%3Dtrue", []string{"library"}},
		{"name contains", admin(), "?name=e", []string{"other", "secret"}},
		{"q fuzzy name", admin(), "?q=name%3D~ret", []string{"secret"}},
		{"q exact name", admin(), "?q=name%3Dsecret", []string{"secret"}},
		{"q exact name not visible", as("bob"), "?q=name%3Dsecret", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.who, http.MethodGet, "/projects"+tt.query, nil)
			assert.Equal(t, tt.want, names(t, r, "name"))
			assert.Equal(t, strconv.Itoa(len(tt.want)), r.Header.Get("X-Total-Count"))
		})
	}

	reads := []struct {
		who    cred
		path   string
		status int
	}{
		{anonymous, "/projects/library", 200},
		{anonymous, "/projects/secret", 401},
		{as("bob"), "/projects/secret", 403},
		{as("alice"), "/projects/secret", 200},
		{admin(), "/projects/other", 200},
		{as("bob"), "/projects/nope", 404},
	}
	for _, tt := range reads {
		r := e.do(tt.who, http.MethodGet, tt.path, nil)
		assert.Equal(t, tt.status, r.Status, "%s %s: %s", tt.who.user, tt.path, r.Body)
	}
	t.Run("bad q", func(t *testing.T) {
		e.do(admin(), http.MethodGet, "/projects?q=owner%3Dx", nil).fails(t, 400, "BAD_REQUEST")
		e.do(admin(), http.MethodGet, "/projects?public=perhaps", nil).fails(t, 400, "BAD_REQUEST")
	})
}

func TestProjectByID(t *testing.T) {
	e := newEnv(t)
	e.project("library", true)
	e.project("123", true) // a name of digits
	var p api.Project
	e.do(anonymous, http.MethodGet, "/projects/1", nil).ok(t, http.StatusOK, &p)
	assert.Equal(t, "library", p.Name)
	e.do(anonymous, http.MethodGet, "/projects/123", nil).fails(t, 404, "NOT_FOUND")
	e.do(anonymous, http.MethodGet, "/projects/123", nil, "X-Is-Resource-Name", "true").ok(t, http.StatusOK, &p)
	assert.Equal(t, "123", p.Name)
}

func TestProjectHead(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	e.project("secret", false)
	assert.Equal(t, 200, e.do(as("alice"), http.MethodHead, "/projects?project_name=secret", nil).Status)
	assert.Equal(t, 404, e.do(as("alice"), http.MethodHead, "/projects?project_name=nope", nil).Status)
	assert.Equal(t, 400, e.do(as("alice"), http.MethodHead, "/projects", nil).Status)
	assert.Equal(t, 401, e.do(anonymous, http.MethodHead, "/projects?project_name=secret", nil).Status)
}

func TestProjectUpdate(t *testing.T) {
	e := newEnv(t)
	e.user("owner", "dev")
	e.project("team", false, "owner=project-admin", "dev=developer")

	e.do(as("dev"), http.MethodPut, "/projects/team", map[string]any{"public": true}).fails(t, 403, "FORBIDDEN")
	e.do(as("owner"), http.MethodPut, "/projects/team", map[string]any{
		"metadata": map[string]string{"public": "true", "prevent_vul": "true", "severity": "critical", "enable_content_trust": "true"},
	}).ok(t, http.StatusOK, nil)
	var p api.Project
	e.do(anonymous, http.MethodGet, "/projects/team", nil).ok(t, http.StatusOK, &p)
	assert.Equal(t, "true", *p.Metadata.Public)
	assert.Equal(t, "true", *p.Metadata.PreventVul)
	assert.Equal(t, "critical", *p.Metadata.Severity)
	assert.Equal(t, "true", *p.Metadata.EnableContentTrust)
	assert.Equal(t, "enabled", *p.Metadata.ContentTrust)
	assert.Equal(t, "false", *p.Metadata.AutoScan, "fields left out are kept")

	e.do(as("owner"), http.MethodPut, "/projects/team", map[string]any{"project_name": "renamed"}).fails(t, 400, "BAD_REQUEST")
	e.do(admin(), http.MethodPut, "/projects/team", map[string]any{"storage_limit": -7}).fails(t, 400, "BAD_REQUEST")
	e.do(as("owner"), http.MethodPut, "/projects/team", map[string]any{"storage_limit": 1 << 20}).fails(t, 403, "FORBIDDEN")
	e.do(as("owner"), http.MethodPut, "/projects/team", map[string]any{"storage_limit": -1}).ok(t, http.StatusOK, nil)
	e.do(as("owner"), http.MethodPut, "/projects/nope", map[string]any{}).fails(t, 404, "NOT_FOUND")
}

func TestProjectDelete(t *testing.T) {
	e := newEnv(t)
	e.user("owner", "maint")
	e.project("team", false, "owner=project-admin", "maint=maintainer")
	e.push("team/app", "v1")

	e.do(as("maint"), http.MethodDelete, "/projects/team", nil).fails(t, 403, "FORBIDDEN")
	msg := e.do(as("owner"), http.MethodDelete, "/projects/team", nil).fails(t, 412, "PRECONDITION")
	assert.Contains(t, msg, "still holds 1 repositories")

	e.do(as("owner"), http.MethodDelete, "/projects/team/repositories/app", nil).ok(t, http.StatusOK, nil)
	e.do(as("owner"), http.MethodDelete, "/projects/team", nil).ok(t, http.StatusOK, nil)
	e.do(admin(), http.MethodGet, "/projects/team", nil).fails(t, 404, "NOT_FOUND")
	e.do(admin(), http.MethodDelete, "/projects/team", nil).fails(t, 404, "NOT_FOUND")
}

func TestProjectRepoCount(t *testing.T) {
	e := newEnv(t)
	e.project("library", true)
	e.push("library/a", "v1")
	e.push("library/b/c", "v1")
	var p api.Project
	e.do(anonymous, http.MethodGet, "/projects/library", nil).ok(t, http.StatusOK, &p)
	require.Equal(t, 2, p.RepoCount)
	assert.Equal(t, []int{}, p.CurrentUserRoleIDs)
}

// A deleted project's name leaves system robots' permissions, so a new
// project of that name grants them nothing.
func TestProjectDeleteStripsSystemRobotPermissions(t *testing.T) {
	e := newEnv(t)
	e.project("gone", false)
	e.project("kept", false)
	ctx := t.Context()
	_, _, err := e.robots.Create(ctx, auth.Robot{Name: "sys", Level: auth.RobotSystem, Permissions: []auth.RobotPermission{
		{Project: "gone", Resource: "repository", Action: "pull"},
		{Project: "kept", Resource: "repository", Action: "pull"},
		{Project: "*", Resource: "repository", Action: "list"}}})
	require.NoError(t, err)
	e.do(admin(), http.MethodDelete, "/projects/gone", nil).ok(t, http.StatusOK, nil)
	r, err := e.robots.Get(ctx, auth.RobotName("", "sys"))
	require.NoError(t, err)
	kept, err := e.projects.Get(ctx, "kept")
	require.NoError(t, err)
	assert.Equal(t, []auth.RobotPermission{
		{Project: "kept", ProjectID: kept.ID, Resource: "repository", Action: "pull"},
		{Project: "*", Resource: "repository", Action: "list"}}, r.Permissions)

	// Created again, the name is another project: the robot gains nothing
	// there even with its old permission put back by name only.
	e.project("gone", false)
	stale := append(r.Permissions, auth.RobotPermission{Project: "gone", ProjectID: 1, Resource: "repository", Action: "push"})
	_, err = e.robots.Update(ctx, r.Name, auth.RobotUpdate{Permissions: &stale})
	require.NoError(t, err)
	again, err := e.robots.Get(ctx, r.Name)
	require.NoError(t, err)
	gone, err := e.projects.Get(ctx, "gone")
	require.NoError(t, err)
	assert.Equal(t, gone.ID, again.Permissions[2].ProjectID, "the store resolves the name as it is now")
}

// TestProjectListSort: Harbor's sort on the project listing, in SQL, over
// the whole listing.
func TestProjectListSort(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"b", "c", "a"} {
		e.project(n, true)
		time.Sleep(2 * time.Millisecond) // distinct creation times
	}
	list := func(q string) []string {
		return names(t, e.do(admin(), http.MethodGet, "/projects?"+q, nil), "name")
	}
	assert.Equal(t, []string{"a", "b", "c"}, list(""))
	assert.Equal(t, []string{"c", "b"}, list("sort=-name&page_size=2"))
	assert.Equal(t, []string{"b", "c", "a"}, list("sort=creation_time"))
	assert.Equal(t, []string{"a", "c"}, list("sort=-creation_time&page_size=2"))
	e.do(admin(), http.MethodGet, "/projects?sort=owner", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(admin(), http.MethodGet, "/projects?sort=name,-update_time", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
}
