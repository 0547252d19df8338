package ui_test

import (
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// apiMember is a member as the API lists it.
type apiMember struct {
	ID         int64  `json:"id"`
	EntityName string `json:"entity_name"`
	EntityType string `json:"entity_type"`
	RoleID     int    `json:"role_id"`
}

// createUser creates a local user through the API.
func (p *portal) createUser(t *testing.T, name, password string) {
	t.Helper()
	p.api(t, http.MethodPost, "/users", map[string]string{"username": name, "email": name + "@example.com",
		"realname": name, "password": password}, nil)
}

// another is a second browser on the same server, signed in as nobody.
func (p *portal) another(t *testing.T) *portal {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := *p.client
	c.Jar = jar
	return &portal{URL: p.URL, Host: p.Host, client: &c}
}

func members(t *testing.T, p *portal, pid int64) []apiMember {
	t.Helper()
	var ms []apiMember
	p.api(t, http.MethodGet, fmt.Sprintf("/projects/%d/members?page_size=100", pid), nil, &ms)
	return ms
}

func TestMembers(t *testing.T) {
	p := startPortal(t)
	p.createUser(t, "alice", "Alice-Pass-1")
	p.createUser(t, "bob", "Bob-Pass-12")
	pid := p.createProject(t, "team", false)
	p.login(t, "admin", adminPassword)
	path := fmt.Sprintf("/projects/%d/members", pid)

	body := text(p.page(t, path))
	assert.Contains(t, body, "admin") // the creator is the project admin

	// Add a user as developer.
	body = text(p.submit(t, path, url.Values{"kind": {"user"}, "name": {"alice"}, "role_id": {"2"}}))
	assert.Contains(t, body, "Member added.")
	assert.Regexp(t, `alice User Developer`, body)
	var alice apiMember
	for _, m := range members(t, p, pid) {
		if m.EntityName == "alice" {
			alice = m
		}
	}
	require.NotZero(t, alice.ID)
	assert.Equal(t, 2, alice.RoleID)
	assert.Equal(t, "u", alice.EntityType)

	// A group (by name, an OIDC group).
	body = text(p.submit(t, path, url.Values{"kind": {"group"}, "group_type": {"3"}, "name": {"devs"}, "role_id": {"3"}}))
	assert.Regexp(t, `devs Group Guest`, body)

	// The filter runs on the server.
	body = text(p.page(t, path+"?q=ali"))
	assert.Contains(t, body, "alice")
	assert.NotContains(t, body, "devs")
	assert.Contains(t, body, "1 - 1 of 1 items")

	// Change alice's role to maintainer.
	body = text(p.submit(t, fmt.Sprintf("%s/%d/role", path, alice.ID), url.Values{"role_id": {"4"}}))
	assert.Contains(t, body, "Role changed.")
	for _, m := range members(t, p, pid) {
		if m.EntityName == "alice" {
			assert.Equal(t, 4, m.RoleID)
		}
	}

	// The API's refusal is shown: an unknown user.
	body = text(p.submit(t, path, url.Values{"kind": {"user"}, "name": {"nobody-here"}, "role_id": {"2"}}))
	assert.NotContains(t, body, "Member added.")
	assert.Contains(t, body, "nobody-here")

	// Remove alice.
	body = text(p.submit(t, fmt.Sprintf("%s/%d/delete", path, alice.ID), nil))
	assert.Contains(t, body, "Member removed.")
	for _, m := range members(t, p, pid) {
		assert.NotEqual(t, "alice", m.EntityName)
	}

	// Bad ids are 404; a project bob may not see is refused as the API
	// refuses it.
	status, _ := p.get(t, "/projects/999999/members")
	assert.Equal(t, http.StatusNotFound, status)
	status, _ = p.get(t, "/projects/x/members")
	assert.Equal(t, http.StatusNotFound, status)
	b := p.another(t)
	b.login(t, "bob", "Bob-Pass-12")
	status, _ = b.get(t, path)
	assert.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, status)
	// A guest sees the members but may not change them: the API's 403
	// comes back as the page's message.
	p.api(t, http.MethodPost, fmt.Sprintf("/projects/%d/members", pid),
		map[string]any{"role_id": 3, "member_user": map[string]string{"username": "bob"}}, nil)
	assert.Contains(t, text(b.page(t, path)), "bob")
	body = text(b.submit(t, path, url.Values{"kind": {"user"}, "name": {"alice"}, "role_id": {"1"}}))
	assert.NotContains(t, body, "Member added.")
	assert.Len(t, members(t, p, pid), 3)

	// Chinese.
	resp, err := p.client.Get(p.URL + "/language?lang=zh-CN&next=/projects")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Contains(t, text(p.page(t, path)), "成员类型")
}
