package api_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
)

func TestUsersAdminOnly(t *testing.T) {
	e := newEnv(t)
	e.user("alice", "bob")
	tests := []struct {
		name   string
		method string
		path   string
		body   any
	}{
		{"list", http.MethodGet, "/users", nil},
		{"create", http.MethodPost, "/users", map[string]any{"username": "carol", "password": "carol-password-1"}},
		{"get someone else", http.MethodGet, "/users/bob", nil},
		{"delete", http.MethodDelete, "/users/bob", nil},
		{"reset someone's password", http.MethodPut, "/users/bob/password", map[string]any{"new_password": "new-password-1"}},
		{"grant admin", http.MethodPut, "/users/alice/sysadmin", map[string]any{"sysadmin_flag": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.do(as("alice"), tt.method, tt.path, tt.body).fails(t, 403, "FORBIDDEN")
			e.do(anonymous, tt.method, tt.path, tt.body).fails(t, 401, "UNAUTHORIZED")
		})
	}
}

func TestUsersLifecycle(t *testing.T) {
	e := newEnv(t)
	r := e.do(admin(), http.MethodPost, "/users", map[string]any{"username": "Carol", "email": "carol@example.com",
		"realname": "Carol C", "password": "carol-password-1", "comment": "on call"})
	r.ok(t, http.StatusCreated, nil)
	carol, err := e.users.Get(t.Context(), "carol")
	require.NoError(t, err)
	assert.Equal(t, api.BasePath+"/users/"+strconv.FormatInt(carol.ID, 10), r.Header.Get("Location"))
	e.do(admin(), http.MethodPost, "/users", map[string]any{"username": "dave", "password": "short"}).fails(t, 400, "BAD_REQUEST")
	e.do(admin(), http.MethodPost, "/users", map[string]any{"username": "a:b", "password": "long-enough-1"}).fails(t, 400, "BAD_REQUEST")

	var u api.UserResp
	e.do(as("carol"), http.MethodGet, "/users/carol", nil).ok(t, http.StatusOK, &u)
	assert.Equal(t, api.UserResp{UserID: carol.ID, Username: "carol", Email: "carol@example.com", Realname: "Carol C",
		Comment: "on call", Source: "local", CreationTime: u.CreationTime, UpdateTime: u.UpdateTime}, u)
	e.do(as("carol"), http.MethodGet, "/users/current", nil).ok(t, http.StatusOK, &u)
	assert.Equal(t, "carol", u.Username)
	e.do(anonymous, http.MethodGet, "/users/current", nil).fails(t, 401, "UNAUTHORIZED")
	e.do(admin(), http.MethodGet, "/users/current", nil).ok(t, http.StatusOK, &u)
	assert.True(t, u.SysadminFlag)

	assert.Equal(t, []string{"admin", "carol"}, names(t, e.do(admin(), http.MethodGet, "/users", nil), "username"))
	assert.Equal(t, []string{"carol"}, names(t, e.do(admin(), http.MethodGet, "/users?q=username%3D~ca", nil), "username"))
	assert.Equal(t, []string{"carol"}, names(t, e.do(admin(), http.MethodGet, "/users?q=username%3Dcarol", nil), "username"))
	assert.Equal(t, []string{}, names(t, e.do(admin(), http.MethodGet, "/users?q=username%3Dcar", nil), "username"))
	assert.Equal(t, []string{"admin"}, names(t, e.do(admin(), http.MethodGet, "/users?username=ad", nil), "username"))

	// Grant and revoke system admin; the last admin stays.
	e.do(admin(), http.MethodPut, "/users/carol/sysadmin", map[string]any{"sysadmin_flag": true}).ok(t, http.StatusOK, nil)
	e.do(as("carol"), http.MethodGet, "/users", nil).ok(t, http.StatusOK, nil)
	e.do(as("carol"), http.MethodPut, "/users/admin/sysadmin", map[string]any{"sysadmin_flag": false}).ok(t, http.StatusOK, nil)
	msg := e.do(as("carol"), http.MethodPut, "/users/carol/sysadmin", map[string]any{"sysadmin_flag": false}).fails(t, 412, "PRECONDITION")
	assert.Contains(t, msg, "last system admin")
	e.do(admin(), http.MethodGet, "/users", nil).fails(t, 403, "FORBIDDEN")

	e.do(as("carol"), http.MethodDelete, "/users/carol", nil).fails(t, 403, "FORBIDDEN")
	e.do(as("carol"), http.MethodDelete, "/users/admin", nil).ok(t, http.StatusOK, nil)
	e.do(as("carol"), http.MethodGet, "/users/admin", nil).fails(t, 404, "NOT_FOUND")
	e.do(as("carol"), http.MethodDelete, "/users/admin", nil).fails(t, 404, "NOT_FOUND")
	e.do(admin(), http.MethodGet, "/ping", nil).fails(t, 401, "UNAUTHORIZED")
}

func TestUserPassword(t *testing.T) {
	e := newEnv(t)
	e.user("alice", "bob")
	tests := []struct {
		name   string
		who    cred
		user   string
		body   any
		status int
	}{
		{"self without the old password", as("alice"), "alice", map[string]any{"new_password": "alice-new-pass"}, 400},
		{"self with a wrong old password", as("alice"), "alice", map[string]any{"old_password": "nope-nope", "new_password": "alice-new-pass"}, 400},
		{"self with a weak new password", as("alice"), "alice", map[string]any{"old_password": password("alice"), "new_password": "short"}, 400},
		{"someone else's", as("alice"), "bob", map[string]any{"new_password": "bob-new-pass"}, 403},
		{"admin for an unknown user", admin(), "nobody", map[string]any{"new_password": "nobody-new-pass"}, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.status, e.do(tt.who, http.MethodPut, "/users/"+tt.user+"/password", tt.body).Status)
		})
	}

	e.do(as("alice"), http.MethodPut, "/users/alice/password",
		map[string]any{"old_password": password("alice"), "new_password": "alice-new-pass"}).ok(t, http.StatusOK, nil)
	e.do(as("alice"), http.MethodGet, "/users/current", nil).fails(t, 401, "UNAUTHORIZED")
	e.do(cred{"alice", "alice-new-pass"}, http.MethodGet, "/users/current", nil).ok(t, http.StatusOK, nil)

	e.do(admin(), http.MethodPut, "/users/bob/password", map[string]any{"new_password": "reset-by-admin"}).ok(t, http.StatusOK, nil)
	e.do(cred{"bob", "reset-by-admin"}, http.MethodGet, "/users/current", nil).ok(t, http.StatusOK, nil)
}

func TestDeleteUserRemovesMemberships(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	e.project("team", false, "alice=developer")
	e.do(admin(), http.MethodDelete, "/users/alice", nil).ok(t, http.StatusOK, nil)
	e.user("alice") // a new account under the same name
	e.do(as("alice"), http.MethodGet, "/projects/team", nil).fails(t, 403, "FORBIDDEN")
	ms, err := e.projects.MembershipsOf(t.Context(), []string{"user:alice"})
	require.NoError(t, err)
	assert.Empty(t, ms)
}
