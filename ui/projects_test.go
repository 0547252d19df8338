package ui_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/server"
)

func TestLoginAndProjects(t *testing.T) {
	p := startPortal(t)

	status, loc, _ := p.post(t, "/login", url.Values{"principal": {"admin"}, "password": {"wrong"}})
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Empty(t, loc)
	// Anonymous browsers are sent to the login page, and back after.
	resp, err := p.client.Get(p.URL + "/projects?page=2")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "/login?next=%2Fprojects%3Fpage%3D2", resp.Header.Get("Location"))

	p.login(t, "admin", adminPassword)
	body := text(p.page(t, "/projects"))
	assert.Contains(t, body, "library")

	status, loc, _ = p.post(t, "/projects", url.Values{"name": {"team-a"}, "public": {"true"}, "storage_limit": {"2"}, "storage_unit": {"GiB"}})
	require.Equal(t, http.StatusSeeOther, status)
	assert.Regexp(t, `^/projects/\d+/repositories$`, loc)
	var proj struct {
		StorageLimit int64 `json:"storage_limit"`
		Metadata     struct{ Public string }
	}
	p.api(t, http.MethodGet, "/projects/team-a", nil, &proj)
	assert.Equal(t, int64(2<<30), proj.StorageLimit)
	assert.Equal(t, "true", proj.Metadata.Public)

	// A name the API refuses comes back as the API's message.
	status, loc, _ = p.post(t, "/projects", url.Values{"name": {"Bad Name"}})
	require.Equal(t, http.StatusSeeOther, status)
	assert.Contains(t, text(p.page(t, loc)), "project name")

	// The filter and sort run on the server.
	for _, n := range []string{"zeta", "alpha", "team-b"} {
		p.createProject(t, n, false)
	}
	body = text(p.page(t, "/projects?q=team&sort=-name"))
	assert.Regexp(t, `team-b.*team-a`, body)
	assert.NotContains(t, body, "alpha")
	assert.Contains(t, body, "1 - 2 of 2 items")

	// A form without the CSRF token is refused.
	status, _, _ = p.post(t, "/projects", url.Values{"name": {"sneaky"}, "csrf_token": {"forged"}})
	assert.Equal(t, http.StatusForbidden, status)

	// Chinese.
	resp, err = p.client.Get(p.URL + "/language?lang=zh-CN&next=/projects")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Contains(t, text(p.page(t, "/projects")), "项目名称")
}

// Under a sub-path (ui.path), every link and redirect keeps the prefix,
// and the registry and the API stay at the root.
func TestPortalUnderASubPath(t *testing.T) {
	p := startPortal(t, func(c *server.Config) { c.UI.Path = "/registry/" })
	resp, err := p.client.Get(p.URL + "/registry/projects")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "/registry/login?next=%2Fregistry%2Fprojects", resp.Header.Get("Location"))
	login := p.page(t, "/registry/login")
	assert.Contains(t, login, `action="/registry/login"`)
	assert.Contains(t, login, `href="/registry/static/berth.css"`)
	status, loc, body := p.post(t, "/registry/login", url.Values{"principal": {"admin"}, "password": {adminPassword}})
	require.Equal(t, http.StatusSeeOther, status, body)
	assert.Equal(t, "/registry/projects", loc)
	page := p.page(t, "/registry/projects")
	assert.Contains(t, text(page), "library")
	assert.Contains(t, page, `href="/registry/projects/1/repositories"`)
	assert.NotContains(t, page, `href="/projects`, "no link escapes the prefix")
	status, _ = p.get(t, "/registry/static/berth.js")
	assert.Equal(t, http.StatusOK, status)
	status, _ = p.get(t, "/projects")
	assert.Equal(t, http.StatusNotFound, status, "nothing of the portal at the root")
	resp, err = http.Get(p.URL + "/v2/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the registry stays at the root")
	assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "/service/token")
}

// A path nobody serves is 404 at once, signed in or not: the portal owns
// the root, but a probe must not be sent to a login page.
func TestUnknownPathsAreNotFound(t *testing.T) {
	p := startPortal(t, func(c *server.Config) { c.MetricsAddr = "127.0.0.1:0" })
	for _, path := range []string{"/metrics", "/debug/pprof/", "/nothing/here", "/projects/1/nothing"} {
		status, body := p.get(t, path)
		assert.Equal(t, http.StatusNotFound, status, path)
		assert.Contains(t, text(body), "There is no such page.", path)
	}
	p.login(t, "admin", adminPassword)
	status, body := p.get(t, "/nothing/here")
	assert.Equal(t, http.StatusNotFound, status)
	assert.Contains(t, text(body), "There is no such page.")
}
