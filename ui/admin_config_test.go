package ui_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfigPage(t *testing.T) {
	p := startPortal(t)
	p.login(t, "admin", adminPassword)

	body := p.page(t, "/admin/config")
	read := text(body)
	assert.Contains(t, read, "Authentication")
	assert.Contains(t, read, "Auth Mode db_auth read-only")
	assert.Contains(t, read, "System Settings")
	assert.Contains(t, body, `<select id="cfg-project_creation_restriction" name="project_creation_restriction">`)
	assert.Contains(t, body, `id="cfg-robot_token_duration"`)

	read = text(p.submit(t, "/admin/config", url.Values{"project_creation_restriction": {"adminonly"}, "robot_token_duration": {"7"}}))
	assert.Contains(t, read, "Configuration saved.")
	var cfg map[string]struct {
		Value    any  `json:"value"`
		Editable bool `json:"editable"`
	}
	p.api(t, http.MethodGet, "/configurations", nil, &cfg)
	assert.Equal(t, "adminonly", cfg["project_creation_restriction"].Value)
	assert.InDelta(t, 7, cfg["robot_token_duration"].Value, 0)
	assert.Contains(t, p.page(t, "/admin/config"), `<option value="adminonly" selected>`)

	// What the API refuses comes back with its message.
	status, loc, _ := p.post(t, "/admin/config", url.Values{"project_creation_restriction": {"nobody"}})
	require.Equal(t, http.StatusSeeOther, status)
	assert.Contains(t, p.page(t, loc), `class="alert err"`)
	_, loc, _ = p.post(t, "/admin/config", url.Values{"robot_token_duration": {"a week"}})
	assert.Contains(t, text(p.page(t, loc)), "robot_token_duration must be a whole number.")
	p.api(t, http.MethodGet, "/configurations", nil, &cfg)
	assert.Equal(t, "adminonly", cfg["project_creation_restriction"].Value)

	// Chinese.
	resp, err := p.client.Get(p.URL + "/language?lang=zh-CN&next=/admin/config")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Contains(t, text(p.page(t, "/admin/config")), "系统设置")
}

var idAttr = regexp.MustCompile(` id="([^"]+)"`)

// Every administration page renders in both languages without a
// formatting slip, with one h1.
func TestAdminPagesRenderInEveryLanguage(t *testing.T) {
	p := startPortal(t, noGrace)
	p.login(t, "admin", adminPassword)
	p.createProject(t, "rp", false)
	p.pushImage(t, "rp/app", "v1", 256)
	p.submit(t, "/admin/labels", url.Values{"name": {"l1"}, "color": {"#0065AB"}})
	_, gcRun, _ := p.post(t, "/admin/gc/run", url.Values{"dry_run": {"true"}})
	for _, lang := range []string{"en-US", "zh-CN"} {
		resp, err := p.client.Get(p.URL + "/language?lang=" + lang + "&next=/projects")
		require.NoError(t, err)
		resp.Body.Close()
		for _, path := range []string{"/admin/gc", gcRun, "/admin/audit", "/logs", "/admin/scanners", "/admin/quotas",
			"/admin/labels", "/admin/config"} {
			body := p.page(t, path)
			assert.NotContains(t, body, "%!", "%s %s", lang, path)
			assert.Equal(t, 1, strings.Count(body, "<h1"), "%s %s", lang, path)
			seen := map[string]bool{}
			for _, m := range idAttr.FindAllStringSubmatch(body, -1) {
				assert.False(t, seen[m[1]], "%s: id %q twice", path, m[1])
				seen[m[1]] = true
			}
		}
	}
}
