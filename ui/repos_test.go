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

func TestRepositories(t *testing.T) {
	p := startPortal(t)
	p.login(t, "admin", adminPassword)
	id := p.createProject(t, "proj", false)
	p.pushImage(t, "proj/app", "v1", 512)
	p.pushImage(t, "proj/app", "v2", 512)
	p.pushImage(t, "proj/team/app", "1.0", 256)
	p.pushImage(t, "proj/zeta", "z", 256)
	base := fmt.Sprintf("/projects/%d/repositories", id)

	body := text(p.page(t, base))
	assert.Regexp(t, `proj/app 2 0 .*proj/team/app 1 0 .*proj/zeta 1 0`, body, "name, artifacts, pulls, by name")
	assert.Contains(t, body, "1 - 3 of 3 items")
	page := p.page(t, base)
	assert.Contains(t, page, `href="`+base+`/team/app"`, "a nested name links to its page with its slashes")

	// Filter, sort and paging run on the API.
	body = text(p.page(t, base+"?q=app&sort=-name"))
	assert.Regexp(t, `proj/team/app .*proj/app`, body)
	assert.NotContains(t, body, "proj/zeta")
	body = text(p.page(t, base+"?page_size=15&page=2"))
	assert.Contains(t, body, "No repositories.")

	// Delete a repository (a nested one).
	body = p.submit(t, base+"/team/app", url.Values{"op": {"delete-repository"}})
	assert.Contains(t, text(body), "Repository deleted.")
	assert.NotContains(t, text(body), "proj/team/app")
	resp, err := http.Get(p.URL + "/api/v2.0/projects/proj/repositories/team%252Fapp")
	require.NoError(t, err)
	resp.Body.Close()
	assert.NotEqual(t, http.StatusOK, resp.StatusCode)
	var repos []struct{ Name string }
	p.api(t, http.MethodGet, "/projects/proj/repositories", nil, &repos)
	assert.Len(t, repos, 2)

	// Deleting what is gone shows the API's refusal.
	body = p.submit(t, base+"/team/app", url.Values{"op": {"delete-repository"}})
	assert.Contains(t, text(body), "proj/team/app: not found")

	// Chinese.
	resp, err = p.client.Get(p.URL + "/language?lang=zh-CN&next=/projects")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Contains(t, text(p.page(t, base)), "最新变更时间")

	// A project that does not exist, and one a non-member may not see.
	status, _ := p.get(t, "/projects/9999/repositories")
	assert.Equal(t, http.StatusNotFound, status)
	p.api(t, http.MethodPost, "/users", map[string]any{"username": "bob", "email": "bob@example.com",
		"realname": "Bob", "password": "Bob-Passw0rd"}, nil)
	p2 := &portal{URL: p.URL, Host: p.Host, client: newClient(t)}
	p2.login(t, "bob", "Bob-Passw0rd")
	status, body = p2.get(t, base)
	assert.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, status, body)
	status, _, _ = p2.post(t, base+"/app", url.Values{"op": {"delete-repository"}})
	assert.NotEqual(t, http.StatusSeeOther, status)
	p.api(t, http.MethodGet, "/projects/proj/repositories/app", nil, nil)
}

// newClient is a second browser: its own cookie jar, no redirects followed.
func newClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
