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

// asMember adds a user with role (3 guest, 1 project admin) to project
// id and returns a browser signed in as them.
func asMember(t *testing.T, p *portal, user string, id int64, role int) *portal {
	t.Helper()
	p.api(t, http.MethodPost, "/users", map[string]string{"username": user, "email": user + "@example.com",
		"realname": user, "password": "Member-Pass-1"}, nil)
	p.api(t, http.MethodPost, fmt.Sprintf("/projects/%d/members", id), map[string]any{"role_id": role,
		"member_user": map[string]string{"username": user}}, nil)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	m := &portal{URL: p.URL, Host: p.Host, client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	m.login(t, user, "Member-Pass-1")
	return m
}

func TestProjectSummaryAndDelete(t *testing.T) {
	p := startPortal(t)
	p.login(t, "admin", adminPassword)
	p.api(t, http.MethodPost, "/projects", map[string]any{"project_name": "sum", "storage_limit": 10 << 20,
		"metadata": map[string]string{"public": "false"}}, nil)
	var got struct {
		ProjectID int64 `json:"project_id"`
	}
	p.api(t, http.MethodGet, "/projects/sum", nil, &got)
	id := got.ProjectID
	p.pushImage(t, "sum/app", "v1", 1000)
	base := fmt.Sprintf("/projects/%d", id)

	html := p.page(t, base+"/summary")
	body := text(html)
	assert.Regexp(t, `1 Repositories`, body)
	assert.Contains(t, body, "Access Level Private")
	assert.Contains(t, body, "Owner admin")
	assert.Regexp(t, `of 10\.00 MiB used \(\d+%\)`, body)
	assert.Contains(t, html, `<meter id="proj-quota" min="0" max="10485760"`)
	assert.Contains(t, body, "Project Admin 1")
	// The API says up front what keeps the project.
	assert.Contains(t, body, "This project cannot be deleted now:")
	assert.Contains(t, body, "repositories")

	// Deleting it anyway shows the API's refusal on the summary.
	status, loc, _ := p.post(t, base+"/summary/delete", nil)
	require.Equal(t, http.StatusSeeOther, status)
	assert.Equal(t, base+"/summary", loc)
	assert.Contains(t, text(p.page(t, loc)), "still holds 1 repositories")
	p.api(t, http.MethodGet, "/projects/sum", nil, nil) // still there

	// A member who may not delete sees the summary without the button.
	guest := asMember(t, p, "gus", id, 3)
	body = text(guest.page(t, base+"/summary"))
	assert.Contains(t, body, "1 Repositories")
	assert.NotContains(t, body, "Delete this project")
	status, loc, _ = guest.post(t, base+"/summary/delete", nil)
	require.Equal(t, http.StatusSeeOther, status)
	assert.NotEmpty(t, text(guest.page(t, loc)))
	p.api(t, http.MethodGet, "/projects/sum", nil, nil)

	// An empty project goes, back to the list.
	empty := p.createProject(t, "empty", false)
	body = text(p.submit(t, fmt.Sprintf("/projects/%d/summary/delete", empty), nil))
	assert.Contains(t, body, "Project deleted.")
	status, _ = p.get(t, fmt.Sprintf("/projects/%d/summary", empty))
	assert.Equal(t, http.StatusNotFound, status)

	// Chinese.
	resp, err := p.client.Get(p.URL + "/language?lang=zh-CN&next=/projects")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Contains(t, text(p.page(t, base+"/summary")), "项目配额")

	// A proxy cache project names its upstream.
	p.api(t, http.MethodPost, "/registries", map[string]any{"name": "hub", "type": "docker-registry",
		"url": "http://" + p.Host}, nil)
	var regs []struct {
		ID int64 `json:"id"`
	}
	p.api(t, http.MethodGet, "/registries?name=hub", nil, &regs)
	require.Len(t, regs, 1)
	p.api(t, http.MethodPost, "/projects", map[string]any{"project_name": "cache", "registry_id": regs[0].ID}, nil)
	p.api(t, http.MethodGet, "/projects/cache", nil, &got)
	body = text(p.page(t, fmt.Sprintf("/projects/%d/summary", got.ProjectID)))
	assert.Contains(t, body, "镜像代理的源仓库 hub ( http://"+p.Host+" , docker-registry)")

	// Bad ids, and a project the user may not see.
	for _, path := range []string{"/projects/abc/summary", "/projects/0/summary", "/projects/999999/summary"} {
		status, _ = p.get(t, path)
		assert.Equal(t, http.StatusNotFound, status, path)
	}
	secret := p.createProject(t, "secret", false)
	status, _ = guest.get(t, fmt.Sprintf("/projects/%d/summary", secret))
	assert.Contains(t, []int{http.StatusNotFound, http.StatusForbidden}, status)
}

type apiLabel struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Color       string `json:"color"`
}

func TestProjectLabels(t *testing.T) {
	p := startPortal(t)
	p.login(t, "admin", adminPassword)
	id := p.createProject(t, "lab", false)
	base := fmt.Sprintf("/projects/%d/labels", id)
	assert.Contains(t, text(p.page(t, base)), "No labels.")

	body := text(p.submit(t, base, url.Values{"name": {"stable"}, "description": {"ready to ship"}, "color": {"#1d5100"}}))
	assert.Contains(t, body, "Label created.")
	assert.Contains(t, body, "stable ready to ship")
	var ls []apiLabel
	p.api(t, http.MethodGet, fmt.Sprintf("/labels?scope=p&project_id=%d", id), nil, &ls)
	require.Len(t, ls, 1)
	assert.Equal(t, "#1d5100", ls[0].Color)

	// Edit, then the API's refusal of a duplicate name shows as its text.
	body = text(p.submit(t, fmt.Sprintf("%s/%d", base, ls[0].ID), url.Values{"name": {"prod"}, "description": {"live"}, "color": {""}}))
	assert.Contains(t, body, "Label saved.")
	var one apiLabel
	p.api(t, http.MethodGet, fmt.Sprintf("/labels/%d", ls[0].ID), nil, &one)
	assert.Equal(t, apiLabel{ID: ls[0].ID, Name: "prod", Description: "live"}, one)
	body = text(p.submit(t, base, url.Values{"name": {"prod"}}))
	assert.NotContains(t, body, "Label created.")
	assert.Contains(t, body, "prod")
	body = text(p.submit(t, base, url.Values{"name": {"x"}, "color": {"red"}}))
	assert.Contains(t, body, "The color must be #RRGGBB.")

	// Paging and the name filter run on the server.
	for i := range 16 {
		p.api(t, http.MethodPost, "/labels", map[string]any{"name": fmt.Sprintf("l%02d", i), "scope": "p", "project_id": id}, nil)
	}
	body = text(p.page(t, base))
	assert.Contains(t, body, "1 - 15 of 17 items")
	body = text(p.page(t, base+"?q=l1&sort=-name"))
	assert.Contains(t, body, "1 - 6 of 6 items")
	assert.Regexp(t, `l15.*l14.*l10`, body)
	assert.NotContains(t, body, "l09")

	// A label of another project is not reachable through this one.
	other := p.createProject(t, "other", false)
	p.api(t, http.MethodPost, "/labels", map[string]any{"name": "theirs", "scope": "p", "project_id": other}, nil)
	var theirs []apiLabel
	p.api(t, http.MethodGet, fmt.Sprintf("/labels?scope=p&project_id=%d", other), nil, &theirs)
	require.Len(t, theirs, 1)
	body = text(p.submit(t, fmt.Sprintf("%s/%d/delete", base, theirs[0].ID), nil))
	assert.Contains(t, body, "This project has no such label.")
	p.api(t, http.MethodGet, fmt.Sprintf("/labels/%d", theirs[0].ID), nil, nil)

	body = text(p.submit(t, fmt.Sprintf("%s/%d/delete", base, ls[0].ID), nil))
	assert.Contains(t, body, "Label deleted.")
	assert.NotContains(t, body, "prod live")

	// A guest sees the labels, and the API's refusal when creating one.
	guest := asMember(t, p, "gwen", id, 3)
	assert.Contains(t, text(guest.page(t, base)), "l00")
	status, loc, _ := guest.post(t, base, url.Values{"name": {"mine"}})
	require.Equal(t, http.StatusSeeOther, status)
	assert.NotContains(t, text(guest.page(t, loc)), "Label created.")
	p.api(t, http.MethodGet, fmt.Sprintf("/labels?scope=p&project_id=%d&name=mine", id), nil, &ls)
	assert.Empty(t, ls)
}
