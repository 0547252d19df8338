package ui_test

import (
	"net/http"
	"net/url"
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
