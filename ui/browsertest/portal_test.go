package browsertest

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/portaltest"
)

// A user logs in, creates a project through the form, finds it with the
// search box, and reads the page in Chinese and back in English.
func TestLoginCreateProjectLanguage(t *testing.T) {
	site := portaltest.Start(t)
	b := newBrowser(t, site.URL)

	b.visit("/projects")
	require.Equal(t, "/login", b.location()[:6], "an anonymous browser is sent to log in")
	b.axe()
	b.shot("login")
	b.fill("#principal", "admin")
	b.fill("#password", "wrong")
	b.click(`form[action$="/login"] button[type=submit]`)
	assert.Contains(t, b.main(), "Invalid username or password.")

	b.login("admin", portaltest.AdminPassword)
	assert.Contains(t, b.main(), "library")
	b.axe()

	b.open("new-project")
	b.fill("#pname", "web-team")
	b.click(`#new-project button[type=submit]`)
	assert.Contains(t, b.location(), "/projects/")
	var got struct {
		Name string `json:"name"`
	}
	site.API(t, "GET", "/projects/web-team", nil, &got)
	assert.Equal(t, "web-team", got.Name, "the form created the project")

	b.visit("/projects")
	b.fill("#q", "web")
	b.click(`form[role=search] button[type=submit]`)
	body := b.main()
	assert.Contains(t, body, "web-team")
	assert.NotContains(t, body, "library", "the search ran on the server")
	b.shot("projects")

	b.click(`a[lang="zh-CN"]`)
	assert.Contains(t, b.main(), "项目名称")
	assert.Contains(t, b.location(), "q=web", "the language switch comes back to the same page")
	b.axe()
	b.click(`a[lang="en-US"]`)
	assert.Contains(t, b.main(), "Project Name")
}

// The accessibility check finds what it must: a page given an unlabelled
// field and an image without text fails it.
func TestAxeCatchesViolations(t *testing.T) {
	site := portaltest.Start(t)
	b := newBrowser(t, site.URL)
	b.visit("/login")
	require.Empty(t, b.violations())
	eval[bool](b, `document.querySelector("main").insertAdjacentHTML("beforeend",
		'<input type="text"><img src="/static/favicon.svg">'); true`)
	found := b.violations()
	assert.NotEmpty(t, found)
	assert.Contains(t, strings.Join(found, "\n"), "image-alt")
}
