package ui_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type apiUser struct {
	UserID int64  `json:"user_id"`
	Name   string `json:"username"`
	Admin  bool   `json:"sysadmin_flag"`
}

func userNamed(t *testing.T, p *portal, name string) apiUser {
	t.Helper()
	var us []apiUser
	p.api(t, http.MethodGet, "/users?q=username="+name, nil, &us)
	require.Len(t, us, 1)
	return us[0]
}

func TestUsers(t *testing.T) {
	p := startPortal(t)
	p.login(t, "admin", adminPassword)
	assert.Contains(t, text(p.page(t, "/admin/users")), "admin Yes")

	body := text(p.submit(t, "/admin/users", url.Values{"username": {"dave"}, "email": {"dave@example.com"},
		"realname": {"Dave D"}, "password": {"Dave-Pass-1"}, "confirm_password": {"Dave-Pass-1"}}))
	assert.Contains(t, body, "User created.")
	assert.Contains(t, body, "dave (Dave D) No dave@example.com")
	dave := userNamed(t, p, "dave")

	// The API's refusal is shown: a weak password; the page's own: a mismatch.
	body = text(p.submit(t, "/admin/users", url.Values{"username": {"eve"}, "email": {"eve@example.com"},
		"password": {"weak"}, "confirm_password": {"weak"}}))
	assert.NotContains(t, body, "User created.")
	assert.Contains(t, body, "password")
	assert.Contains(t, text(p.submit(t, "/admin/users", url.Values{"username": {"eve"}, "password": {"Eve-Pass-12"},
		"confirm_password": {"Eve-Pass-13"}})), "The passwords do not match.")

	// Grant and revoke system admin.
	assert.Contains(t, text(p.submit(t, fmt.Sprintf("/admin/users/%d/admin", dave.UserID), nil)), "The user is now an administrator.")
	assert.True(t, userNamed(t, p, "dave").Admin)
	assert.Contains(t, text(p.submit(t, fmt.Sprintf("/admin/users/%d/unadmin", dave.UserID), nil)), "no longer an administrator")
	assert.False(t, userNamed(t, p, "dave").Admin)

	// Reset the password: dave logs in with the new one.
	assert.Contains(t, text(p.submit(t, fmt.Sprintf("/admin/users/%d/password", dave.UserID),
		url.Values{"new_password": {"Dave-Pass-2"}, "confirm_password": {"Dave-Pass-2"}})), "Password reset.")
	d := p.another(t)
	d.login(t, "dave", "Dave-Pass-2")

	// A user who is not an admin has no admin menu and gets the API's 403.
	assert.NotContains(t, d.page(t, "/projects"), `href="/admin/users"`)
	status, _ := d.get(t, "/admin/users")
	assert.Equal(t, http.StatusForbidden, status)
	status, _, _ = d.post(t, fmt.Sprintf("/admin/users/%d/admin", dave.UserID), nil)
	assert.Equal(t, http.StatusSeeOther, status)
	assert.False(t, userNamed(t, p, "dave").Admin)
	status, _ = d.get(t, "/admin/groups")
	assert.Equal(t, http.StatusForbidden, status)

	// Search, sort and paging run on the server.
	for i := range 16 {
		p.createUser(t, fmt.Sprintf("user%02d", i), "User-Pass-1")
	}
	body = text(p.page(t, "/admin/users?q=user&sort=-username"))
	assert.Contains(t, body, "1 - 15 of 16 items")
	assert.Regexp(t, `user15 .*user14 `, body)
	assert.NotContains(t, body, "user00")
	assert.NotContains(t, body, "dave")

	// Delete.
	assert.Contains(t, text(p.submit(t, fmt.Sprintf("/admin/users/%d/delete", dave.UserID), nil)), "User deleted.")
	var us []apiUser
	p.api(t, http.MethodGet, "/users?q=username=dave", nil, &us)
	assert.Empty(t, us)
	status, _, _ = p.post(t, "/admin/users/abc/delete", nil)
	assert.Equal(t, http.StatusNotFound, status)
}

func TestGroups(t *testing.T) {
	p := startPortal(t)
	p.login(t, "admin", adminPassword)
	assert.Contains(t, text(p.page(t, "/admin/groups")), "No groups.")

	assert.Contains(t, text(p.submit(t, "/admin/groups", url.Values{"group_type": {"3"}, "group_name": {"oidc-devs"}})), "Group added.")
	body := text(p.submit(t, "/admin/groups", url.Values{"group_type": {"2"}, "group_name": {"http-ops"}}))
	assert.Contains(t, body, "oidc-devs OIDC")
	assert.Contains(t, body, "http-ops HTTP")
	// No LDAP here: the API's refusal is shown.
	body = text(p.submit(t, "/admin/groups", url.Values{"group_type": {"1"}, "ldap_group_dn": {"cn=x,dc=example,dc=com"}}))
	assert.NotContains(t, body, "Group added.")
	assert.Contains(t, body, "LDAP is not configured")

	body = text(p.page(t, "/admin/groups?q=ops"))
	assert.Contains(t, body, "http-ops")
	assert.NotContains(t, body, "oidc-devs")

	var gs []struct {
		ID        int64  `json:"id"`
		GroupName string `json:"group_name"`
	}
	p.api(t, http.MethodGet, "/usergroups?group_name=ops", nil, &gs)
	require.Len(t, gs, 1)
	assert.Contains(t, text(p.submit(t, fmt.Sprintf("/admin/groups/%d/delete", gs[0].ID), nil)), "Group deleted.")
	p.api(t, http.MethodGet, "/usergroups", nil, &gs)
	assert.Len(t, gs, 1)
}
