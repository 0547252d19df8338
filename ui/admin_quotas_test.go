package ui_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type quotaJSON struct {
	Hard map[string]int64 `json:"hard"`
	Used map[string]int64 `json:"used"`
}

func TestQuotasPage(t *testing.T) {
	p := startPortal(t)
	p.login(t, "admin", adminPassword)
	id := p.createProject(t, "qa", false)
	p.pushImage(t, "qa/app", "v1", 1024)
	p.submit(t, fmt.Sprintf("/admin/quotas/%d", id), url.Values{"limit": {"1"}, "unit": {"GiB"}})

	read := text(p.page(t, "/admin/quotas"))
	assert.Contains(t, read, "Project Quotas")
	assert.Regexp(t, `qa admin \d+% [\d.]+ KiB of 1\.00 GiB`, read)
	assert.Regexp(t, `library admin .* of unlimited`, read)
	// Sorted by the limit on the server; the API ranks no limit (-1)
	// above every limit.
	assert.Regexp(t, `qa admin .* library admin`, text(p.page(t, "/admin/quotas?sort=hard.storage")))
	assert.Regexp(t, `library admin .* qa admin`, text(p.page(t, "/admin/quotas?sort=-hard.storage")))

	// Edit: through the API, back to the same page of the list.
	status, loc, _ := p.post(t, fmt.Sprintf("/admin/quotas/%d", id), url.Values{"limit": {"500"}, "unit": {"MiB"},
		"return": {"/admin/quotas?page=1&page_size=25&sort=hard.storage"}})
	require.Equal(t, http.StatusSeeOther, status)
	assert.Equal(t, "/admin/quotas?page=1&page_size=25&sort=hard.storage", loc)
	assert.Contains(t, text(p.page(t, loc)), "Quota saved.")
	var q quotaJSON
	p.api(t, http.MethodGet, fmt.Sprintf("/quotas/%d", id), nil, &q)
	assert.Equal(t, int64(500<<20), q.Hard["storage"])
	assert.Positive(t, q.Used["storage"])
	assert.Contains(t, p.page(t, "/admin/quotas"), `value="500"`)

	// A redirect elsewhere is not followed.
	_, loc, _ = p.post(t, fmt.Sprintf("/admin/quotas/%d", id), url.Values{"limit": {"-1"}, "unit": {"GiB"}, "return": {"//evil.example/"}})
	assert.Equal(t, "/admin/quotas", loc)
	p.api(t, http.MethodGet, fmt.Sprintf("/quotas/%d", id), nil, &q)
	assert.Equal(t, int64(-1), q.Hard["storage"])

	// Search by project name, on the server (the API's reference_id).
	read = text(p.page(t, "/admin/quotas?q=qa"))
	assert.Contains(t, read, "1 - 1 of 1 items")
	assert.NotContains(t, read, "library")
	assert.Contains(t, text(p.page(t, "/admin/quotas?q=nope")), "No projects.")

	// Bad input, and what the API refuses.
	_, loc, _ = p.post(t, fmt.Sprintf("/admin/quotas/%d", id), url.Values{"limit": {"lots"}, "unit": {"GiB"}})
	assert.Contains(t, text(p.page(t, loc)), "The quota must be a whole number")
	_, loc, _ = p.post(t, "/admin/quotas/99999", url.Values{"limit": {"1"}, "unit": {"GiB"}})
	assert.Contains(t, p.page(t, loc), `class="alert err"`)
}
