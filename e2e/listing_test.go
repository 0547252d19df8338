package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestListingPagination has crane and skopeo list more tags and
// repositories than fit on one default page, so they must follow the
// registry's Link headers.
func TestListingPagination(t *testing.T) {
	t.Parallel()
	crane := requireTool(t, "crane")
	skopeo := requireTool(t, "skopeo")
	b := startBerth(t)
	env := clientEnv(t)
	work := t.TempDir()

	img, err := random.Image(256, 1)
	require.NoError(t, err)
	raw, err := img.RawManifest()
	require.NoError(t, err)
	mt, err := img.MediaType()
	require.NoError(t, err)
	put := func(repo, ref string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPut,
			b.url+"/v2/"+repo+"/manifests/"+ref, bytes.NewReader(raw))
		require.NoError(t, err)
		req.Header.Set("Content-Type", string(mt))
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusCreated, resp.StatusCode, "PUT %s:%s", repo, ref)
	}

	const nTags, nRepos = 250, 105
	var wantTags, wantRepos []string
	first, err := name.NewTag(b.host+"/page/r000:t0000", name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.Write(first, img, remote.WithContext(t.Context())))
	m, err := img.Manifest()
	require.NoError(t, err)
	for i := range nRepos {
		repo := fmt.Sprintf("page/r%03d", i)
		if i > 0 {
			// Mount the blobs from the first repository, then push.
			for _, d := range []string{m.Config.Digest.String(), m.Layers[0].Digest.String()} {
				resp, err := http.Post(b.url+"/v2/"+repo+"/blobs/uploads/?from=page/r000&mount="+d, "", nil)
				require.NoError(t, err)
				resp.Body.Close()
				require.Equal(t, http.StatusCreated, resp.StatusCode, "mount %s into %s", d, repo)
			}
			put(repo, "t0000")
		}
		wantRepos = append(wantRepos, repo)
	}
	for i := range nTags {
		tag := fmt.Sprintf("t%04d", i)
		if i > 0 {
			put("page/r000", tag)
		}
		wantTags = append(wantTags, tag)
	}

	// One default page is not everything: the registry links to the next.
	resp, body := httpGet(t, b.url+"/v2/page/r000/tags/list", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", body)
	assert.Contains(t, resp.Header.Get("Link"), `rel="next"`)

	got := sortedLines(string(run(t, env, work, crane, "ls", "--insecure", b.host+"/page/r000")))
	assert.Equal(t, wantTags, got, "crane ls")
	got = sortedLines(string(run(t, env, work, crane, "catalog", "--insecure", b.host)))
	assert.Equal(t, wantRepos, got, "crane catalog")

	out := run(t, env, work, skopeo, "--insecure-policy", "list-tags", "--tls-verify=false", "docker://"+b.host+"/page/r000")
	var lt struct {
		Repository string
		Tags       []string
	}
	require.NoError(t, json.Unmarshal(out, &lt), "%s", out)
	slices.Sort(lt.Tags)
	assert.Equal(t, b.host+"/page/r000", lt.Repository)
	assert.Equal(t, wantTags, lt.Tags, "skopeo list-tags")
}
