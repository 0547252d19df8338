package browsertest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/portaltest"
)

// An image pushed with crane appears with its tag and size; a batch scan
// from the page gives it a severity bar and the artifact page lists its
// vulnerabilities; signed with cosign, it shows the signature and the
// content trust verdict changes from blocked to allowed.
func TestImagePushScanSign(t *testing.T) {
	site := portaltest.Start(t)
	id := site.CreateProject(t, "shop", false)
	tools := newClients(t, site)
	digest := tools.cranePush("shop/app", "v1")
	var art struct {
		Size int64 `json:"size"`
	}
	site.API(t, http.MethodGet, "/projects/shop/repositories/app/artifacts/"+digest, nil, &art)

	b := newBrowser(t, site.URL)
	b.login("admin", portaltest.AdminPassword)
	b.visit(fmt.Sprintf("/projects/%d/repositories", id))
	assert.Contains(t, b.main(), "shop/app")
	b.axe()
	b.click(`main table a[href*="/repositories/app"]`)
	page := b.main()
	assert.Contains(t, page, "v1")
	assert.Contains(t, page, digest[:19], "the short digest")
	assert.Contains(t, page, sizeText(art.Size), "the size the API reports")
	assert.Contains(t, page, "Not scanned")
	b.axe()

	// Scan from the batch form.
	b.press(`input[name=digest][value="` + digest + `"]`)
	b.click(`button[name=op][value=scan]`)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(b.main(), "1 Critical") && time.Now().Before(deadline) {
		time.Sleep(300 * time.Millisecond)
		b.visit(b.location())
	}
	page = b.main()
	assert.Contains(t, page, "1 Critical")
	assert.Contains(t, page, "1 Medium")
	assert.Equal(t, 1, eval[int](b, `document.querySelectorAll("svg.sevsvg rect.sev-critical").length`), "the bar has a critical segment")
	assert.Equal(t, 1, eval[int](b, `document.querySelectorAll("svg.sevsvg rect.sev-medium").length`), "and a medium one")
	b.shot("artifacts")

	// The artifact page lists the findings.
	b.click(`main table tbody tr td:nth-child(2) a`)
	require.Contains(t, b.main(), digest, "the artifact's page")
	b.visit(b.location() + "&view=vulnerabilities")
	page = b.main()
	assert.Regexp(t, `CVE-2026-0001\s+Critical\s+openssl\s+3\.0\.1\s+3\.0\.9`, page)
	assert.Contains(t, page, "CVE-2026-0002")
	b.axe()
	b.shot("vulnerabilities")

	// Content trust: a policy trusting one cosign key blocks the
	// unsigned image, and allows it once cosign signed it.
	key, pub := tools.cosignKeys()
	site.API(t, http.MethodPost, "/projects/shop/trust/keys", map[string]string{"name": "ci", "pem": string(pub)}, nil)
	site.API(t, http.MethodPut, "/projects/shop/trust/policy", map[string]string{"mode": "any"}, nil)
	b.visit(fmt.Sprintf("/projects/%d/repositories/app", id))
	page = b.main()
	assert.Contains(t, page, "Unsigned")
	assert.Contains(t, page, "Pull blocked")
	tools.cosignSign(key, "shop/app", digest)
	b.visit(fmt.Sprintf("/projects/%d/repositories/app?q=v1", id))
	row := b.text(`main table tbody tr`)
	require.Contains(t, row, "Signed")
	assert.Contains(t, row, "ci", "the signer's key name")
	assert.Contains(t, row, "Pull allowed")
	assert.NotContains(t, row, "Pull blocked")
}

// sizeText is a size as the portal shows it: bytes below 1 KiB, else
// KiB or MiB with two decimals.
func sizeText(n int64) string {
	switch {
	case n < 1024:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.2f KiB", float64(n)/1024)
	}
	return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
}
