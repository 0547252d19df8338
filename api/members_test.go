package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
)

func TestMemberRoles(t *testing.T) {
	e := newEnv(t)
	e.user("owner", "u1", "u2", "u3", "u4", "u5")
	e.project("team", false, "owner=project-admin")
	tests := []struct {
		user     string
		roleID   int
		roleName string
	}{
		{"u1", 1, "projectAdmin"},
		{"u2", 2, "developer"},
		{"u3", 3, "guest"},
		{"u4", 4, "maintainer"},
		{"u5", 5, "limitedGuest"},
	}
	for _, tt := range tests {
		t.Run(tt.roleName, func(t *testing.T) {
			r := e.do(as("owner"), http.MethodPost, "/projects/team/members", map[string]any{
				"role_id": tt.roleID, "member_user": map[string]any{"username": strings.ToUpper(tt.user)}})
			r.ok(t, http.StatusCreated, nil)
			loc := r.Header.Get("Location")
			require.True(t, strings.HasPrefix(loc, api.BasePath+"/projects/team/members/"), loc)
			var m api.ProjectMemberEntity
			e.do(as("owner"), http.MethodGet, strings.TrimPrefix(loc, api.BasePath), nil).ok(t, http.StatusOK, &m)
			assert.Equal(t, tt.user, m.EntityName)
			assert.Equal(t, "u", m.EntityType)
			assert.Equal(t, tt.roleID, m.RoleID)
			assert.Equal(t, tt.roleName, m.RoleName)

			var p api.Project
			e.do(as(tt.user), http.MethodGet, "/projects/team", nil).ok(t, http.StatusOK, &p)
			assert.Equal(t, []int{tt.roleID}, p.CurrentUserRoleIDs, "the new member sees the project at once")
		})
	}
}

func TestMemberLifecycle(t *testing.T) {
	e := newEnv(t)
	e.user("owner", "guest", "maint", "alice")
	e.project("team", false, "owner=project-admin", "guest=guest", "maint=maintainer")

	add := func(who cred, body any) *response { return e.do(who, http.MethodPost, "/projects/team/members", body) }
	alice := map[string]any{"role_id": 2, "member_user": map[string]any{"username": "alice"}}
	assert.Contains(t, add(as("guest"), alice).fails(t, 403, "FORBIDDEN"), "guest cannot create member")
	add(as("maint"), alice).fails(t, 403, "FORBIDDEN")
	add(anonymous, alice).fails(t, 401, "UNAUTHORIZED")
	e.do(as("alice"), http.MethodGet, "/projects/team", nil).fails(t, 403, "FORBIDDEN")

	loc := add(as("owner"), alice).Header.Get("Location")
	path := strings.TrimPrefix(loc, api.BasePath)
	e.do(as("alice"), http.MethodGet, "/projects/team", nil).ok(t, http.StatusOK, nil)
	add(as("owner"), alice).fails(t, 409, "CONFLICT")

	// A repository-level grant and a group.
	add(as("owner"), map[string]any{"role_id": 4, "member_user": map[string]any{"username": "alice"},
		"repositories": "team/app-*"}).ok(t, http.StatusCreated, nil)
	add(as("owner"), map[string]any{"role_id": 3, "member_group": map[string]any{
		"group_name": "devs", "ldap_group_dn": "cn=devs,ou=groups,dc=example", "group_type": 1}}).ok(t, http.StatusCreated, nil)

	var all []api.ProjectMemberEntity
	e.do(as("guest"), http.MethodGet, "/projects/team/members", nil).ok(t, http.StatusOK, &all)
	type row struct{ name, kind, repos, role string }
	var got []row
	for _, m := range all {
		got = append(got, row{m.EntityName, m.EntityType, m.Repositories, m.RoleName})
	}
	assert.Equal(t, []row{
		{"cn=devs,ou=groups,dc=example", "g", "", "guest"},
		{"alice", "u", "", "developer"},
		{"alice", "u", "team/app-*", "maintainer"},
		{"guest", "u", "", "guest"},
		{"maint", "u", "", "maintainer"},
		{"owner", "u", "", "projectAdmin"},
	}, got)

	r := e.do(as("guest"), http.MethodGet, "/projects/team/members?entityname=AL&page_size=1", nil)
	assert.Equal(t, []string{"alice"}, names(t, r, "entity_name"))
	assert.Equal(t, "2", r.Header.Get("X-Total-Count"))

	e.do(as("guest"), http.MethodPut, path, map[string]any{"role_id": 1}).fails(t, 403, "FORBIDDEN")
	e.do(as("owner"), http.MethodPut, path, map[string]any{"role_id": 4}).ok(t, http.StatusOK, nil)
	var m api.ProjectMemberEntity
	e.do(as("owner"), http.MethodGet, path, nil).ok(t, http.StatusOK, &m)
	assert.Equal(t, "maintainer", m.RoleName)
	e.do(as("owner"), http.MethodPut, path, map[string]any{"role_id": 9}).fails(t, 400, "BAD_REQUEST")

	e.do(as("guest"), http.MethodDelete, path, nil).fails(t, 403, "FORBIDDEN")
	e.do(as("owner"), http.MethodDelete, path, nil).ok(t, http.StatusOK, nil)
	e.do(as("owner"), http.MethodGet, path, nil).fails(t, 404, "NOT_FOUND")
	e.do(as("owner"), http.MethodDelete, path, nil).fails(t, 404, "NOT_FOUND")
	e.do(as("owner"), http.MethodGet, "/projects/team/members/!!!", nil).fails(t, 404, "NOT_FOUND")
	// Only the repository-level grant is left, and it covers no project-level
	// resource: alice no longer sees the project.
	e.do(as("alice"), http.MethodGet, "/projects/team", nil).fails(t, 403, "FORBIDDEN")

	bad := []struct {
		name   string
		body   any
		status int
	}{
		{"unknown role", map[string]any{"role_id": 6, "member_user": map[string]any{"username": "alice"}}, 400},
		{"no member", map[string]any{"role_id": 2}, 400},
		{"both", map[string]any{"role_id": 2, "member_user": map[string]any{"username": "alice"},
			"member_group": map[string]any{"group_name": "g"}}, 400},
		{"unknown user", map[string]any{"role_id": 2, "member_user": map[string]any{"username": "nobody"}}, 404},
		{"empty group", map[string]any{"role_id": 2, "member_group": map[string]any{}}, 400},
		{"pattern outside the project", map[string]any{"role_id": 2, "member_user": map[string]any{"username": "alice"},
			"repositories": "other/x"}, 400},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.status, add(as("owner"), tt.body).Status)
		})
	}
}

// Harbor's clients add a member by user_id alone.
func TestMemberByUserID(t *testing.T) {
	e := newEnv(t)
	e.user("owner", "bob")
	e.project("team", false, "owner=project-admin")
	var bob api.UserResp
	e.do(admin(), http.MethodGet, "/users/bob", nil).ok(t, http.StatusOK, &bob)
	require.NotZero(t, bob.UserID)
	e.do(as("owner"), http.MethodPost, "/projects/team/members",
		api.ProjectMember{RoleID: 2, MemberUser: &api.UserEntity{UserID: bob.UserID}}).ok(t, http.StatusCreated, nil)
	assert.Contains(t, names(t, e.do(as("owner"), http.MethodGet, "/projects/team/members", nil), "entity_name"), "bob")
	e.do(as("owner"), http.MethodPost, "/projects/team/members",
		api.ProjectMember{RoleID: 2, MemberUser: &api.UserEntity{UserID: 999999}}).fails(t, http.StatusNotFound, "NOT_FOUND")
	e.do(as("owner"), http.MethodPost, "/projects/team/members",
		api.ProjectMember{RoleID: 2, MemberUser: &api.UserEntity{}}).fails(t, http.StatusBadRequest, "BAD_REQUEST")
}
