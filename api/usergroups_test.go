package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/sqldb"
)

// projectGrants removes and moves group grants in the project store, as
// the server wires it.
type projectGrants struct{ e *env }

func (g projectGrants) ForgetSubject(ctx context.Context, subject string) error {
	return g.MoveSubject(ctx, subject, "")
}

func (g projectGrants) MoveSubject(ctx context.Context, from, to string) error {
	ms, err := g.e.projects.MembershipsOf(ctx, []string{from})
	if err != nil {
		return err
	}
	for _, m := range ms {
		if to != "" {
			m.Subject = to
			if _, err := g.e.projects.AddMember(ctx, m); err != nil {
				return err
			}
		}
		if err := g.e.projects.RemoveMember(ctx, m.Project, from, m.Repositories); err != nil && !errors.Is(err, project.ErrNotFound) {
			return err
		}
	}
	return nil
}

// groupEnv is the API with user groups and the slapd directory.
func groupEnv(t *testing.T) (*env, *auth.UserGroups) {
	t.Helper()
	grants := &projectGrants{}
	db := openMemoryDB(t)
	store, err := auth.NewUserGroups(t.Context(), db, auth.WithGroupMemberships(grants))
	require.NoError(t, err)
	e := ldapEnv(t, api.WithUserGroups(store))
	grants.e = e
	return e, store
}

func createdID(t *testing.T, r *response) int64 {
	t.Helper()
	r.ok(t, http.StatusCreated, nil)
	loc := r.Header.Get("Location")
	require.True(t, strings.HasPrefix(loc, api.BasePath+"/usergroups/"), loc)
	var id int64
	_, err := fmt.Sscanf(loc[strings.LastIndex(loc, "/")+1:], "%d", &id)
	require.NoError(t, err, loc)
	return id
}

func TestUserGroupsCreateAndGet(t *testing.T) {
	e, _ := groupEnv(t)
	id := createdID(t, e.do(admin(), http.MethodPost, "/usergroups",
		api.UserGroup{GroupType: 1, LDAPGroupDN: "CN=Devs, OU=Groups,DC=berth,DC=test"}))
	var g api.UserGroup
	e.do(admin(), http.MethodGet, fmt.Sprintf("/usergroups/%d", id), nil).ok(t, http.StatusOK, &g)
	assert.Equal(t, api.UserGroup{ID: id, GroupName: "devs", GroupType: 1, LDAPGroupDN: "cn=devs,ou=groups,dc=berth,dc=test"}, g,
		"the directory's name; the DN canonical")
	oidc := createdID(t, e.do(admin(), http.MethodPost, "/usergroups", api.UserGroup{GroupName: "Ops", GroupType: 3}))
	assert.Greater(t, oidc, id)

	tests := []struct {
		name   string
		who    cred
		body   any
		status int
		code   string
	}{
		{"same DN again", admin(), api.UserGroup{GroupType: 1, LDAPGroupDN: "cn=devs,ou=groups,dc=berth,dc=test"}, http.StatusConflict, "CONFLICT"},
		{"same name again", admin(), api.UserGroup{GroupName: "Ops", GroupType: 2}, http.StatusConflict, "CONFLICT"},
		{"DN not in the directory", admin(), api.UserGroup{GroupType: 1, LDAPGroupDN: "cn=nope,ou=groups,dc=berth,dc=test"}, http.StatusBadRequest, "BAD_REQUEST"},
		{"not a DN", admin(), api.UserGroup{GroupType: 1, LDAPGroupDN: "nope"}, http.StatusBadRequest, "BAD_REQUEST"},
		{"LDAP without DN", admin(), api.UserGroup{GroupName: "x", GroupType: 1}, http.StatusBadRequest, "BAD_REQUEST"},
		{"no type", admin(), api.UserGroup{GroupName: "x"}, http.StatusBadRequest, "BAD_REQUEST"},
		{"bad type", admin(), api.UserGroup{GroupName: "x", GroupType: 9}, http.StatusBadRequest, "BAD_REQUEST"},
		{"no name", admin(), api.UserGroup{GroupType: 3}, http.StatusBadRequest, "BAD_REQUEST"},
		{"wrong JSON type", admin(), `{"group_name": 5, "group_type": 3}`, http.StatusBadRequest, "BAD_REQUEST"},
		{"not an admin", as("someone"), api.UserGroup{GroupName: "x", GroupType: 3}, http.StatusForbidden, "FORBIDDEN"},
		{"anonymous", anonymous, api.UserGroup{GroupName: "x", GroupType: 3}, http.StatusUnauthorized, "UNAUTHORIZED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.do(tt.who, http.MethodPost, "/usergroups", tt.body).fails(t, tt.status, tt.code)
		})
	}
	e.do(admin(), http.MethodGet, "/usergroups/999", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
	e.do(admin(), http.MethodGet, "/usergroups/x", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(as("someone"), http.MethodGet, fmt.Sprintf("/usergroups/%d", id), nil).fails(t, http.StatusForbidden, "FORBIDDEN")
}

func TestUserGroupsLDAPNeedsDirectory(t *testing.T) {
	store, err := auth.NewUserGroups(t.Context(), openMemoryDB(t))
	require.NoError(t, err)
	e := newEnv(t, api.WithUserGroups(store))
	msg := e.do(admin(), http.MethodPost, "/usergroups", api.UserGroup{GroupType: 1, LDAPGroupDN: "cn=devs,dc=x"}).
		fails(t, http.StatusBadRequest, "BAD_REQUEST")
	assert.Contains(t, msg, "LDAP is not configured")
	createdID(t, e.do(admin(), http.MethodPost, "/usergroups", api.UserGroup{GroupName: "ops", GroupType: 3}))
}

func TestUserGroupsListAndSearch(t *testing.T) {
	e, _ := groupEnv(t)
	for _, n := range []string{"dev-a", "dev-b", "ops"} {
		createdID(t, e.do(admin(), http.MethodPost, "/usergroups", api.UserGroup{GroupName: n, GroupType: 3}))
	}
	createdID(t, e.do(admin(), http.MethodPost, "/usergroups", api.UserGroup{GroupName: "ldap-devs", GroupType: 1,
		LDAPGroupDN: "cn=devs,ou=groups,dc=berth,dc=test"}))

	r := e.do(admin(), http.MethodGet, "/usergroups?group_name=DEV&page_size=2", nil)
	assert.Equal(t, []string{"dev-a", "dev-b"}, names(t, r, "group_name"))
	assert.Equal(t, "3", r.Header.Get("X-Total-Count"))
	assert.Contains(t, r.Header.Get("Link"), `rel="next"`)
	r = e.do(admin(), http.MethodGet, "/usergroups?ldap_group_dn=CN%3DDevs,OU%3DGroups,DC%3Dberth,DC%3Dtest", nil)
	assert.Equal(t, []string{"ldap-devs"}, names(t, r, "group_name"))
	r = e.do(admin(), http.MethodGet, "/usergroups?q=group_type%3D3,group_name%3D~o", nil)
	assert.Equal(t, []string{"ops"}, names(t, r, "group_name"))
	e.do(admin(), http.MethodGet, "/usergroups?q=group_type%3D7", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(admin(), http.MethodGet, "/usergroups?page_size=10001", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(as("someone"), http.MethodGet, "/usergroups", nil).fails(t, http.StatusForbidden, "FORBIDDEN")

	var found []api.UserGroupSearchItem
	e.do(as("someone"), http.MethodGet, "/usergroups/search?groupname=dev", nil).ok(t, http.StatusOK, &found)
	require.Len(t, found, 3)
	assert.Equal(t, "dev-a", found[0].GroupName)
	assert.Equal(t, 3, found[0].GroupType)
	assert.Positive(t, found[0].ID)
	e.do(as("someone"), http.MethodGet, "/usergroups/search", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(anonymous, http.MethodGet, "/usergroups/search?groupname=dev", nil).fails(t, http.StatusUnauthorized, "UNAUTHORIZED")
}

func TestUserGroupsRenameAndDelete(t *testing.T) {
	e, _ := groupEnv(t)
	e.project("shop", false)
	ops := createdID(t, e.do(admin(), http.MethodPost, "/usergroups", api.UserGroup{GroupName: "ops", GroupType: 3}))
	devs := createdID(t, e.do(admin(), http.MethodPost, "/usergroups", api.UserGroup{GroupType: 1,
		LDAPGroupDN: "cn=devs,ou=groups,dc=berth,dc=test"}))
	e.do(admin(), http.MethodPost, "/projects/shop/members", map[string]any{"role_id": 2,
		"member_group": map[string]any{"group_name": "ops"}}).ok(t, http.StatusCreated, nil)
	e.do(admin(), http.MethodPost, "/projects/shop/members", map[string]any{"role_id": 3,
		"member_group": map[string]any{"ldap_group_dn": "cn=devs,ou=groups,dc=berth,dc=test"}}).ok(t, http.StatusCreated, nil)
	members := func() []string {
		return names(t, e.do(admin(), http.MethodGet, "/projects/shop/members", nil), "entity_name")
	}
	require.ElementsMatch(t, []string{"ops", "cn=devs,ou=groups,dc=berth,dc=test"}, members())

	path := fmt.Sprintf("/usergroups/%d", ops)
	e.do(admin(), http.MethodPut, path, api.UserGroup{GroupName: "operations"}).ok(t, http.StatusOK, nil)
	var g api.UserGroup
	e.do(admin(), http.MethodGet, path, nil).ok(t, http.StatusOK, &g)
	assert.Equal(t, "operations", g.GroupName)
	assert.ElementsMatch(t, []string{"operations", "cn=devs,ou=groups,dc=berth,dc=test"}, members(),
		"an OIDC group's grant follows its name")
	e.do(admin(), http.MethodPut, path, api.UserGroup{GroupName: "x", GroupType: 1}).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(admin(), http.MethodPut, path, api.UserGroup{}).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(admin(), http.MethodPut, "/usergroups/999", api.UserGroup{GroupName: "x"}).fails(t, http.StatusNotFound, "NOT_FOUND")
	e.do(as("someone"), http.MethodPut, path, api.UserGroup{GroupName: "x"}).fails(t, http.StatusForbidden, "FORBIDDEN")

	e.do(as("someone"), http.MethodDelete, fmt.Sprintf("/usergroups/%d", devs), nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(admin(), http.MethodDelete, fmt.Sprintf("/usergroups/%d", devs), nil).ok(t, http.StatusOK, nil)
	assert.Equal(t, []string{"operations"}, members(), "the group's grant went with it")
	e.do(admin(), http.MethodDelete, fmt.Sprintf("/usergroups/%d", devs), nil).fails(t, http.StatusNotFound, "NOT_FOUND")
	e.do(admin(), http.MethodDelete, "/usergroups/-1", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
}

// openMemoryDB opens a private in-memory database, closed when t ends.
func openMemoryDB(t *testing.T) *sqldb.DB {
	t.Helper()
	db, err := sqldb.OpenSQLiteMemory(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}
