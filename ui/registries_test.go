package ui_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// registryID finds a registry's id by name through the API.
func registryID(t *testing.T, p *portal, name string) int64 {
	t.Helper()
	var regs []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	p.api(t, http.MethodGet, "/registries?name="+url.QueryEscape(name), nil, &regs)
	require.Len(t, regs, 1)
	return regs[0].ID
}

func TestRegistries(t *testing.T) {
	a, b := startPortal(t), startPortal(t)
	a.login(t, "admin", adminPassword)

	body := text(a.page(t, "/admin/registries"))
	assert.Contains(t, body, "No endpoints.")

	// Test connection with a wrong secret: the API's refusal, the form
	// still filled in.
	form := url.Values{"type": {"harbor"}, "name": {"b"}, "url": {b.URL}, "access_key": {"admin"},
		"access_secret": {"wrong"}, "action": {"ping"}}
	status, _, page := a.post(t, "/admin/registries", form)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, text(page), "the registry failed the check")
	assert.Contains(t, page, `value="`+b.URL+`"`)

	form.Set("access_secret", adminPassword)
	status, _, page = a.post(t, "/admin/registries", form)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, text(page), "Connection tested OK.")
	assert.Equal(t, 0, countRegistries(t, a), "a test stores nothing")

	// A URL the API refuses: its message, the form kept.
	bad := url.Values{"type": {"harbor"}, "name": {"ftp"}, "url": {"ftp://x"}, "action": {"save"}}
	status, _, page = a.post(t, "/admin/registries", bad)
	require.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, page, `value="ftp://x"`)
	assert.Contains(t, page, `id="new-registry" open`)

	form.Set("action", "save")
	body = text(a.submit(t, "/admin/registries", form))
	assert.Contains(t, body, "Endpoint created.")
	assert.Contains(t, body, b.URL)
	assert.Contains(t, body, "Healthy")
	id := registryID(t, a, "b")

	// Filter on the server.
	a.api(t, http.MethodPost, "/registries", map[string]any{"name": "other", "url": "http://127.0.0.1:1", "type": "docker-registry"}, nil)
	body = text(a.page(t, "/admin/registries?q=oth"))
	assert.Contains(t, body, "other")
	assert.Contains(t, body, "Unhealthy")
	assert.NotContains(t, body, b.URL)
	assert.Contains(t, body, "1 - 1 of 1 items")

	// Edit: a blank secret keeps the stored one (the stored registry
	// still passes its check).
	edit := a.page(t, "/admin/registries/"+strconv.FormatInt(id, 10))
	assert.Contains(t, edit, `value="admin"`)
	assert.NotContains(t, edit, adminPassword)
	form = url.Values{"type": {"harbor"}, "name": {"b2"}, "description": {"the second"}, "url": {b.URL}, "access_key": {"admin"}}
	body = text(a.submit(t, "/admin/registries/"+strconv.FormatInt(id, 10), form))
	assert.Contains(t, body, "Endpoint saved.")
	assert.Contains(t, body, "b2")
	a.api(t, http.MethodPost, "/registries/ping", map[string]any{"id": id}, nil)
	form.Set("action", "ping")
	status, _, page = a.post(t, "/admin/registries/"+strconv.FormatInt(id, 10), form)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, text(page), "Connection tested OK.")
	// A test of another address does not use the stored secret there.
	form.Set("url", "http://127.0.0.1:1")
	status, _, page = a.post(t, "/admin/registries/"+strconv.FormatInt(id, 10), form)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, text(page), "the registry failed the check")
	assert.Contains(t, page, `value="http://127.0.0.1:1"`)
	// Saving a new address without the secret: the API's refusal.
	form.Set("action", "save")
	status, _, page = a.post(t, "/admin/registries/"+strconv.FormatInt(id, 10), form)
	require.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, text(page), "send its credential again")
	assert.Contains(t, page, `value="http://127.0.0.1:1"`, "the form keeps what was typed")

	// Delete; an unknown one is the API's 404.
	body = text(a.submit(t, "/admin/registries/"+strconv.FormatInt(id, 10)+"/delete", nil))
	assert.Contains(t, body, "Endpoint deleted.")
	assert.Equal(t, 1, countRegistries(t, a))
	status, _ = a.get(t, "/admin/registries/9999")
	assert.Equal(t, http.StatusNotFound, status)
	status, _ = a.get(t, "/admin/registries/x")
	assert.Equal(t, http.StatusNotFound, status)

	// Chinese.
	resp, err := a.client.Get(a.URL + "/language?lang=zh-CN&next=/admin/registries")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Contains(t, text(a.page(t, "/admin/registries")), "目标URL")
}

func countRegistries(t *testing.T, p *portal) int {
	t.Helper()
	resp := p.api(t, http.MethodGet, "/registries", nil, nil)
	n, err := strconv.Atoi(resp.Header.Get("X-Total-Count"))
	require.NoError(t, err)
	return n
}

// A user who is not a system administrator sees what the API says: 403.
func TestRegistriesNeedAnAdmin(t *testing.T) {
	p := startPortal(t)
	p.api(t, http.MethodPost, "/users", map[string]any{"username": "dev", "email": "dev@example.com",
		"realname": "Dev", "password": "Dev-Password-1"}, nil)
	p.login(t, "dev", "Dev-Password-1")
	for _, path := range []string{"/admin/registries", "/admin/registries/1", "/admin/replications", "/admin/replications/new"} {
		status, _ := p.get(t, path)
		assert.Equal(t, http.StatusForbidden, status, path)
	}
	status, _, body := p.post(t, "/admin/registries", url.Values{"name": {"x"}, "url": {"http://127.0.0.1:1"}, "type": {"harbor"}})
	assert.Equal(t, http.StatusForbidden, status)
	assert.NotContains(t, text(body), "Endpoint created.")
	assert.Equal(t, 0, countRegistries(t, p))
	status, _, _ = p.post(t, "/admin/replications/1/run", nil)
	assert.Equal(t, http.StatusSeeOther, status)
	var es []execution
	p.api(t, http.MethodGet, "/replication/executions", nil, &es)
	assert.Empty(t, es)
}
