package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
)

func TestCurrentUserPermissions(t *testing.T) {
	e := newEnv(t)
	e.user("alice", "bob")
	e.project("team", false, "alice=developer")
	team, err := e.projects.Get(t.Context(), "team")
	require.NoError(t, err)
	scope := fmt.Sprint("/project/", team.ID)

	perms := func(who cred, query string) []api.Permission {
		t.Helper()
		var out []api.Permission
		e.do(who, http.MethodGet, "/users/current/permissions"+query, nil).ok(t, http.StatusOK, &out)
		return out
	}
	rel := perms(as("alice"), "?relative=true&scope="+scope)
	assert.Contains(t, rel, api.Permission{Resource: "repository", Action: "push"})
	assert.Contains(t, rel, api.Permission{Resource: "repository", Action: "pull"})
	assert.NotContains(t, rel, api.Permission{Resource: "repository", Action: "delete"}, "developers do not delete")
	assert.NotContains(t, rel, api.Permission{Resource: "member", Action: "create"})
	full := perms(as("alice"), "?scope="+scope)
	assert.Len(t, full, len(rel))
	assert.Contains(t, full, api.Permission{Resource: scope + "/repository", Action: "push"})
	assert.Equal(t, rel, perms(as("alice"), "?relative=true&scope=/project/team"), "a project name works too")

	adminRel := perms(admin(), "?relative=true&scope="+scope)
	assert.Contains(t, adminRel, api.Permission{Resource: "repository", Action: "delete"})
	assert.Greater(t, len(adminRel), len(rel))

	assert.Empty(t, perms(as("bob"), "?scope="+scope), "not a member of a private project")
	assert.Empty(t, perms(as("alice"), "?scope=/project/999"), "an unknown project")
	assert.Empty(t, perms(as("alice"), ""), "system: only admins hold anything")
	assert.Empty(t, perms(as("alice"), "?scope=/"))
	sys := perms(admin(), "")
	assert.Contains(t, sys, api.Permission{Resource: "/system/user", Action: "create"})
	assert.Contains(t, perms(admin(), "?scope=/&relative=true"), api.Permission{Resource: "user", Action: "create"})

	e.do(anonymous, http.MethodGet, "/users/current/permissions", nil).fails(t, 401, "UNAUTHORIZED")
	for _, q := range []string{"?scope=/projects/1", "?scope=/project/", "?scope=/project/1/repository", "?relative=maybe"} {
		e.do(as("alice"), http.MethodGet, "/users/current/permissions"+q, nil).fails(t, 400, "BAD_REQUEST")
	}
}

func TestGetPermissions(t *testing.T) {
	e := newEnv(t)
	e.user("alice", "bob")
	e.project("team", false, "alice=project-admin", "bob=developer")

	var p api.Permissions
	e.do(admin(), http.MethodGet, "/permissions", nil).ok(t, http.StatusOK, &p)
	assert.Empty(t, p.System)
	assert.NotNil(t, p.System, "an empty list, not null")
	assert.Contains(t, p.Project, api.Permission{Resource: "repository", Action: "pull"})
	assert.Contains(t, p.Project, api.Permission{Resource: "artifact", Action: "delete"})
	var alice api.Permissions
	e.do(as("alice"), http.MethodGet, "/permissions", nil).ok(t, http.StatusOK, &alice)
	assert.Equal(t, p, alice, "a project admin may create robots, so sees the catalogue")

	// Every permission listed is one a robot may be created with.
	var access []string
	for _, perm := range p.Project {
		access = append(access, perm.Resource+":"+perm.Action)
	}
	e.do(as("alice"), http.MethodPost, "/robots", robotBody("all", "team", 30, access...)).ok(t, http.StatusCreated, nil)

	e.do(as("bob"), http.MethodGet, "/permissions", nil).fails(t, 403, "FORBIDDEN")
	e.do(anonymous, http.MethodGet, "/permissions", nil).fails(t, 401, "UNAUTHORIZED")
	e.do(admin(), http.MethodPost, "/permissions", "{}").fails(t, 405, "METHOD_NOT_ALLOWED")
}
