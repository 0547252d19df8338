package ui_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pushIndex pushes an index of random images for platforms (os/arch or
// os/arch/variant) as repo:tag.
func (p *portal) pushIndex(t *testing.T, repo, tag string, platforms ...v1.Platform) {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, pl := range platforms {
		img, err := random.Image(64, 1)
		require.NoError(t, err)
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &pl}})
	}
	ref, err := name.ParseReference(p.Host+"/"+repo+":"+tag, name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.WriteIndex(ref, mutate.AppendManifests(empty.Index, adds...),
		remote.WithAuth(&authn.Basic{Username: "admin", Password: adminPassword}), remote.WithContext(t.Context())))
}

func TestArtifactsIndexTrustAndRoles(t *testing.T) {
	p := startPortal(t)
	p.login(t, "admin", adminPassword)
	id := p.createProject(t, "proj", false)
	p.pushIndex(t, "proj/multi", "v1", v1.Platform{OS: "linux", Architecture: "amd64"},
		v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"})
	d := p.pushImage(t, "proj/multi", "single", 128)
	page := fmt.Sprintf("/projects/%d/repositories/multi", id)

	body := text(p.page(t, page+"?q=v1"))
	assert.Contains(t, body, "v1 Image index linux/amd64, linux/arm64/v8")

	// A trust policy that wants a signature: the verdict and its reason.
	p.api(t, http.MethodPut, "/projects/proj/trust/policy", map[string]any{"mode": "any"}, nil)
	body = text(p.page(t, page+"?q=single"))
	assert.Regexp(t, `single Image .* Unsigned Pull blocked ?: proj/multi@sha256:[0-9a-f]+ is not signed by a trusted signer`, body)

	// A developer may scan but not delete: the refusal is shown per item.
	p.api(t, http.MethodPost, "/users", map[string]any{"username": "dev", "email": "dev@example.com",
		"realname": "Dev", "password": "Dev-Passw0rd"}, nil)
	p.api(t, http.MethodPost, "/projects/proj/members", map[string]any{"role_id": 2,
		"member_user": map[string]string{"username": "dev"}}, nil)
	dev := &portal{URL: p.URL, Host: p.Host, client: newClient(t)}
	dev.login(t, "dev", "Dev-Passw0rd")
	body = text(dev.submit(t, page, url.Values{"op": {"delete"}, "digest": {d}}))
	assert.Regexp(t, `0 of 1 done. Failed: sha256:[0-9a-f]{12}: .*(denied|permission|forbidden)`, body)
	p.api(t, http.MethodGet, "/projects/proj/repositories/multi/artifacts/"+d, nil, nil)
	body = text(dev.submit(t, page, url.Values{"op": {"scan"}, "digest": {d}}))
	assert.Contains(t, body, "developer cannot create scan")
	status, _, _ := dev.post(t, page, url.Values{"op": {"delete-repository"}})
	assert.Equal(t, http.StatusSeeOther, status)
	assert.Contains(t, text(dev.page(t, fmt.Sprintf("/projects/%d/repositories", id))), "denied")
}

// A repository of 5,000 tags lists a page of them fast: the API pages
// them in SQL. Creating the tags takes about a minute, so the test runs
// only when BERTH_UI_SLOW is set (registry's TestFindTagsMany covers the
// query on every run).
func TestArtifactsManyTags(t *testing.T) {
	if os.Getenv("BERTH_UI_SLOW") == "" {
		t.Skip("creates 5,000 tags: set BERTH_UI_SLOW=1 to run")
	}
	p := startPortal(t)
	p.login(t, "admin", adminPassword)
	id := p.createProject(t, "proj", false)
	d := p.pushImage(t, "proj/big", "t0000", 64)
	// Through the browser's session: Basic auth would hash the password
	// on each of the 5,000 calls.
	p.page(t, "/projects")
	for i := 1; i < 5000; i++ {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost,
			p.URL+"/api/v2.0/projects/proj/repositories/big/artifacts/"+d+"/tags",
			strings.NewReader(fmt.Sprintf(`{"name":"t%04d"}`, i)))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Harbor-Csrf-Token", p.csrf)
		resp, err := p.client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusCreated, resp.StatusCode)
	}
	page := fmt.Sprintf("/projects/%d/repositories/big?view=tags&page_size=100&page=37&sort=-push_time", id)
	// How fast is measured by ui/browsertest's BenchmarkPortalAtScale.
	body := text(p.page(t, page))
	assert.Contains(t, body, "3601 - 3700 of 5000 items")
	body = text(p.page(t, fmt.Sprintf("/projects/%d/repositories/big?view=tags&q=t49", id)))
	assert.Contains(t, body, "1 - 15 of 100 items")
}
