package ui_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type adminScannerReg struct {
	UUID      string `json:"uuid"`
	Name      string `json:"name"`
	URL       string `json:"url"`
	Disabled  bool   `json:"disabled"`
	IsDefault bool   `json:"is_default"`
	Builtin   bool   `json:"builtin"`
}

func scannerNamed(t *testing.T, p *portal, name string) (adminScannerReg, bool) {
	t.Helper()
	var regs []adminScannerReg
	p.api(t, http.MethodGet, "/scanners?page_size=100", nil, &regs)
	for _, r := range regs {
		if r.Name == name {
			return r, true
		}
	}
	return adminScannerReg{}, false
}

func TestScannersPage(t *testing.T) {
	p := startPortal(t)
	p.login(t, "admin", adminPassword)

	read := text(p.page(t, "/admin/scanners"))
	assert.Contains(t, read, "Interrogation Services")
	assert.Regexp(t, `Built in Healthy`, read)
	assert.Contains(t, read, "Default")

	// Add an adapter that does not answer: listed, unhealthy.
	read = text(p.submit(t, "/admin/scanners", url.Values{"name": {"remote-trivy"}, "url": {"http://127.0.0.1:1"},
		"auth": {"Bearer"}, "credential": {"tok"}, "description": {"an adapter"}}))
	assert.Contains(t, read, "Scanner added.")
	assert.Regexp(t, `remote-trivy .*http://127\.0\.0\.1:1 Unhealthy Enabled Bearer`, read)
	ext, ok := scannerNamed(t, p, "remote-trivy")
	require.True(t, ok)
	builtin := func() adminScannerReg {
		var regs []adminScannerReg
		p.api(t, http.MethodGet, "/scanners?page_size=100", nil, &regs)
		for _, r := range regs {
			if r.Builtin {
				return r
			}
		}
		t.Fatal("no built-in scanner")
		return adminScannerReg{}
	}

	// Set default, disable, enable, delete: each through the API.
	assert.Contains(t, text(p.submit(t, "/admin/scanners/"+ext.UUID, url.Values{"action": {"default"}})), "Default scanner changed.")
	ext, _ = scannerNamed(t, p, "remote-trivy")
	assert.True(t, ext.IsDefault)
	p.submit(t, "/admin/scanners/"+builtin().UUID, url.Values{"action": {"default"}})
	assert.Contains(t, text(p.submit(t, "/admin/scanners/"+ext.UUID, url.Values{"action": {"disable"}})), "Disabled")
	ext, _ = scannerNamed(t, p, "remote-trivy")
	assert.True(t, ext.Disabled)
	assert.Equal(t, "http://127.0.0.1:1", ext.URL)
	p.submit(t, "/admin/scanners/"+ext.UUID, url.Values{"action": {"enable"}})
	ext, _ = scannerNamed(t, p, "remote-trivy")
	assert.False(t, ext.Disabled)

	// Server-side filter.
	read = text(p.page(t, "/admin/scanners?q=remote"))
	assert.Contains(t, read, "remote-trivy")
	assert.Contains(t, read, "1 - 1 of 1 items")

	assert.Contains(t, text(p.submit(t, "/admin/scanners/"+ext.UUID, url.Values{"action": {"delete"}})), "Scanner deleted.")
	_, ok = scannerNamed(t, p, "remote-trivy")
	assert.False(t, ok)

	// The API's refusal shows: the default scanner cannot go.
	status, loc, _ := p.post(t, "/admin/scanners/"+builtin().UUID, url.Values{"action": {"delete"}})
	require.Equal(t, http.StatusSeeOther, status)
	assert.Contains(t, p.page(t, loc), `class="alert err"`)
	_, ok = scannerNamed(t, p, builtin().Name)
	assert.True(t, ok)
}

func TestScanAllAndAllowlist(t *testing.T) {
	p := startPortal(t)
	p.login(t, "admin", adminPassword)
	p.createProject(t, "sc", false)
	p.pushImage(t, "sc/app", "v1", 512)

	assert.Contains(t, text(p.page(t, "/admin/scanners")), "No scan of all artifacts has run yet.")
	assert.Contains(t, text(p.submit(t, "/admin/scanners/scan-all", url.Values{"action": {"now"}})), "Scanning all artifacts.")
	var read string
	require.Eventually(t, func() bool {
		read = text(p.page(t, "/admin/scanners"))
		return strings.Contains(read, "Finished")
	}, 10*time.Second, 50*time.Millisecond)
	assert.Regexp(t, `Finished 1 of 1 scans done\.`, read)
	var m struct{ Total, Completed int64 }
	p.api(t, http.MethodGet, "/scans/all/metrics", nil, &m)
	assert.Equal(t, int64(1), m.Completed)

	// Schedule.
	assert.Contains(t, text(p.submit(t, "/admin/scanners/schedule", url.Values{"schedule_type": {"Daily"}})), "Scan schedule saved.")
	var sc struct{ Schedule struct{ Type string } }
	p.api(t, http.MethodGet, "/system/scanAll/schedule", nil, &sc)
	assert.Equal(t, "Daily", sc.Schedule.Type)

	// The system CVE allowlist.
	read = text(p.submit(t, "/admin/scanners/allowlist", url.Values{"ids": {"cve-2026-0001, CVE-2026-0002\nCVE-2026-0001"}, "expires": {"2030-01-02"}}))
	assert.Contains(t, read, "CVE allowlist saved.")
	var al struct {
		ExpiresAt *int64 `json:"expires_at"`
		Items     []struct {
			CVEID string `json:"cve_id"`
		} `json:"items"`
	}
	p.api(t, http.MethodGet, "/system/CVEAllowlist", nil, &al)
	require.Len(t, al.Items, 2)
	assert.Equal(t, "CVE-2026-0001", al.Items[0].CVEID)
	require.NotNil(t, al.ExpiresAt)
	assert.Equal(t, time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC).Unix(), *al.ExpiresAt)
	body := p.page(t, "/admin/scanners")
	assert.Contains(t, body, `value="2030-01-02"`)
	assert.Contains(t, body, "CVE-2026-0002")

	p.submit(t, "/admin/scanners/allowlist", url.Values{"ids": {""}, "never": {"true"}, "expires": {"2030-01-02"}})
	p.api(t, http.MethodGet, "/system/CVEAllowlist", nil, &al)
	assert.Empty(t, al.Items)
	assert.Nil(t, al.ExpiresAt)

	status, loc, _ := p.post(t, "/admin/scanners/allowlist", url.Values{"ids": {"CVE-1"}, "expires": {"soon"}})
	require.Equal(t, http.StatusSeeOther, status)
	assert.Contains(t, text(p.page(t, loc)), "The expiry date is not a date")
}
