package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/auth"
)

// userID is the user_id of the user named name.
func (e *env) userID(name string) int64 {
	e.t.Helper()
	u, err := e.users.Get(e.t.Context(), name)
	require.NoError(e.t, err)
	return u.ID
}

func TestUsersAddressedByID(t *testing.T) {
	e := newEnv(t)
	e.user("alice", "bob")
	alice, bob := fmt.Sprint("/users/", e.userID("alice")), fmt.Sprint("/users/", e.userID("bob"))

	var u api.UserResp
	e.do(admin(), http.MethodGet, alice, nil).ok(t, http.StatusOK, &u)
	assert.Equal(t, "alice", u.Username)
	assert.Equal(t, e.userID("alice"), u.UserID)
	e.do(as("alice"), http.MethodGet, alice, nil).ok(t, http.StatusOK, &u)
	assert.Equal(t, "alice", u.Username, "users see themselves by id")
	e.do(as("alice"), http.MethodGet, "/users/current", nil).ok(t, http.StatusOK, &u)
	assert.Equal(t, e.userID("alice"), u.UserID)
	var list []api.UserResp
	e.do(admin(), http.MethodGet, "/users?q=username%3Dbob", nil).ok(t, http.StatusOK, &list)
	require.Len(t, list, 1)
	assert.Equal(t, e.userID("bob"), list[0].UserID)

	// Someone else's, known or not: the same refusal; admins learn 404.
	e.do(as("alice"), http.MethodGet, bob, nil).fails(t, 403, "FORBIDDEN")
	e.do(as("alice"), http.MethodGet, "/users/999", nil).fails(t, 403, "FORBIDDEN")
	e.do(anonymous, http.MethodGet, "/users/999", nil).fails(t, 401, "UNAUTHORIZED")
	e.do(admin(), http.MethodGet, "/users/999", nil).fails(t, 404, "NOT_FOUND")
	e.do(admin(), http.MethodGet, "/users/99999999999999999999999", nil).fails(t, 404, "NOT_FOUND")
	e.do(admin(), http.MethodDelete, "/users/999", nil).fails(t, 404, "NOT_FOUND")

	// A name made of digits is a name when the request says so.
	_, err := e.users.Create(t.Context(), auth.User{Name: "4242"}, password("4242"))
	require.NoError(t, err)
	e.do(admin(), http.MethodGet, "/users/4242", nil).fails(t, 404, "NOT_FOUND")
	e.do(admin(), http.MethodGet, "/users/4242", nil, "X-Is-Resource-Name", "true").ok(t, http.StatusOK, &u)
	assert.Equal(t, "4242", u.Username)

	// Every operation on one user takes the id.
	e.do(as("alice"), http.MethodPut, alice+"/password",
		map[string]any{"old_password": password("alice"), "new_password": "alice-new-pass"}).ok(t, http.StatusOK, nil)
	e.do(cred{"alice", "alice-new-pass"}, http.MethodGet, "/users/current", nil).ok(t, http.StatusOK, nil)
	e.do(admin(), http.MethodPut, bob+"/password", map[string]any{"new_password": "bob-new-pass"}).ok(t, http.StatusOK, nil)
	e.do(cred{"bob", "bob-new-pass"}, http.MethodGet, "/users/current", nil).ok(t, http.StatusOK, nil)
	e.do(cred{"alice", "alice-new-pass"}, http.MethodPut, bob+"/sysadmin", map[string]any{"sysadmin_flag": true}).fails(t, 403, "FORBIDDEN")
	e.do(admin(), http.MethodPut, bob+"/sysadmin", map[string]any{"sysadmin_flag": true}).ok(t, http.StatusOK, nil)
	e.do(admin(), http.MethodGet, bob, nil).ok(t, http.StatusOK, &u)
	assert.True(t, u.SysadminFlag)
	e.do(admin(), http.MethodPut, bob+"/sysadmin", "{not json").fails(t, 400, "BAD_REQUEST")
	e.do(admin(), http.MethodDelete, bob, nil).ok(t, http.StatusOK, nil)
	e.do(admin(), http.MethodGet, bob, nil).fails(t, 404, "NOT_FOUND")
}

func TestUpdateUserProfile(t *testing.T) {
	e := newEnv(t)
	e.user("alice", "bob")
	alice, bob := fmt.Sprint("/users/", e.userID("alice")), fmt.Sprint("/users/", e.userID("bob"))

	e.do(as("alice"), http.MethodPut, alice,
		map[string]any{"email": "alice@example.com", "realname": "Alice A.", "comment": "ops"}).ok(t, http.StatusOK, nil)
	var u api.UserResp
	e.do(as("alice"), http.MethodGet, alice, nil).ok(t, http.StatusOK, &u)
	assert.Equal(t, []string{"alice@example.com", "Alice A.", "ops"}, []string{u.Email, u.Realname, u.Comment})
	e.do(as("alice"), http.MethodPut, "/users/alice", map[string]any{"comment": "dev"}).ok(t, http.StatusOK, nil)
	e.do(as("alice"), http.MethodGet, alice, nil).ok(t, http.StatusOK, &u)
	assert.Equal(t, []string{"alice@example.com", "Alice A.", "dev"}, []string{u.Email, u.Realname, u.Comment},
		"absent fields are kept")

	e.do(as("alice"), http.MethodPut, bob, map[string]any{"comment": "mine now"}).fails(t, 403, "FORBIDDEN")
	e.do(as("alice"), http.MethodPut, "/users/999", map[string]any{"comment": "x"}).fails(t, 403, "FORBIDDEN")
	e.do(anonymous, http.MethodPut, bob, map[string]any{"comment": "x"}).fails(t, 401, "UNAUTHORIZED")
	e.do(admin(), http.MethodPut, bob, map[string]any{"realname": "Bob B."}).ok(t, http.StatusOK, nil)
	e.do(admin(), http.MethodGet, bob, nil).ok(t, http.StatusOK, &u)
	assert.Equal(t, "Bob B.", u.Realname)
	e.do(admin(), http.MethodPut, "/users/999", map[string]any{"comment": "x"}).fails(t, 404, "NOT_FOUND")

	e.do(as("alice"), http.MethodPut, alice, map[string]any{"email": "not an address"}).fails(t, 400, "BAD_REQUEST")
	e.do(as("alice"), http.MethodPut, alice, map[string]any{"email": 5}).fails(t, 400, "BAD_REQUEST")
	e.do(as("alice"), http.MethodPut, alice, "{").fails(t, 400, "BAD_REQUEST")
	e.do(as("alice"), http.MethodPut, alice, map[string]any{"comment": "bell\a"}).fails(t, 400, "BAD_REQUEST")
	e.do(as("alice"), http.MethodPut, alice, "{}", "Content-Type", "text/plain").fails(t, 415, "UNSUPPORTED_MEDIA_TYPE")
}

func TestSearchUsers(t *testing.T) {
	e := newEnv(t)
	e.user("alice", "malik", "bob")

	r := e.do(as("bob"), http.MethodGet, "/users/search?username=LI", nil)
	var found []api.UserSearchRespItem
	r.ok(t, http.StatusOK, &found)
	assert.Equal(t, []api.UserSearchRespItem{{UserID: e.userID("alice"), Username: "alice"},
		{UserID: e.userID("malik"), Username: "malik"}}, found)
	assert.Equal(t, "2", r.Header.Get("X-Total-Count"))
	assert.NotContains(t, string(r.Body), "email", "search shows names and ids only")

	r = e.do(as("bob"), http.MethodGet, "/users/search?username=li&page=2&page_size=1", nil)
	r.ok(t, http.StatusOK, &found)
	assert.Equal(t, []string{"malik"}, []string{found[0].Username})
	assert.Equal(t, "2", r.Header.Get("X-Total-Count"))
	e.do(as("bob"), http.MethodGet, "/users/search?username=%25", nil).ok(t, http.StatusOK, &found)
	assert.Empty(t, found, "LIKE wildcards are not wildcards")

	e.do(anonymous, http.MethodGet, "/users/search?username=li", nil).fails(t, 401, "UNAUTHORIZED")
	e.do(as("bob"), http.MethodGet, "/users/search", nil).fails(t, 400, "BAD_REQUEST")
	e.do(as("bob"), http.MethodGet, "/users/search?username=li&page_size=x", nil).fails(t, 400, "BAD_REQUEST")
}
