package ui_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProjectScanner(t *testing.T) {
	p := startPortal(t)
	p.login(t, "admin", adminPassword)
	id := p.createProject(t, "scn", false)
	base := fmt.Sprintf("/projects/%d/scanner", id)
	var regs []struct {
		UUID string `json:"uuid"`
		Name string `json:"name"`
	}
	p.api(t, http.MethodGet, fmt.Sprintf("/projects/%d/scanner/candidates", id), nil, &regs)
	require.NotEmpty(t, regs)
	body := text(p.page(t, base))
	assert.Contains(t, body, "Name "+regs[0].Name)
	assert.Contains(t, body, "Select scanner")

	body = text(p.submit(t, base, url.Values{"uuid": {regs[0].UUID}}))
	assert.Contains(t, body, "The project's scanner has been changed.")
	var cur struct {
		UUID string `json:"uuid"`
	}
	p.api(t, http.MethodGet, fmt.Sprintf("/projects/%d/scanner", id), nil, &cur)
	assert.Equal(t, regs[0].UUID, cur.UUID)

	body = text(p.submit(t, base, url.Values{"uuid": {"no-such-scanner"}}))
	assert.Regexp(t, `scanner \S*no-such-scanner\S* does not exist`, body)

	// A guest sees the scanner but is offered no choice.
	guest := asMember(t, p, "gina", id, 3)
	body = text(guest.page(t, base))
	assert.Contains(t, body, regs[0].Name)
	assert.NotContains(t, body, "Select scanner")
}

func TestProjectLogs(t *testing.T) {
	p := startPortal(t)
	p.login(t, "admin", adminPassword)
	id := p.createProject(t, "aud", false)
	p.pushImage(t, "aud/app", "v1", 100)
	p.pushImage(t, "aud/web", "v1", 100)
	base := fmt.Sprintf("/projects/%d/logs", id)
	// Pushes are audited in batches, a moment later.
	require.Eventually(t, func() bool {
		var es []struct{}
		p.api(t, http.MethodGet, "/projects/aud/logs?q=operation%3Dpush", nil, &es)
		return len(es) == 2
	}, 10*time.Second, 50*time.Millisecond)

	body := text(p.page(t, base))
	assert.Contains(t, body, "aud/app")
	assert.Contains(t, body, "aud/web")
	assert.Contains(t, body, "push")

	body = text(p.page(t, base+"?operation=push&resource=aud/web"))
	assert.Contains(t, body, "aud/web")
	assert.NotContains(t, body, "aud/app")
	assert.NotContains(t, body, "No logs.")
	assert.Contains(t, text(p.page(t, base+"?operation=pull")), "No logs.")
	assert.Contains(t, text(p.page(t, base+"?user=nobody")), "No logs.")
	assert.Contains(t, text(p.page(t, base+"?from=2000-01-01&to=2000-12-31")), "No logs.")
	assert.NotContains(t, text(p.page(t, base+"?from=2000-01-01&user=admin")), "No logs.")

	// The API counts what the filter keeps; the pager keeps the filter.
	html := p.page(t, base+"?operation=push&page_size=15&page=1")
	assert.Contains(t, text(html), "1 - 2 of 2 items")
	assert.Contains(t, html, `<input type="hidden" name="operation" value="push">`)
	// A value the API cannot parse shows its message, not a crash.
	status, errBody := p.get(t, base+"?user=a%22b%27c")
	assert.Less(t, status, 500, errBody)

	// Who may not read the project's log gets the API's answer.
	other := p.createProject(t, "hidden", false)
	guest := asMember(t, p, "gil", id, 3)
	status, _ = guest.get(t, fmt.Sprintf("/projects/%d/logs", other))
	assert.Contains(t, []int{http.StatusNotFound, http.StatusForbidden}, status)
}

func TestProjectConfig(t *testing.T) {
	p := startPortal(t)
	p.login(t, "admin", adminPassword)
	id := p.createProject(t, "cfg", false)
	base := fmt.Sprintf("/projects/%d/config", id)
	html := p.page(t, base)
	assert.Contains(t, html, `id="cf-al-system" name="allowlist" value="system"`)
	assert.Contains(t, text(html), "Prevent vulnerable images from running")

	body := text(p.submit(t, base, url.Values{"public": {"true"}, "content_trust": {"cosign"}, "prevent_vul": {"true"},
		"severity": {"high"}, "auto_scan": {"true"}, "auto_sbom": {"true"}, "allowlist": {"project"},
		"cve_ids": {"CVE-2026-0001\nCVE-2026-0002"}, "expires": {"2030-01-02"}}))
	assert.Contains(t, body, "Configuration saved.")
	var got struct {
		Metadata map[string]string `json:"metadata"`
	}
	p.api(t, http.MethodGet, "/projects/cfg", nil, &got)
	for k, v := range map[string]string{"public": "true", "prevent_vul": "true", "severity": "high", "auto_scan": "true",
		"auto_sbom_generation": "true", "reuse_sys_cve_allowlist": "false", "content_trust": "cosign"} {
		assert.Equal(t, v, got.Metadata[k], k)
	}
	var pol struct {
		Mode, Format string
	}
	p.api(t, http.MethodGet, "/projects/cfg/trust/policy", nil, &pol)
	assert.Equal(t, "cosign", pol.Format)
	var al struct {
		ExpiresAt *int64 `json:"expires_at"`
		Items     []struct {
			CVEID string `json:"cve_id"`
		} `json:"items"`
	}
	p.api(t, http.MethodGet, "/projects/cfg/cve-allowlist", nil, &al)
	require.Len(t, al.Items, 2)
	require.NotNil(t, al.ExpiresAt)
	// The page shows what was saved.
	html = p.page(t, base)
	assert.Contains(t, html, "CVE-2026-0001\nCVE-2026-0002</textarea>")
	assert.Contains(t, html, `value="2030-01-02"`)
	assert.Contains(t, html, `value="high" selected`)
	assert.Contains(t, html, `id="cf-trust-cosign" name="content_trust" value="cosign" checked`)

	// Everything off again, back to the system allowlist (the project's
	// own list is kept, unused).
	body = text(p.submit(t, base, url.Values{"content_trust": {""}, "severity": {"critical"}, "allowlist": {"system"}}))
	assert.Contains(t, body, "Configuration saved.")
	p.api(t, http.MethodGet, "/projects/cfg", nil, &got)
	for k, v := range map[string]string{"public": "false", "prevent_vul": "false", "auto_scan": "false",
		"auto_sbom_generation": "false", "reuse_sys_cve_allowlist": "true", "content_trust": ""} {
		assert.Equal(t, v, got.Metadata[k], k)
	}

	// Refusals: a bad CVE id (the API's message), a bad date (ours).
	body = text(p.submit(t, base, url.Values{"allowlist": {"project"}, "cve_ids": {"CVÉ-1"}}))
	assert.Contains(t, body, "want a vulnerability ID")
	body = text(p.submit(t, base, url.Values{"allowlist": {"project"}, "cve_ids": {"CVE-1"}, "expires": {"soon"}}))
	assert.Contains(t, body, "The expiry date must be a date")
	p.api(t, http.MethodGet, "/projects/cfg", nil, &got)
	assert.Equal(t, "true", got.Metadata["reuse_sys_cve_allowlist"])

	// A guest may read the settings but not change them.
	guest := asMember(t, p, "gale", id, 3)
	guest.page(t, base)
	status, loc, _ := guest.post(t, base, url.Values{"public": {"true"}, "allowlist": {"system"}})
	require.Equal(t, http.StatusSeeOther, status)
	assert.NotContains(t, text(guest.page(t, loc)), "Configuration saved.")
	p.api(t, http.MethodGet, "/projects/cfg", nil, &got)
	assert.Equal(t, "false", got.Metadata["public"])
}
