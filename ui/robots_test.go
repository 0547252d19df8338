package ui_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var secretInput = regexp.MustCompile(`id="robot-secret" readonly value="([^"]+)"`)

// secretOf reads the secret a robot page shows once.
func secretOf(t *testing.T, body string) string {
	t.Helper()
	m := secretInput.FindStringSubmatch(body)
	require.NotNil(t, m, "no secret on the page: %s", text(body))
	return m[1]
}

// basicStatus is the status of GET path with Basic credentials.
func basicStatus(t *testing.T, p *portal, path, user, password string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, p.URL+path, nil)
	require.NoError(t, err)
	req.SetBasicAuth(user, password)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

type apiRobot struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Disable bool   `json:"disable"`
	Perms   []struct {
		Namespace string `json:"namespace"`
		Access    []struct{ Resource, Action string }
	} `json:"permissions"`
}

func TestProjectRobots(t *testing.T) {
	p := startPortal(t)
	pid := p.createProject(t, "team", false)
	p.login(t, "admin", adminPassword)
	path := fmt.Sprintf("/projects/%d/robots", pid)
	assert.Contains(t, text(p.page(t, path)), "No robot accounts.")

	// Creating answers the secret in the page itself (200, no redirect).
	status, loc, body := p.post(t, path, url.Values{"name": {"ci"}, "description": {"the CI"}, "duration": {"30"},
		"perm": {"repository:pull", "repository:push", "artifact:read"}})
	require.Equal(t, http.StatusOK, status, text(body))
	assert.Empty(t, loc)
	assert.Contains(t, text(body), "robot$team+ci")
	assert.Contains(t, text(body), "it will not be shown again")
	assert.Contains(t, body, `data-copy="robot-secret"`)
	secret := secretOf(t, body)
	assert.Equal(t, http.StatusOK, basicStatus(t, p, "/v2/", "robot$team+ci", secret))
	assert.Equal(t, http.StatusUnauthorized, basicStatus(t, p, "/v2/", "robot$team+ci", "wrong"))

	var rs []apiRobot
	p.api(t, http.MethodGet, fmt.Sprintf("/robots?q=project_id=%d", pid), nil, &rs)
	require.Len(t, rs, 1)
	assert.Len(t, rs[0].Perms[0].Access, 3)
	rid := rs[0].ID

	// The list does not show the secret again.
	list := p.page(t, path)
	assert.NotContains(t, list, secret)
	assert.Contains(t, text(list), "robot$team+ci Enabled 3 permissions")
	assert.Contains(t, text(list), "the CI")

	// Disable, then enable.
	assert.Contains(t, text(p.submit(t, fmt.Sprintf("%s/%d/disable", path, rid), nil)), "robot$team+ci Disabled")
	var got apiRobot
	p.api(t, http.MethodGet, fmt.Sprintf("/robots/%d", rid), nil, &got)
	assert.True(t, got.Disable)
	assert.Equal(t, http.StatusUnauthorized, basicStatus(t, p, "/v2/", "robot$team+ci", secret))
	assert.Contains(t, text(p.submit(t, fmt.Sprintf("%s/%d/enable", path, rid), nil)), "Robot account enabled.")

	// Refreshing shows the new secret once; the old one stops working.
	status, _, body = p.post(t, fmt.Sprintf("%s/%d/refresh", path, rid), nil)
	require.Equal(t, http.StatusOK, status, text(body))
	fresh := secretOf(t, body)
	assert.NotEqual(t, secret, fresh)
	assert.Equal(t, http.StatusOK, basicStatus(t, p, "/v2/", "robot$team+ci", fresh))
	assert.Equal(t, http.StatusUnauthorized, basicStatus(t, p, "/v2/", "robot$team+ci", secret))

	// The API's refusal is shown: no permission ticked.
	body = text(p.submit(t, path, url.Values{"name": {"empty"}}))
	assert.Contains(t, body, "permission")
	// A bad duration is refused by the page.
	assert.Contains(t, text(p.submit(t, path, url.Values{"name": {"x"}, "duration": {"soon"}, "perm": {"repository:pull"}})),
		"whole number of days")

	// Search runs on the server.
	p.post(t, path, url.Values{"name": {"deploy"}, "never": {"true"}, "perm": {"repository:pull"}})
	body = text(p.page(t, path+"?q=depl"))
	assert.Contains(t, body, "robot$team+deploy")
	assert.NotContains(t, body, "robot$team+ci")
	assert.Contains(t, body, "Never")

	// Delete.
	assert.Contains(t, text(p.submit(t, fmt.Sprintf("%s/%d/delete", path, rid), nil)), "Robot account deleted.")
	p.api(t, http.MethodGet, fmt.Sprintf("/robots?q=project_id=%d", pid), nil, &rs)
	assert.Len(t, rs, 1)
	status, _, _ = p.post(t, fmt.Sprintf("%s/%d/explode", path, rid), nil)
	assert.Equal(t, http.StatusNotFound, status)
}

func TestSystemRobots(t *testing.T) {
	p := startPortal(t)
	p.createProject(t, "one", false)
	p.createProject(t, "two", false)
	p.login(t, "admin", adminPassword)

	status, _, body := p.post(t, "/admin/robots", url.Values{"name": {"mirror"}, "projects": {"one, two"},
		"perm": {"repository:pull"}})
	require.Equal(t, http.StatusOK, status, text(body))
	secret := secretOf(t, body)
	assert.Contains(t, text(body), "robot$mirror")
	assert.Equal(t, http.StatusOK, basicStatus(t, p, "/v2/", "robot$mirror", secret))
	var rs []apiRobot
	p.api(t, http.MethodGet, "/robots?q=level=system", nil, &rs)
	require.Len(t, rs, 1)
	require.Len(t, rs[0].Perms, 2)
	assert.Equal(t, "one", rs[0].Perms[0].Namespace)

	status, _, body = p.post(t, "/admin/robots", url.Values{"name": {"all"}, "all_projects": {"true"}, "perm": {"repository:pull"}})
	require.Equal(t, http.StatusOK, status, text(body))
	list := text(p.page(t, "/admin/robots"))
	assert.Contains(t, list, "robot$all")
	assert.Contains(t, list, "(one, two)")
	assert.NotContains(t, list, secret)
	assert.Contains(t, list, "1 - 2 of 2 items")

	// An unknown project comes back as the API's message.
	assert.Contains(t, text(p.submit(t, "/admin/robots", url.Values{"name": {"x"}, "projects": {"nope"}, "perm": {"repository:pull"}})),
		`project &#34;nope&#34; does not exist`)

	// A user who is not an admin is refused the system robots.
	p.createUser(t, "carol", "Carol-Pass-1")
	c := p.another(t)
	c.login(t, "carol", "Carol-Pass-1")
	status, _ = c.get(t, "/admin/robots")
	assert.Equal(t, http.StatusForbidden, status)
}
