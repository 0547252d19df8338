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

// apiArtifact is what the tests read back through the API.
type apiArtifact struct {
	Digest       string
	Size         int64
	ScanOverview map[string]struct {
		ScanStatus string `json:"scan_status"`
	} `json:"scan_overview"`
	Labels []struct{ Name string }
}

func TestArtifactsList(t *testing.T) {
	p := startPortal(t)
	p.login(t, "admin", adminPassword)
	id := p.createProject(t, "proj", false)
	p.createProject(t, "other", false)
	d1 := p.pushImage(t, "proj/team/app", "v1", 1024)
	d2 := p.pushImage(t, "proj/team/app", "v2", 2048)
	const api = "/projects/proj/repositories/team%252Fapp/artifacts"
	page := fmt.Sprintf("/projects/%d/repositories/team/app", id)

	var a1 apiArtifact
	p.api(t, http.MethodGet, api+"/"+d1, nil, &a1)
	html := p.page(t, page)
	body := text(html)
	assert.Contains(t, body, "proj/team/app")
	assert.Regexp(t, `sha256:[0-9a-f]{12} v2 Image .*sha256:[0-9a-f]{12} v1 Image`, body, "newest first, with tags and type")
	assert.Contains(t, body, sizeText(a1.Size))
	assert.Contains(t, body, "Not scanned")
	assert.Contains(t, body, "Unsigned")
	assert.Contains(t, body, "Pull allowed")
	assert.Contains(t, body, "docker pull "+p.Host+"/proj/team/app@"+d1)
	assert.Contains(t, html, `data-copy="pull-0"`)
	assert.Contains(t, html, fmt.Sprintf(`href="/projects/%d/artifact?repo=proj%%2Fteam%%2Fapp&amp;digest=sha256%%3A`, id))
	assert.Contains(t, body, "1 - 2 of 2 items")
	// Sorted by the API: oldest first.
	assert.Regexp(t, `v1 Image .* v2 Image`, text(p.page(t, page+"?sort=push_time")))
	// Filtered by the API: tags containing "2".
	body = text(p.page(t, page+"?q=2"))
	assert.Contains(t, body, "1 - 1 of 1 items")
	assert.NotContains(t, body, " v1 ")

	// Batch scan: the counts and the severity bar.
	body = text(p.submit(t, page, url.Values{"op": {"scan"}, "digest": {d1}}))
	assert.Contains(t, body, "Scan started.")
	require.Eventually(t, func() bool {
		var a apiArtifact
		p.api(t, http.MethodGet, api+"/"+d1+"?with_scan_overview=true", nil, &a)
		for _, o := range a.ScanOverview {
			return o.ScanStatus == "Success"
		}
		return false
	}, 10*time.Second, 50*time.Millisecond)
	html = p.page(t, page)
	body = text(html)
	assert.Contains(t, body, "1 Critical, 1 Medium")
	assert.Contains(t, body, "2 total, 1 fixable")
	assert.Contains(t, body, "Not scanned", "v2 was not checked")
	assert.Regexp(t, `<svg class="sevsvg"[^>]*><rect x="0" y="0" width="60" height="12" class="sev-critical"></rect><rect x="60" y="0" width="60" height="12" class="sev-medium"></rect></svg>`, html)
	assert.NotContains(t, html, "style=")

	// Add a label to both.
	var lbl struct{ ID int64 }
	resp := p.api(t, http.MethodPost, "/labels", map[string]any{"name": "prod", "scope": "g"}, nil)
	p.api(t, http.MethodGet, resp.Header.Get("Location")[len("/api/v2.0"):], nil, &lbl)
	assert.Contains(t, p.page(t, page), `<option value="`+fmt.Sprint(lbl.ID)+`">prod (global)</option>`)
	body = text(p.submit(t, page, url.Values{"op": {"label"}, "label_id": {fmt.Sprint(lbl.ID)}, "digest": {d1, d2}}))
	assert.Contains(t, body, "Label added.")
	assert.Regexp(t, `prod .*prod`, body)
	var labeled apiArtifact
	p.api(t, http.MethodGet, api+"/"+d2+"?with_label=true", nil, &labeled)
	require.Len(t, labeled.Labels, 1)
	assert.Equal(t, "prod", labeled.Labels[0].Name)
	// Again: the API refuses (already on it), and the page says which.
	body = text(p.submit(t, page, url.Values{"op": {"label"}, "label_id": {fmt.Sprint(lbl.ID)}, "digest": {d1}}))
	assert.Contains(t, body, "0 of 1 done. Failed: "+d1[:19])
	body = text(p.submit(t, page, url.Values{"op": {"label"}, "digest": {d1}}))
	assert.Contains(t, body, "Choose a label to add.")

	// Copy into another project, with a tag; retag in place.
	body = text(p.submit(t, page, url.Values{"op": {"copy"}, "digest": {d1}, "target_project": {"other"},
		"target_repo": {"mirror/app"}, "target_tag": {"copied"}}))
	assert.Contains(t, body, "Copied.")
	var copied apiArtifact
	p.api(t, http.MethodGet, "/projects/other/repositories/mirror%252Fapp/artifacts/copied", nil, &copied)
	assert.Equal(t, d1, copied.Digest)
	body = text(p.submit(t, page, url.Values{"op": {"copy"}, "digest": {d1}, "target_project": {"proj"},
		"target_repo": {"team/app"}, "target_tag": {"stable"}}))
	assert.Contains(t, body, "Copied.")
	assert.Regexp(t, `stable, v1`, body)
	body = text(p.submit(t, page, url.Values{"op": {"copy"}, "digest": {d1, d2}, "target_project": {"other"},
		"target_repo": {"x"}, "target_tag": {"t"}}))
	assert.Contains(t, body, "A tag can be given to one artifact only")
	body = text(p.submit(t, page, url.Values{"op": {"copy"}, "digest": {d2}, "target_project": {"nope"}, "target_repo": {"x"}}))
	assert.Contains(t, body, "0 of 1 done. Failed:")

	// Delete: one real, one unknown; the failure is named.
	bogus := "sha256:" + fmt.Sprintf("%064d", 7)
	body = text(p.submit(t, page, url.Values{"op": {"delete"}, "digest": {d2, bogus}}))
	assert.Contains(t, body, "1 of 2 done. Failed: sha256:000000000000")
	var left []apiArtifact
	p.api(t, http.MethodGet, api, nil, &left)
	require.Len(t, left, 1)
	assert.Equal(t, d1, left[0].Digest)

	// Nothing checked, an unknown operation, an unknown repository.
	assert.Contains(t, text(p.submit(t, page, url.Values{"op": {"scan"}})), "Check one or more artifacts first.")
	assert.Contains(t, text(p.submit(t, page, url.Values{"op": {"rm -rf"}, "digest": {d1}})), "Unknown operation.")
	status, _ := p.get(t, fmt.Sprintf("/projects/%d/repositories/nope", id))
	assert.Equal(t, http.StatusNotFound, status)

	// Chinese.
	resp2, err := p.client.Get(p.URL + "/language?lang=zh-CN&next=/projects")
	require.NoError(t, err)
	resp2.Body.Close()
	body = text(p.page(t, page))
	assert.Contains(t, body, "1 危急, 1 中等")
	assert.Contains(t, body, "推送时间")
}

// sizeText is a size as the portal shows it (1024-based, like Harbor).
func sizeText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.2f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

func TestArtifactsByTag(t *testing.T) {
	p := startPortal(t)
	p.login(t, "admin", adminPassword)
	id := p.createProject(t, "proj", false)
	d := p.pushImage(t, "proj/team/app", "t01", 256)
	for i := 2; i <= 30; i++ {
		p.api(t, http.MethodPost, "/projects/proj/repositories/team%252Fapp/artifacts/"+d+"/tags",
			map[string]string{"name": fmt.Sprintf("t%02d", i)}, nil)
	}
	page := fmt.Sprintf("/projects/%d/repositories/team/app?view=tags", id)
	body := text(p.page(t, page+"&page_size=15&page=2"))
	assert.Contains(t, body, "16 - 30 of 30 items")
	assert.Contains(t, body, "Page 2 of 2")
	assert.Regexp(t, `t16 sha256:[0-9a-f]{12} .* t30 `, body)
	assert.NotContains(t, body, "t15 ")
	assert.Contains(t, body, "docker pull "+p.Host+"/proj/team/app:t16")

	body = text(p.page(t, page+"&sort=-name"))
	assert.Regexp(t, `t30 .* t29 `, body)
	body = text(p.page(t, page+"&q=t2"))
	assert.Contains(t, body, "1 - 10 of 10 items", "t20..t29")

	// A batch from the tag view comes back to it.
	status, loc, _ := p.post(t, fmt.Sprintf("/projects/%d/repositories/team/app", id),
		url.Values{"op": {"scan"}, "view": {"tags"}, "digest": {d, d}})
	assert.Equal(t, http.StatusSeeOther, status)
	assert.Equal(t, fmt.Sprintf("/projects/%d/repositories/team/app?view=tags", id), loc)
}
