package ui_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// artifactURL is the artifact page of repo@ref in project id.
func artifactURL(id int64, repo, ref string, extra ...string) string {
	q := url.Values{"repo": {repo}, "digest": {ref}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return fmt.Sprintf("/projects/%d/artifact?%s", id, q.Encode())
}

// artifactForm is a form of the artifact page naming repo@digest.
func artifactForm(repo, digest string, kv ...string) url.Values {
	f := url.Values{"repo": {repo}, "digest": {digest}}
	for i := 0; i+1 < len(kv); i += 2 {
		f.Set(kv[i], kv[i+1])
	}
	return f
}

func TestArtifactOverviewTagsLabelsDelete(t *testing.T) {
	p := startPortal(t)
	id := p.createProject(t, "shop", false)
	d := p.pushImage(t, "shop/app", "v1", 256)
	p.login(t, "admin", adminPassword)
	act := fmt.Sprintf("/projects/%d/artifact/", id)
	apiArt := "/projects/shop/repositories/app/artifacts/" + d

	body := text(p.page(t, artifactURL(id, "shop/app", d)))
	assert.Contains(t, body, "docker pull "+p.Host+"/shop/app@"+d)
	assert.Contains(t, body, "IMAGE")
	assert.Contains(t, body, "v1")
	assert.Contains(t, body, "Not scanned")
	// The section tabs keep the artifact in their links.
	assert.Contains(t, p.page(t, artifactURL(id, "shop/app", d)),
		`<a href="?digest=sha256%3A`+strings.TrimPrefix(d, "sha256:")+`&amp;repo=shop%2Fapp&amp;view=history">Build History</a>`)
	// A tag names the artifact too.
	assert.Contains(t, text(p.page(t, artifactURL(id, "shop/app", "v1"))), d)

	// Tags: add, a refused duplicate with the API's message, remove.
	assert.Contains(t, text(p.submit(t, act+"addtag", artifactForm("shop/app", d, "tag", "v2"))), "Tag added.")
	var tags []struct{ Name string }
	p.api(t, http.MethodGet, apiArt+"/tags", nil, &tags)
	assert.ElementsMatch(t, []struct{ Name string }{{"v1"}, {"v2"}}, tags)
	dup := text(p.submit(t, act+"addtag", artifactForm("shop/app", d, "tag", "v1")))
	assert.NotContains(t, dup, "Tag added.")
	assert.Regexp(t, `(?i)exist|conflict`, dup)
	assert.Contains(t, text(p.submit(t, act+"deltag", artifactForm("shop/app", d, "tag", "v2"))), "Tag removed.")
	p.api(t, http.MethodGet, apiArt+"/tags", nil, &tags)
	assert.Equal(t, []struct{ Name string }{{"v1"}}, tags)

	// Labels: a global label is offered, added, shown, removed.
	p.api(t, http.MethodPost, "/labels", map[string]any{"name": "prod", "scope": "g", "color": "#00aa00"}, nil)
	var labels []struct{ ID int64 }
	p.api(t, http.MethodGet, "/labels?scope=g&name=prod", nil, &labels)
	require.Len(t, labels, 1)
	page := p.page(t, artifactURL(id, "shop/app", d))
	assert.Regexp(t, fmt.Sprintf(`<option value="%d">prod</option>`, labels[0].ID), page)
	lid := fmt.Sprint(labels[0].ID)
	assert.Contains(t, text(p.submit(t, act+"addlabel", artifactForm("shop/app", d, "label_id", lid))), "Label added.")
	var withLabels struct{ Labels []struct{ Name string } }
	p.api(t, http.MethodGet, apiArt+"?with_label=true", nil, &withLabels)
	require.Len(t, withLabels.Labels, 1)
	assert.Equal(t, "prod", withLabels.Labels[0].Name)
	assert.Contains(t, text(p.submit(t, act+"dellabel", artifactForm("shop/app", d, "label_id", lid))), "Label removed.")
	withLabels.Labels = nil
	p.api(t, http.MethodGet, apiArt+"?with_label=true", nil, &withLabels)
	assert.Empty(t, withLabels.Labels)

	// Build history: the image's config history.
	assert.Contains(t, text(p.page(t, artifactURL(id, "shop/app", d, "view", "history"))), "this is a random history 1 of 2")

	// A repository name with slashes in it.
	nested := p.pushImage(t, "shop/team/api", "1.0", 64)
	assert.Contains(t, text(p.page(t, artifactURL(id, "shop/team/api", "1.0"))), "docker pull "+p.Host+"/shop/team/api@"+nested)

	// Unknown digest, a repository of another project, a bad project: 404.
	status, _ := p.get(t, artifactURL(id, "shop/app", "sha256:"+strings.Repeat("0", 64)))
	assert.Equal(t, http.StatusNotFound, status)
	status, _ = p.get(t, artifactURL(id, "library/app", d))
	assert.Equal(t, http.StatusNotFound, status)
	status, _ = p.get(t, artifactURL(999999, "shop/app", d))
	assert.Equal(t, http.StatusNotFound, status)

	// A user who may not see the project gets what the API says.
	p.api(t, http.MethodPost, "/users", map[string]string{"username": "eve", "email": "eve@example.com",
		"realname": "Eve", "password": "Eve-Password-1"}, nil)
	eve := startBrowser(p)
	eve.login(t, "eve", "Eve-Password-1")
	status, _ = eve.get(t, artifactURL(id, "shop/app", d))
	assert.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, status)

	// Delete: the artifact is gone, the browser goes to the repositories.
	status, loc, _ := p.post(t, act+"delete", artifactForm("shop/app", d))
	require.Equal(t, http.StatusSeeOther, status)
	assert.Equal(t, fmt.Sprintf("/projects/%d/repositories", id), loc)
	status, _ = p.get(t, artifactURL(id, "shop/app", d))
	assert.Equal(t, http.StatusNotFound, status)
}

// startBrowser is a second browser (its own cookies) on p's server.
func startBrowser(p *portal) *portal {
	other := *p
	jar := *p.client
	jar.Jar = newJar()
	other.client, other.csrf = &jar, ""
	return &other
}

func TestArtifactVulnerabilities(t *testing.T) {
	p := startPortal(t)
	id := p.createProject(t, "shop", false)
	d := p.pushImage(t, "shop/app", "v1", 128)
	p.login(t, "admin", adminPassword)
	p.api(t, http.MethodPut, "/projects/shop/cve-allowlist", map[string]any{"items": []map[string]string{{"cve_id": "CVE-2026-0002"}}}, nil)

	// Scanning from the page starts a scan and shows its section.
	status, loc, _ := p.post(t, fmt.Sprintf("/projects/%d/artifact/scan", id), artifactForm("shop/app", d))
	require.Equal(t, http.StatusSeeOther, status)
	assert.Contains(t, loc, "view=vulnerabilities")
	assert.Contains(t, text(p.page(t, loc)), "Scan started.")
	require.Eventually(t, func() bool {
		var rep map[string]struct{ Vulnerabilities []any }
		p.api(t, http.MethodGet, "/projects/shop/repositories/app/artifacts/"+d+"/additions/vulnerabilities", nil, &rep)
		for _, r := range rep {
			return len(r.Vulnerabilities) == 2
		}
		return false
	}, 10*time.Second, 50*time.Millisecond)

	page := p.page(t, artifactURL(id, "shop/app", d, "view", "vulnerabilities"))
	body := text(page)
	assert.Regexp(t, `CVE-2026-0001 Critical openssl 3\.0\.1 3\.0\.9 .*CVE-2026-0002 .*Medium zlib 1\.2\.11 —`, body)
	assert.Contains(t, body, "2 total, 1 fixable")
	assert.Contains(t, page, `href="https://nvd.nist.gov/vuln/detail/CVE-2026-0001"`)
	assert.Regexp(t, `CVE-2026-0002 In the (project|system) allowlist`, body)
	assert.NotRegexp(t, `CVE-2026-0001 In the`, body)
	assert.Regexp(t, `<svg class="artd-sevbar"[^>]*><rect class="sev-critical" x="0.00" y="0" width="50.00"`, page)
	assert.Contains(t, body, "Critical: 1")

	// The filters.
	body = text(p.page(t, artifactURL(id, "shop/app", d, "view", "vulnerabilities", "severity", "Critical")))
	assert.Contains(t, body, "CVE-2026-0001")
	assert.NotContains(t, body, "CVE-2026-0002")
	body = text(p.page(t, artifactURL(id, "shop/app", d, "view", "vulnerabilities", "fixable", "true")))
	assert.Contains(t, body, "openssl")
	assert.NotContains(t, body, "zlib")
	body = text(p.page(t, artifactURL(id, "shop/app", d, "view", "vulnerabilities", "package", "zli")))
	assert.Contains(t, body, "CVE-2026-0002")
	assert.NotContains(t, body, "CVE-2026-0001")
	body = text(p.page(t, artifactURL(id, "shop/app", d, "view", "vulnerabilities", "severity", "High")))
	assert.Contains(t, body, "No vulnerabilities match.")
	// Least severe first.
	body = text(p.page(t, artifactURL(id, "shop/app", d, "view", "vulnerabilities", "sort", "-severity")))
	assert.Regexp(t, `CVE-2026-0002.*CVE-2026-0001`, body)

	// The overview sums the scan up.
	assert.Contains(t, text(p.page(t, artifactURL(id, "shop/app", d))), "most severe: Critical")
	// Chinese.
	resp, err := p.client.Get(p.URL + "/language?lang=zh-CN&next=/projects")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Contains(t, text(p.page(t, artifactURL(id, "shop/app", d, "view", "vulnerabilities"))), "危急")
}

var shortDigestRE = regexp.MustCompile(`^sha256:[0-9a-f]{12}`)

func short(d string) string { return shortDigestRE.FindString(d) }
